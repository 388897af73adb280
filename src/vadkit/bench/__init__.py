"""Benchmark protocols run end to end from a dataset folder (layer of viz/report)."""
