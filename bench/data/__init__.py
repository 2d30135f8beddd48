"""Data: registry sources, evaluation sets, synthetic generators, tokenizers, the token cache and
the corpora that training reads."""
