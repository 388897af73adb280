"""`vadkit demo`: a synthetic scene, features, a one-class and a weak detector, one report."""

from vadkit.demo.run import DemoConfig, run_demo

__all__ = ["DemoConfig", "run_demo"]
