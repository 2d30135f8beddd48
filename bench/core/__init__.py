"""Stage 0, below everything: errors, atomic files, devices and small helpers that every stage shares."""
