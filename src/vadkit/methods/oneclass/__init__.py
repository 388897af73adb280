"""One-class scorers fitted on normal videos only: ``knn``, ``patch_knn``, ``motion``.

See ``docs/methods.md`` (one-class scorers) and ``docs/benchmarks.md`` (the UCSD protocol).
"""

from vadkit.methods.oneclass.registry import ONECLASS_SCORERS, build_scorer, get_scorer_class

__all__ = ["ONECLASS_SCORERS", "build_scorer", "get_scorer_class"]
