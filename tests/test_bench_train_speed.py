"""``benchmarks/train_speed.py --quick`` still runs (keeps the script from rotting)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
    assert "float32 matmul" in lines[0] and "GFLOP/s" in lines[0]
    head = lines[1].split(" | ")
    assert head[:3] == ["method", "batch x C x S x D", "s/step"] and "of mm" in head
    row = dict(zip(head, lines[2].split(" | "), strict=True))
    assert row["method"] == "mil" and row["batch x C x S x D"] == "4+4x1x32x64"  # QUICK, D=64
    # the MIL network at QUICK widths: Linear 64 -> 16 -> 8 -> 1 on 8 bags x 32 snippets,
    # 2 FLOPs a multiply-add; forward (256 rows), backward twice that less fc1's input grad
    fwd = 2 * 256 * (64 * 16 + 16 * 8 + 8)
    assert float(row["GFLOP"]) * 1e9 == pytest.approx(3 * fwd - 2 * 256 * 64 * 16, rel=1e-3)
    assert float(row["s/step"]) > 0 and float(row["snip/s"]) > 0 and row["of mm"].endswith("%")
    assert lines[3] == "mil reference | not run: no --mil-reference-dir given"  # never dropped
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
    said = out.stdout.strip().splitlines()[-1]
    assert said.startswith("rtfm reference | not run: --quick uses small shapes")
