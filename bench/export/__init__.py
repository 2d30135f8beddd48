"""Finished runs as stock transformers checkpoints (docs/export.md)."""
