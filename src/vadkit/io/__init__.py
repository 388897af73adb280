"""vadkit.io."""
