"""vadkit.backbones."""
