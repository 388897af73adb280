"""vadkit.extract."""
