"""Evaluation (docs/evaluation.md): the lm-eval model over our checkpoints (`adapter`), suites over
the tasks in `tasks/` (`suite`; what the YAMLs declare: `catalog`; how many documents: `protocol`), the
record's shape of their scores (`results`) and the per-document outputs (`documents`), lm-eval's own
command line with the model registered (`lm_eval_cli`) and the adapter's speed benchmark (`benchmark`)."""
