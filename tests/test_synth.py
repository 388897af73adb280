"""`vadkit synth --scene walkers --abnormal-train N`: the demo's scene and its tables."""

from __future__ import annotations

import csv

import numpy as np

from vadkit.cli.main import main
from vadkit.datasets.synthetic import render_walkers


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_walkers_scene_tables_and_events(tmp_path, capsys):
    out = tmp_path / "d"
    argv = ["synth", "--out", str(out), "--scene", "walkers", "--train", "2"]
    assert main([*argv, "--abnormal-train", "2", "--test", "4", "--frames", "40"]) == 0
    assert "8 videos (4 anomalous)" in capsys.readouterr().out
    rows = _rows(out / "videos.csv")
    # 2 normal + 2 abnormal training videos, then test videos alternating normal / anomalous;
    # the anomalies alternate the two events of the scene
    got = [(r["split"], r["label"], r["class"]) for r in rows]
    assert got == [
        ("train", "0", "Normal"),
        ("train", "0", "Normal"),
        ("train", "1", "FastObject"),
        ("train", "1", "WrongWay"),
        ("test", "0", "Normal"),
        ("test", "1", "FastObject"),
        ("test", "0", "Normal"),
        ("test", "1", "WrongWay"),
    ]
    ann = _rows(out / "annotations.csv")
    assert [a["video"] for a in ann] == [r["id"] for r in rows if r["split"] == "test"]
    for a, r in zip(ann, rows[4:], strict=True):
        assert (a["start"] != "") == (r["label"] == "1")
        if a["start"]:  # 40 frames: start in [10, 20), length 40 // 3
            assert 10 <= int(a["start"]) < 20 and int(a["end"]) - int(a["start"]) == 13
    assert all((out / r["path"]).stat().st_size > 0 for r in rows)


def test_events_appear_only_inside_their_interval():
    normal = render_walkers(30, seed=3)
    for event in ("fast_object", "wrong_way"):
        frames = render_walkers(30, event=event, interval=(10, 20), seed=3)
        # same seed: outside the interval the scene is the same, inside it differs
        diff = np.abs(frames.astype(int) - normal.astype(int)).reshape(30, -1).max(axis=1)
        assert (diff[:10] == 0).all() and (diff[20:] == 0).all(), event
        assert (diff[10:20] > 100).all(), event
