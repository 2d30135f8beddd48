"""Sweeps: grids of runs, each trained by a child `python -m bench run` (grid.py plans the runs
and their configs, lr_search.py picks each cell's learning rate, execute.py runs the children and keeps
sweep.json)."""
