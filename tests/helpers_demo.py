"""The README quick start's one-at-a-time steps, and the size the demo tests run them at."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

# `vadkit synth` counts of the demo tests (the README's are larger); tests/test_report_browser.py
# runs `vadkit demo`'s pipeline at the same size on the same data
DEMO_SIZE = {"--train": 8, "--abnormal-train": 6, "--test": 4, "--frames": 40}


def readme_steps() -> list[list[str]]:
    """argv of the first mention of each of synth, extract, train, evaluate and report in the
    README's quick start (later mentions are variants)."""
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    wanted = ("synth", "extract", "train", "evaluate", "report")
    first: dict[str, list[str]] = {}
    for c in re.findall(r"`(vadkit [^`]+)`", section):
        a = shlex.split(c)[1:]
        if a and a[0] in wanted and len(a) > 1:
            first.setdefault(a[0], a)
    return list(first.values())


def readme_synth_extract() -> list[list[str]]:
    """The README's synth step (counts replaced by ``DEMO_SIZE``) and its extract step."""
    steps = {s[0]: s for s in readme_steps()}
    synth = steps["synth"]
    synth = [str(DEMO_SIZE[synth[i - 1]]) if i and synth[i - 1] in DEMO_SIZE else a
             for i, a in enumerate(synth)]  # fmt: skip
    return [synth, steps["extract"]]
