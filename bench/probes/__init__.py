"""Probes: structural snapshots during training and the token-level probe after it."""
