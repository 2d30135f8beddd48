"""Below every stage: errors, atomic files, devices and small helpers that every stage shares."""
