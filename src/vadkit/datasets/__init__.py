"""vadkit.datasets."""
