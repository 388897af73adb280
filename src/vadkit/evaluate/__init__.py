"""vadkit.evaluate."""
