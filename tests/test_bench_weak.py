"""``vadkit benchmark weak``: splits, bad input and the command end to end on a generated
UCSD-layout dataset (every generated test video has anomalous frames)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers_ucsd import write_ucsd_layout
from sklearn.metrics import roc_auc_score

from vadkit.bench.ucsd_layout import find_ucsd_layout
from vadkit.bench.weak import anm_window, batch_per_class, make_splits
from vadkit.cli.main import main
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return write_ucsd_layout(tmp_path_factory.mktemp("weak") / "mini", n_train=3, n_test=7, n=32)


def test_splits_are_seeded_stratified_and_disjoint(mini):
    lay = find_ucsd_layout(mini)
    splits = make_splits(lay, 4, seed=3, fraction=0.5)
    assert [s.seed for s in splits] == [3, 4, 5, 6]
    again = make_splits(lay, 4, seed=3, fraction=0.5)
    assert [(s.train, s.test) for s in splits] == [(s.train, s.test) for s in again]
    assert len({tuple(sorted(s.test)) for s in splits}) > 1  # the seeds give other splits
    for s in splits:
        assert not set(s.train) & set(s.test)
        assert set(s.train) | set(s.test) == {f"training-{v}" for v in ("01", "02", "03")} | {
            f"testing-{v:02d}" for v in range(1, 8)
        }
        # the UCSD training videos stay in training, normal
        assert all(s.train[f"training-{v}"] == 0 for v in ("01", "02", "03"))
        # round(0.5 * 7) = 4 abnormal test videos move (>= 2), 3 stay (>= 1)
        assert sum(s.train.values()) == 4 and len(s.test) == 3
        assert all(y == 1 for y in s.test.values())  # every generated video has anomalies


def test_video_label_is_any_frame_and_normal_videos_split_too(mini, tmp_path):
    lay = find_ucsd_layout(mini)
    for v in ("06", "07"):  # two test videos without anomalous frames
        lay.labels[v] = np.zeros_like(lay.labels[v])
    for s in make_splits(lay, 3, seed=0, fraction=0.5):
        normal = {v for v, y in {**s.train, **s.test}.items() if y == 0 and "testing" in v}
        assert normal == {"testing-06", "testing-07"}
        assert sum(1 for v in s.train if v in normal) == 1  # round(0.5 * 2)
        assert sum(s.train.values()) == 2 and sum(s.test.values()) == 3  # round(2.5) = 2


def test_split_impossible_with_too_few_abnormal_videos(tmp_path):
    root = write_ucsd_layout(tmp_path / "two", n_train=2, n_test=2, n=16)
    with pytest.raises(VadkitError, match="2 test videos with anomalous frames.*at least 3"):
        make_splits(find_ucsd_layout(root), 1, seed=0, fraction=0.5)


def test_batch_size_from_the_data():
    assert batch_per_class(13, 5) == 2 and batch_per_class(2, 2) == 1 and batch_per_class(1, 9) == 1
    assert batch_per_class(80, 64) == 32


def test_anm_window_gives_every_video_two_windows():
    # published 28, capped at half the shortest video (Ped2: 8 snippets of 16 frames -> 4)
    assert [anm_window(t) for t in (1, 2, 8, 9, 56, 1000)] == [1, 1, 4, 4, 28, 28]


def test_anm_scores_vary_inside_short_videos():
    # Ped2: 8-12 snippets per test video. With the published window (28) a video is one
    # window and all its snippets get one score (macro frame AUC exactly 0.5); with the
    # benchmark's model values the windows split every video, so scores vary inside it.
    from vadkit.bench.weak import _model_values
    from vadkit.methods.registry import get_method

    method = get_method("anm")
    torch.manual_seed(0)
    model = method.model_cls(method.config_cls.from_dict(_model_values(method, 16, 1, 8)))
    x = torch.randn(1, 1, 8, 16)
    x[:, :, 4:] += 3.0  # a different second half
    s = model.score(x)[0]
    assert len(np.unique(s[:4])) == 1 and len(np.unique(s[4:])) == 1  # windows of 4
    assert s[0] != s[4]


def test_bad_input_is_one_line(tmp_path, capsys):
    base = ["benchmark", "weak", "--out", str(tmp_path / "o")]
    assert main([*base, "--data", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and len(err.splitlines()) == 1
    root = write_ucsd_layout(tmp_path / "two", n_train=2, n_test=2, n=16)
    assert main([*base, "--data", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert "at least 3" in err and len(err.splitlines()) == 1
    assert main([*base, "--data", str(root), "--methods", "mil,knn"]) == 2
    assert "not a weak method" in capsys.readouterr().err
    mini = write_ucsd_layout(tmp_path / "three", n_train=2, n_test=3, n=16)
    assert main([*base, "--data", str(mini), "--train-threads", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--train-threads 0" in err and len(err.splitlines()) == 1
    assert main([*base, "--data", str(mini), "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--jobs 0: must be an integer >= 1" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "store").exists()  # refused before any extraction


def test_command_end_to_end(mini, tmp_path):
    out, docs = tmp_path / "run", tmp_path / "bench.md"
    docs.write_text("# Benchmarks\n\nkept text\n")
    args = ["benchmark", "weak", "--data", str(mini), "--out", str(out), "--docs", str(docs)]
    args += ["--methods", "mil,tacnet,anm", "--splits", "2", "--iterations", "4"]
    args += ["--val-every", "2"]
    args += ["--random-init"]
    assert main([*args, "--jobs", "2"]) == 0
    doc = json.loads((out / "results.json").read_text())
    names = [r["method"] for r in doc["rows"]]
    # tacnet has a reference preset, so it has two rows; then the two training-free rows
    assert names == ["mil", "tacnet", "tacnet (reference)", "anm", "chance", "feature_magnitude"]
    for r in doc["rows"]:
        assert len(r["runs"]) == 2
        for run in r["runs"]:
            assert 0 <= run["micro_auc"] <= 1 and 0 <= run["ap"] <= 1
            if r["kind"] == "weak":  # 2 normal and 3 abnormal videos, 1 each held out: n = 1
                assert run["batch_per_class"] == 1 and run["steps"] == 4
                assert [step for step, _ in run["val_curve"]] == [2, 4]
        paired = r["paired"]
        best = max(doc["rows"], key=lambda x: x["micro_auc"]["mean"])["method"]
        assert paired["best"] == best
        best_runs = _row(doc, best)["runs"]
        diffs = [a["micro_auc"] - b["micro_auc"] for a, b in zip(r["runs"], best_runs, strict=True)]
        assert paired["mean_diff"] == pytest.approx(np.mean(diffs))
        lo, hi = r["micro_auc"]["ci95"]
        assert (
            min(x["micro_auc"] for x in r["runs"])
            <= lo
            <= hi
            <= max(x["micro_auc"] for x in r["runs"])
        )
        xs = [run["micro_auc"] for run in r["runs"]]
        assert r["micro_auc"]["mean"] == pytest.approx(sum(xs) / 2)
        assert r["micro_auc"]["std"] == pytest.approx(abs(xs[0] - xs[1]) / np.sqrt(2))
    # the test videos of a split are exactly what was scored
    run0 = out / "split0" / "mil" / "run"
    scored = set(np.load(run0 / "scores.npz").files)
    assert scored == set(doc["splits"][0]["test"])
    # anm scores windows: with the published window (28) every 2-snippet video here was one
    # window with one constant score; the benchmark's window is 2 // 2 = 1 snippet
    cfg = yaml.safe_load((out / "split0" / "anm" / "run" / "config.yaml").read_text())
    assert (cfg["model"]["window"], cfg["model"]["stride"]) == (1, 1)
    assert cfg["train"]["min_delta"] < 0  # selection: ties go to the later step
    assert cfg["model"]["feature_dim"] == 1280
    mil = yaml.safe_load((out / "split0" / "mil" / "run" / "config.yaml").read_text())
    assert mil["model"]["l2_normalize"] is True
    # the reference row ran the reference's values; the default row vadkit's
    ref = yaml.safe_load((out / "split0" / "tacnet-reference" / "run" / "config.yaml").read_text())
    own = yaml.safe_load((out / "split0" / "tacnet" / "run" / "config.yaml").read_text())
    assert (ref["preset"], ref["model"]["w_sparsity"], ref["model"]["lr"]) == (
        "reference",
        0.05,
        1e-5,
    )
    assert (own["preset"], own["model"]["w_sparsity"], own["model"]["lr"]) == (
        "default",
        0.05 / 32,
        1e-4,
    )
    # the training-free row is the L2 norm of each snippet's feature, computed here by hand
    store = FeatureStore.open(out / "store")
    layout = find_ucsd_layout(mini)
    frames, labels = [], []
    for vid in doc["splits"][0]["test"]:
        x = np.asarray(store.load(vid), dtype=np.float64)
        norms = np.sqrt((x**2).sum(-1)).mean(-1) if x.ndim == 3 else np.sqrt((x**2).sum(-1))
        y = layout.labels[vid.split("-", 1)[1]]
        frames.append(np.repeat(norms, 16)[: len(y)])  # 16-frame snippets, exact frame counts
        labels.append(y)
    want = roc_auc_score(np.concatenate(labels), np.concatenate(frames))
    got = _row(doc, "feature_magnitude")["runs"][0]["micro_auc"]
    assert got == pytest.approx(want)
    text = docs.read_text()
    assert "kept text" in text and text.count("benchmark:weak:mini:efficientnet_lite0 begin") == 1
    assert "| mil |" in text and "| tacnet (reference) |" in text and "| chance |" in text
    # a second run reuses the store (no video extracted again) and replaces the block; in one
    # process it gives split 0 the same numbers as the two processes did
    assert (
        main([*args, "--store", str(out / "store"), "--splits", "1", "--out", str(out / "b")]) == 0
    )
    assert docs.read_text().count("benchmark:weak:mini") == 2  # begin + end
    again = json.loads((out / "b" / "results.json").read_text())
    for r in again["rows"]:
        assert r["runs"][0]["micro_auc"] == _row(doc, r["method"])["runs"][0]["micro_auc"]


def _row(doc: dict, name: str) -> dict:
    return next(r for r in doc["rows"] if r["method"] == name)


def test_bootstrap_interval_and_paired_comparison_by_hand():
    from vadkit.bench.weak_stats import bootstrap_interval, paired_comparison, plateau_step

    assert bootstrap_interval([0.7] * 5) == (0.7, 0.7)
    # two values: resampled means are 0.2, 0.5 or 0.8 with probabilities 1/4, 1/2, 1/4
    lo, hi = bootstrap_interval([0.2, 0.8], n_boot=20_000)
    assert (lo, hi) == (pytest.approx(0.2), pytest.approx(0.8))
    per = {"a": [0.9, 0.8, 0.7], "b": [0.8, 0.7, 0.6], "c": [0.95, 0.6, 0.8]}
    out = paired_comparison(per)
    assert {v["best"] for v in out.values()} == {"a"}  # means 0.8, 0.7, 0.783
    # b is 0.1 below a on every split: the interval is the point -0.1, not 0
    assert out["b"]["mean_diff"] == pytest.approx(-0.1)
    assert out["b"]["ci95"] == (pytest.approx(-0.1), pytest.approx(-0.1))
    assert not out["b"]["indistinguishable"] and out["b"]["wins"] == 0
    # c: +0.05, -0.2, +0.1 -> the interval holds 0
    assert out["c"]["indistinguishable"] and out["c"]["wins"] == 2
    assert out["a"]["mean_diff"] == 0 and out["a"]["indistinguishable"]
    assert plateau_step({20: 0.3, 40: 0.6, 60: 0.595, 80: 0.6}) == 40
    with pytest.raises(ValueError, match="different numbers"):
        paired_comparison({"a": [0.1], "b": [0.1, 0.2]})


def test_selection_ties_go_to_the_later_step():
    # 4 held-out videos give few distinct AUC values; a flat validation curve must keep
    # the longer-trained model (before: the first validation, step 2 of 6 here)
    from vadkit.bench.weak import TIE_TO_LATER
    from vadkit.methods.mil import MILConfig, MILModel
    from vadkit.train.loop import fit
    from vadkit.train.schedule import Schedule

    feats = np.random.default_rng(0).normal(size=(8, 32, 1, 8)).astype(np.float32)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    for min_delta, best in ((0.0, 2), (TIE_TO_LATER, 6)):
        torch.manual_seed(0)
        model = MILModel(MILConfig(feature_dim=8))
        sched = Schedule(2, 6, None, 32, 0, 2, {})
        res = fit(
            model, feats, labels, np.arange(8), sched, validate=lambda m: 1.0, min_delta=min_delta
        )
        assert res.best_step == best
