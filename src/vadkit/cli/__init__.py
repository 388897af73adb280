"""vadkit.cli."""
