"""Stage 4, training: the shared core (trainer, schedule, checkpoints, callbacks) and what measures it."""
