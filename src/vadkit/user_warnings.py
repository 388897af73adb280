"""How warnings reach a user: one line each, once, without the library's source line.

The CLI installs this in its process; the benchmarks' worker processes install it too, so a
run with ``--jobs 2`` says the same things as one with ``--jobs 1``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable

__all__ = ["one_line_warnings"]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def one_line_warnings(echo: Callable[[str], None] = _stderr) -> None:
    """Show each distinct warning once as ``vadkit: warning: ...`` through ``echo``.

    Deprecation notices of libraries and the OpenMP runtime's messages say nothing a user of
    vadkit can act on, so they are dropped; vadkit's own warnings (a short video padded, a
    fallback threshold) and other libraries' UserWarnings are kept, said once.
    """
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001
        text = " ".join(str(message).split())
        if text in seen:
            return
        seen.add(text)
        echo(f"vadkit: warning: {text}")

    warnings.showwarning = show
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(?!vadkit)")
    warnings.filterwarnings("ignore", message=r".*(OpenMP|libgomp|libiomp|threadpoolctl).*")
    os.environ.setdefault("KMP_WARNINGS", "0")  # Intel OpenMP's banner on stderr
