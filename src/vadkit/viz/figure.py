"""Figures without pyplot: a ``matplotlib.figure.Figure`` on the Agg canvas, saved atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write

__all__ = ["FORMATS", "new_figure", "save_figure"]

FORMATS = ("png", "svg")


def new_figure(width: float = 7.0, height: float = 3.0, dpi: int = 100) -> Any:
    """A constrained-layout Figure (no pyplot state: safe in threads and servers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def save_figure(fig: Any, path: str | Path, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix of ``formats`` (``png``, ``svg``).

    ``path`` may carry a suffix or not; each file is written atomically. Returns the paths.
    """
    from matplotlib import rc_context

    if isinstance(formats, str):
        formats = (formats,)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise VadkitError(f"figure format {bad[0] if bad else ''!r}: choose {' or '.join(FORMATS)}")
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lstrip(".") in FORMATS else path
    out = []
    for fmt in dict.fromkeys(formats):
        dest = stem.with_name(f"{stem.name}.{fmt}")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VadkitError(
                f"cannot create figure folder {dest.parent}: {exc.strerror}"
            ) from None
        # svg.hashsalt keeps SVG ids stable, so the same figure gives the same bytes
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        with rc_context({"svg.hashsalt": "vadkit"}):
            atomic_write(
                dest, lambda fh, fmt=fmt, meta=meta: fig.savefig(fh, format=fmt, metadata=meta)
            )
        out.append(dest)
    return out
