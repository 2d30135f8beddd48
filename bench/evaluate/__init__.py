"""Stage 5, evaluation: the lm-eval adapter and the suite runner over the tasks in `tasks/`."""
