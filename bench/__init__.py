"""initbench: a benchmark suite for language-model initialization schemes."""

__version__ = "0.1.0"
