"""Probes (DESIGN §7): what a trained model does on which tokens (`tokens`), how its weights and
attention evolve during training (`structure`)."""
