"""``benchmarks/train_speed.py --quick`` still runs (keeps the script from rotting)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"


def test_quick_run_prints_one_row_and_cleans_up(tmp_path):
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--methods", "mil", "--steps", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"TMPDIR": str(tmp_path), "PATH": "", "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[1].startswith("method | batch x C x S x D | cache s/step")
    row = lines[2].split(" | ")
    assert row[0] == "mil" and row[1] == "4+4x1x32x64"  # QUICK: 4 videos per class, D=64
    assert len(row) == len(lines[1].split(" | "))
    assert float(row[2]) > 0 and float(row[5]) > 0 and float(row[-1]) > 0
    assert row[8].endswith("x") and row[9].endswith("x")  # the two ratios
    assert list(tmp_path.glob("vadkit-train-speed-*")) == []  # the temporary store was removed


def test_unknown_method_is_a_usage_error():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--methods", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "'nope' is not one of" in out.stderr


def test_quick_with_a_reference_dir_says_why_the_reference_row_is_missing(tmp_path):
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--methods", "rtfm", "--steps", "1",
         "--reference-dir", str(tmp_path / "RTFM")],
        capture_output=True, text=True, timeout=300,
        env={"TMPDIR": str(tmp_path), "PATH": "", "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("rtfm reference | - | not run: --quick uses small shapes")
