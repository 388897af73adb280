"""vadkit.protocols: evaluation protocols that chain extraction, a method and its report."""

__all__: list[str] = []
