"""vadkit: video anomaly detection toolkit."""

from vadkit.errors import VadkitError

__version__ = "0.1.0"

__all__ = ["VadkitError", "__version__"]
