"""Runners of the extraction stages and of sweeps: one process (local) or a Ray cluster.

``local`` runs :func:`vadkit.extract.engine.extract` as it is; ``ray_engine`` spreads the same
public stages over a Ray cluster; ``sweep`` runs seeds times a grid of training overrides.
Ray is optional (``pip install "vadkit[distributed]"``); only the Ray paths import it.
"""

ENGINES = ("local", "ray")
