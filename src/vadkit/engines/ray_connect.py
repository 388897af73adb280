"""Importing and starting Ray: one place for the missing-extra error and ``ray.init``."""

from __future__ import annotations

from typing import Any

from vadkit.errors import VadkitError

INSTALL_HINT = 'pip install "vadkit[distributed]"'


def import_ray() -> Any:
    """The ``ray`` module, or a one-line VadkitError naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise VadkitError(
            f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


def connect(address: str | None = None) -> tuple[Any, bool]:
    """Ray, connected to ``address`` (``auto``, ``ray://host:10001``, ``host:6379``) or to a new
    local cluster when ``None``. Returns ``(ray, started)``: ``started`` when this call connected,
    so the caller shuts down only what it started (a test's or user's session is left alone)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VadkitError(
            f"cannot connect to the Ray cluster at {address or 'local'}: {first}"
        ) from None
    return ray, True
