"""The scene detector: the benchmark's default, fitted by a user, used by ``vadkit predict``.

On a reduced real Ped2 (the first 90 frames of 4 training videos and of test video 04, whose
anomaly is frames 31-180 in UCSDped2.m): ``vadkit benchmark ucsd``'s headline scores equal what ``vadkit fit-scene`` +
``vadkit predict`` give on the same videos (one detector, one selection), the event found
overlaps the published interval, for the frame folder and for an mp4 of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers_ucsd import blob_frames

from vadkit.errors import VadkitError
from vadkit.methods.oneclass.scene import (
    SceneConfig,
    SceneDetector,
    split_folds,
    split_training,
)

GT_04 = (30, 180)  # 0-based [start, end) of the anomaly in Test004 (UCSDped2.m: 31:180)
MAX_FRAMES = 90  # the copy keeps this many frames of each video (cuts the fixture 81 s -> 29 s)


@pytest.fixture(scope="module", autouse=True)
def _one_thread(torch_one_thread):
    yield


# ---------------------------------------------------------------- generated video, no files
@pytest.fixture(scope="module")
def small() -> dict:
    """Normal videos (one slow walker) and a test video with a fast square in frames 20-39."""
    train = {f"n{k}": np.repeat(blob_frames(48, seed=k)[0][..., None], 3, -1) for k in range(4)}
    test, masks = blob_frames(60, seed=9, fast=(20, 40))
    labels = masks.reshape(60, -1).any(axis=1)
    cfg = SceneConfig(grid=(4, 4), workers=1, flow_height=None, short_side=64,
                      select_sigmas=(0.0, 2.0), fusion_weights=(0.0, 0.5, 1.0),
                      synth_length=12, windows=(1 / 8, 1 / 4))  # fmt: skip
    det = SceneDetector(cfg).fit(train)
    return {"det": det, "test": np.repeat(test[..., None], 3, -1), "labels": labels, "train": train}


def test_scene_detects_the_fast_object_and_calibrates_on_held_out_normals(small):
    from sklearn.metrics import roc_auc_score

    det = small["det"]
    # 4 videos: 4 folds of 1 (round(0.25 * 4)), each video held out once, final fit on all
    assert len(det.folds_) == 4 and all(len(h) == 1 for _, h in det.folds_)
    assert sorted(det.heldout_ids_) == sorted(det.fit_ids_) == ["n0", "n1", "n2", "n3"]
    assert all(set(f) | set(h) == set(det.fit_ids_) and not set(f) & set(h) for f, h in det.folds_)
    s = det.score(small["test"])
    assert s.shape == (60,)
    assert roc_auc_score(small["labels"], s) > 0.9
    # the threshold lets through at most the target share of held-out normal frames
    assert det.heldout_far_ <= det.config.false_alarm_rate + 1e-9
    flags = det.predict(small["test"])
    assert flags[20:40].mean() > 0.5 and flags[:15].mean() < 0.2


def test_scene_chooses_on_the_off_path_walker_when_asked(small):
    from dataclasses import replace

    cfg = replace(small["det"].config, synth_kinds=("fast", "foreign object", "off the paths"))
    det = SceneDetector(cfg).fit({k: small["train"][k] for k in ("n0", "n1")})
    assert all(set(r["kind_auc"]) == set(cfg.synth_kinds) for r in det.fusion_table_)
    chosen = next(r for r in det.fusion_table_ if r["selected"])
    assert chosen["val_auc"] == max(r["val_auc"] for r in det.fusion_table_)
    with pytest.raises(VadkitError, match="synth_kinds must include 'fast'"):
        SceneDetector(replace(cfg, synth_kinds=("foreign object",))).fit(small["train"])
    with pytest.raises(VadkitError, match="foreign_texture must be one of"):
        SceneDetector(replace(cfg, foreign_texture="plaid")).fit(small["train"])


def test_scene_save_load_round_trip(small, tmp_path):
    det = small["det"]
    path = det.save(tmp_path / "scene.npz")
    back = SceneDetector.load(path)
    np.testing.assert_array_equal(back.score(small["test"]), det.score(small["test"]))
    assert back.summary() == det.summary() | {"fit_videos": det.fit_ids_}
    assert back.config == det.config


def test_scene_bad_input_is_one_line(tmp_path, small):
    with pytest.raises(VadkitError, match="at least 2 normal videos"):
        SceneDetector().fit({"a": small["test"]})
    with pytest.raises(VadkitError, match="not fitted"):
        SceneDetector().score(small["test"])
    with pytest.raises(VadkitError, match="not found"):
        SceneDetector.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(VadkitError, match="not a vadkit scene detector file"):
        SceneDetector.load(bad)


def test_split_training_holds_out_a_quarter():
    fit, held = split_training([f"v{i}" for i in range(16)], 0.25, 0)
    assert len(held) == 4 and len(fit) == 12 and not set(fit) & set(held)
    assert split_training(["a"], 0.25, 0) == (["a"], ["a"])


@pytest.mark.parametrize(
    ("n", "n_folds", "per_fold"), [(16, 1, 4), (8, 2, 2), (3, 3, 1), (2, 2, 1)]
)
def test_split_folds_hold_out_each_video_at_most_once(n, n_folds, per_fold):
    ids = [f"v{i}" for i in range(n)]
    folds = split_folds(ids, 0.25, 0, min_heldout=4)
    assert folds[0] == split_training(ids, 0.25, 0)  # the first fold is the one-split rule
    assert len(folds) == n_folds and all(len(h) == per_fold for _, h in folds)
    held = [v for _, h in folds for v in h]
    assert len(held) == len(set(held)) == min(n, 4)
    for fit, h in folds:
        assert sorted(fit + h) == sorted(ids)


# ---------------------------------------------------------------- real Ped2, reduced
@pytest.fixture(scope="module")
def ped2_small(shared_data, tmp_path_factory) -> dict:
    """A 4-training, 1-test copy of Ped2 (JPEG frames, the first MAX_FRAMES of each), benchmarked
    once."""
    from vadkit.bench.ucsd import UCSDBenchConfig, run_ucsd_benchmark
    from vadkit.bench.ucsd_layout import find_ucsd_layout
    from vadkit.bench.ucsd_robustness import make_transformed

    root = tmp_path_factory.mktemp("scene-ped2")
    layout = find_ucsd_layout(shared_data / "ped2")
    data = make_transformed(layout, "original", root / "data", list(layout.train)[:4], ["04"],
                            max_frames=MAX_FRAMES)  # fmt: skip
    bench = root / "bench"
    doc = run_ucsd_benchmark(data, bench, UCSDBenchConfig(), log=lambda _: None)
    return {"data": data, "bench": bench, "doc": doc, "root": root}


@pytest.fixture(scope="module")
def ped2_run(ped2_small) -> Path:
    """`vadkit fit-scene` on the copy's training videos, reading the benchmark's cache."""
    from vadkit.cli.main import main

    run = ped2_small["root"] / "run"
    rc = main(["fit-scene", str(ped2_small["data"] / "training" / "frames"), "--out", str(run),
               "--cache", str(ped2_small["bench"] / "cache")])  # fmt: skip
    assert rc in (0, None)
    return run


def test_fit_scene_is_the_benchmark_default(ped2_small, ped2_run):
    """Same videos, same default: the same choices, threshold and test scores."""
    doc = ped2_small["doc"]
    metrics = json.loads((ped2_run / "metrics.json").read_text())
    fusion = doc["fusion_selection"]["selected"]
    assert metrics["fusion"]["appearance"] == pytest.approx(fusion["weight"])
    assert metrics["fusion"]["sigma"] == pytest.approx(fusion["sigma"])
    assert metrics["object_speed"]["window_fraction"] == doc["selection"]["window_fraction"]
    headline = {r["name"]: r for r in doc["rows"]}["fusion"]
    assert metrics["threshold"] == pytest.approx(headline["threshold"], abs=1e-9)
    bench_scores = np.load(ped2_small["bench"] / "scores.npz")["01"]
    det = SceneDetector.load(ped2_run / "scene.npz")
    frames = ped2_small["data"] / "testing" / "frames" / "01"
    np.testing.assert_allclose(det.score(frames), bench_scores, rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def ped2_mp4(ped2_small) -> Path:
    from vadkit.datasets.synthetic import write_video
    from vadkit.methods.oneclass.scene_features import iter_frames

    frames = np.stack(list(iter_frames(ped2_small["data"] / "testing" / "frames" / "01")))
    return write_video(ped2_small["root"] / "04.mp4", frames, fps=10)


@pytest.mark.parametrize("kind", ["folder", "mp4"])
def test_predict_with_a_scene_run_finds_the_ped2_anomaly(kind, ped2_small, ped2_run, ped2_mp4,
                                                         tmp_path, capsys):  # fmt: skip
    from vadkit.cli.main import main

    src = ped2_mp4 if kind == "mp4" else ped2_small["data"] / "testing" / "frames" / "01"
    rc = main(
        ["predict", str(src), "--model", str(ped2_run), "--out", str(tmp_path), "--fps", "10"]
    )
    assert rc in (0, None)
    out = capsys.readouterr().out
    assert "model scene (motion + appearance)" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    (vid,) = summary["videos"]
    events = summary["videos"][vid]["events"]
    a, b = GT_04
    assert any(e["start_frame"] < b and e["end_frame"] >= a for e in events), events
    frames = json.loads((tmp_path / f"{vid}.frames.json").read_text())
    assert len(frames["frame_scores"]) == MAX_FRAMES


def test_fit_scene_takes_the_normal_training_rows_of_a_table(tmp_path, capsys):
    """`vadkit synth`'s videos.csv lists every video: fit-scene keeps label 0, split train."""
    import yaml
    from helpers_ucsd import write_ucsd_layout

    from vadkit.cli.main import main

    root = write_ucsd_layout(tmp_path / "data", n_train=3, n_test=2, n=24)
    rows = ["id,path,label,split"]
    rows += [f"n{k},training/frames/{k:02d},0,train" for k in (1, 2, 3)]
    rows += ["a1,testing/frames/01,1,train", "t2,testing/frames/02,1,test"]
    (root / "videos.csv").write_text("\n".join(rows) + "\n")
    rc = main(["fit-scene", str(root / "videos.csv"), "--out", str(tmp_path / "run"),
               "--workers", "1"])  # fmt: skip
    assert rc in (0, None)
    assert "3 normal videos (2 rows not normal training videos skipped)" in capsys.readouterr().out
    cfg = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert sorted(cfg["data"]["train"]) == ["n1", "n2", "n3"]
    assert cfg["kind"] == "scene"
    thr = json.loads((tmp_path / "run" / "threshold.json").read_text())
    assert len(thr["far_scores"]) == 72  # 3 folds: every video held out once, 24 frames each
