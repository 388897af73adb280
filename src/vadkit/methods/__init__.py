"""Anomaly detection methods, one folder each, found through :mod:`vadkit.methods.registry`.

Importing this package imports no method (and no torch).
"""

from vadkit.methods.registry import get_method, list_methods, method_entry, register_method

__all__ = ["get_method", "list_methods", "method_entry", "register_method"]
