"""One entry point for every kind of trained model: :func:`load_model`."""

from __future__ import annotations

from pathlib import Path

from vadkit.deploy.model import Predictor, load_run_model

__all__ = ["load_model"]


def load_model(path: str | Path) -> Predictor:
    """A :class:`~vadkit.deploy.model.Predictor` from a run directory, a ``checkpoint.pt``, a
    one-class run directory or ``scorer.npz``, or a ``vadkit export`` file (``.onnx`` /
    ``.xml``, scored with no torch import)."""
    path = Path(path)
    if path.is_file() and path.suffix in (".onnx", ".xml"):
        from vadkit.deploy.exported import load_exported

        return load_exported(path)
    return load_run_model(path)
