"""initbench's lm-eval tasks (YAML + loaders), shipped with the package so installed copies find them."""
