"""Stage 7, sweeps: grids of runs, each trained by a child `python -m bench run`."""
