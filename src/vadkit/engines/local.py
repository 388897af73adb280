"""The local engine: today's one-process extraction, unchanged."""

from __future__ import annotations

from vadkit.extract.engine import ExtractResult
from vadkit.extract.engine import extract as run_local

__all__ = ["ExtractResult", "run_local"]
