"""``vadkit benchmark ucsd`` end to end on a generated UCSD-layout dataset (and Ped2 when slow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers_ucsd import write_ucsd_layout

from vadkit.bench.ucsd_layout import find_ucsd_layout
from vadkit.bench.ucsd_report import update_docs_block
from vadkit.cli.main import main
from vadkit.errors import VadkitError


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return write_ucsd_layout(tmp_path_factory.mktemp("ucsd") / "mini")


def test_layout_counts_ground_truth_entries_without_frames(mini):
    lay = find_ucsd_layout(mini)
    assert list(lay.test) == ["01", "02", "03"] and len(lay.train) == 3
    assert lay.gt_without_frames == [4]  # the .m file lists 4 videos, 3 were "copied"
    # UCSDmini.m: odd entries [9:20] (1-based) -> frames 8..19 of 24; even [13:24] -> 12..23
    want = np.zeros(24, np.int8)
    want[8:20] = 1
    np.testing.assert_array_equal(lay.labels["01"], want)
    assert lay.labels["02"][12:].all() and not lay.labels["02"][:12].any()
    assert lay.mask_ids == ["01"] and lay.masks("01").shape == (24, 48, 64)


def test_layout_errors_name_the_folder(tmp_path):
    with pytest.raises(VadkitError, match="does not exist"):
        find_ucsd_layout(tmp_path / "nope")
    (tmp_path / "training" / "frames").mkdir(parents=True)
    with pytest.raises(VadkitError, match="training/frames/NN"):
        find_ucsd_layout(tmp_path)


def test_cli_end_to_end_and_rerun_replaces_only_the_block(mini, tmp_path):
    out, docs = tmp_path / "run", tmp_path / "bench.md"
    docs.write_text("# Benchmarks\n\nkept text\n")
    args = ["benchmark", "ucsd", "--data", str(mini), "--out", str(out), "--docs", str(docs)]
    args += ["--grid", "4x4", "--no-appearance", "--no-store-rows"]
    assert main(args) == 0
    doc = json.loads((out / "results.json").read_text())
    rows = {r["name"]: r for r in doc["rows"]}
    assert doc["headline"] == "object_speed" and doc["gt_without_frames"] == [4]
    assert rows["object_speed"]["micro_auc"] >= 0.9 and rows["motion"]["micro_auc"] >= 0.9
    assert rows["object_speed"]["pixel"]["videos"] == 1
    assert set(rows) >= {"fastest-cell speed", "motion (no smoothing)", "motion", "object_speed"}
    sel = doc["selection"]
    assert sum(c["selected"] for c in sel["candidates"]) == 1
    chosen = next(c for c in sel["candidates"] if c["selected"])
    assert chosen["within_one_se"] and rows["object_speed"]["sigma"] == chosen["sigma"]
    from vadkit.methods.oneclass.base import load_scorer

    model = load_scorer(out / "object_speed.npz")  # the fitted headline scorer, calibrated
    assert model.name == "object_speed" and model.false_alarm_rate_ == 0.05
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "curve_01.png",
        "curve_02.png",
        "curve_03.png",
    ]
    assert set(np.load(out / "scores.npz").files) == {"01", "02", "03"}
    first = docs.read_text()
    assert "kept text" in first and first.count("benchmark:ucsd:mini begin") == 1
    assert "| motion | learned |" in first
    assert main(args) == 0  # rerun from the cache: the block is replaced, not appended

    def without_timings(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if not ln.startswith("Timings")]

    second = docs.read_text()
    assert second.count("benchmark:ucsd:mini begin") == 1
    assert without_timings(second) == without_timings(first)


def test_fusion_of_motion_and_appearance_on_the_generated_layout(mini, tmp_path):
    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark

    cfg = UCSDBenchConfig(
        grid=(4, 4), short_side=64, appearance=True, store_backbones=("no_such_backbone",)
    )
    doc = run_ucsd_benchmark(mini, tmp_path, cfg, log=lambda m: None)
    rows = {r["name"]: r for r in doc["rows"]}
    assert doc["headline"] == "fusion" and doc["skipped_backbones"] == ["no_such_backbone"]
    assert rows["appearance"]["pixel"]["videos"] == 1
    assert rows["fusion"]["micro_auc"] >= 0.9 and "appearance (no smoothing)" in rows
    assert "appearance (every patch)" in rows
    sel = doc["fusion_selection"]
    chosen = [c for c in sel["candidates"] if c["selected"]]
    assert len(chosen) == 1 and chosen[0]["weight"] == sel["selected"]["weight"]
    assert set(chosen[0]["kind_auc"]) == {"fast", "foreign object"}
    assert chosen[0]["val_auc"] == max(c["val_auc"] for c in sel["candidates"])
    w = chosen[0]["weight"]
    assert rows["fusion"]["note"].startswith(f"{1 - w:.1f} x object_speed + {w:.1f} x appearance")
    assert rows["fusion"]["sigma"] == chosen[0]["sigma"]
    # the threshold is calibrated on held-out normal frames: at most ~5% of them above it
    assert all(r["heldout_far"] <= 0.05 + 1e-9 for r in doc["rows"])


def test_selection_reads_no_test_label(mini, tmp_path):
    # the same data with the test ground truth flipped: the choice and its validation AUCs
    # must not change (only the test AUCs reported after it may)
    import shutil

    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark

    flipped = tmp_path / "flipped"
    shutil.copytree(mini, flipped)
    gt = flipped / "UCSDmini.m"
    gt.write_text(gt.read_text().replace("[9:20]", "[1:8]").replace("[13:24]", "[1:12]"))
    cfg = UCSDBenchConfig(grid=(4, 4), workers=1, short_side=64)
    docs = [
        run_ucsd_benchmark(d, tmp_path / d.name, cfg, log=lambda m: None) for d in (mini, flipped)
    ]
    a, b = (d["selection"] for d in docs)
    assert a["selected"] == b["selected"]
    assert [c["val_auc"] for c in a["candidates"]] == [c["val_auc"] for c in b["candidates"]]
    assert [c["test_micro_auc"] for c in a["candidates"]] != [
        c["test_micro_auc"] for c in b["candidates"]
    ]
    fa, fb = (d["fusion_selection"] for d in docs)  # the fusion choice too
    assert fa["selected"] == fb["selected"]
    assert [c["kind_auc"] for c in fa["candidates"]] == [c["kind_auc"] for c in fb["candidates"]]


def test_cli_user_error_exits_2(tmp_path, capsys):
    assert main(["benchmark", "ucsd", "--data", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_docs_block_unmatched_marker_is_an_error(tmp_path):
    p = tmp_path / "d.md"
    p.write_text("<!-- benchmark:x begin -->\nhalf\n")
    with pytest.raises(VadkitError, match="unmatched marker"):
        update_docs_block(p, "x", "body")


@pytest.mark.slow
@pytest.mark.real_data
def test_ped2_object_speed_reaches_the_target(shared_data, tmp_path):
    if os.environ.get("VADKIT_SLOW") != "1":
        pytest.skip("slow (minutes on 2 cores): set VADKIT_SLOW=1")
    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark

    doc = run_ucsd_benchmark(shared_data / "ped2", tmp_path, UCSDBenchConfig())
    rows = {r["name"]: r for r in doc["rows"]}
    assert doc["n_test"] == 12 and doc["gt_without_frames"] == []
    assert rows["object_speed"]["micro_auc"] >= 0.97  # docs/benchmarks.md: 0.977
    assert rows["object_speed"]["micro_auc"] > rows["fastest-cell speed"]["micro_auc"]


def test_train_videos_out_of_range_is_one_line_before_any_work(mini, tmp_path, capsys):
    n_train = len(find_ucsd_layout(mini).train)
    for n in (1, n_train + 1):
        out = tmp_path / f"run{n}"
        rc = main(["benchmark", "ucsd", "--data", str(mini), "--out", str(out),
                   "--train-videos", str(n)])  # fmt: skip
        assert rc == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1] == (
            f"vadkit: error: train_videos {n}: need 2..{n_train} (the training videos of {mini})"
        )
        assert not out.exists()
