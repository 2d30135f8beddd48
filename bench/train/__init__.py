"""Training: the shared core (trainer, schedule, checkpoints, callbacks) and what measures it."""
