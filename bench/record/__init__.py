"""The run record: the one schema that the run stage writes and every later stage reads."""
