"""Training-time hooks as callbacks the trainer calls (the style of OLMo-core's `train/callbacks/`): the
shared core's own (checkpoints, metrics, validation loss, loss spikes) live here; later stages subclass
`base.Callback` for theirs (the structure probe, periodic downstream scoring) and the run stage hands
them to the trainer, so training imports neither."""
