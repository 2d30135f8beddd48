"""One run end to end: plan, train, evaluate, probe, write the record and its figures."""
