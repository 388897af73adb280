"""Full supervision through ``vadkit train`` / ``vadkit evaluate`` (AED-T on a generated store)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vadkit.cli.main import main
from vadkit.datasets.annotations import GroundTruth
from vadkit.errors import VadkitError
from vadkit.io.store import StoreInfo, StoreWriter, VideoEntry
from vadkit.train import read_metrics
from vadkit.train.full import class_metrics, training_targets

D = 32
CLASSES = {"Crash": 0, "Fire": 1, "Panic": 2}


@pytest.fixture(scope="module", autouse=True)
def _one_thread(torch_one_thread):
    yield


def _write(root: Path, n: int, rng, scenes, shift, rows, split: str, gt_normals: bool) -> Path:
    """``n`` videos of ``split``; class c carries scene pattern c, abnormal ones a burst."""
    info = StoreInfo(
        backbone="gen", weights_sha256="x", dim=D, crops=1, padding="drop",
        extra={"class_index": CLASSES},
    )  # fmt: skip
    w = StoreWriter(root / split, info)
    names = list(CLASSES)
    for i in range(n):
        T, c = int(rng.integers(15, 30)), i % len(CLASSES)
        x = 0.7 * rng.standard_normal((T, 1, D)).astype(np.float32) + scenes[c]
        vid = f"{split}_{i:03d}"
        if i % 2:
            s = int(rng.integers(0, T - 6))
            e = s + int(rng.integers(4, 7))
            x[s:e] += shift
            rows.append((vid, 16 * s, 16 * e, 16 * T, names[c]))
        elif gt_normals:
            rows.append((vid, "", "", 16 * T, ""))
        w.add(vid, x, label=i % 2, cls=names[c], split=split, n_frames=16 * T)
    w.finalize()
    return root / split


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """Train/test stores with classes; the CSV holds the abnormal training videos and every
    test video (normal training videos are not listed: labelled normal = no anomalous frame)."""
    root = tmp_path_factory.mktemp("full")
    rng = np.random.default_rng(3)
    scenes = rng.standard_normal((len(CLASSES), D)).astype(np.float32)
    shift = np.zeros(D, np.float32)
    shift[: D // 2] = 1.5
    rows: list[tuple] = [("video", "start", "end", "n_frames", "class")]
    train = _write(root, 24, rng, scenes, shift, rows, "train", gt_normals=False)
    test = _write(root, 12, rng, scenes, shift, rows, "test", gt_normals=True)
    with open(root / "gt.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    cfg = root / "aed_t.yaml"
    cfg.write_text(
        "method: aed_t\ndataset: csv\nmodel:\n  feature_dim: 32\n  hidden_channels: 8\n"
        "  fc_down: 32\n  head_hidden: 16\n  n_classes: 3\n  lr: 0.003\n  batch_abnormal: 8\n"
        "  batch_normal: 8\n  iterations: 120\n  snapshot: 40\n"
        "train:\n  val_fraction: 0.2\n  seed: 0\n"
    )
    return {"train": train, "test": test, "gt": root / "gt.csv", "config": cfg}


def _args(stores, out: Path, *extra: str) -> list[str]:
    return [
        "train", "--config", str(stores["config"]), "--train", str(stores["train"]),
        "--test", str(stores["test"]), "--annotations", str(stores["gt"]), "-o", str(out), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def run(stores, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "aed"
    assert main(_args(stores, out)) == 0
    return out


def test_train_reaches_frame_auc_and_writes_a_run(run):
    names = {p.name for p in run.iterdir()}
    assert {"config.yaml", "checkpoint.pt", "scores.npz", "metrics.json", "log.jsonl"} <= names
    assert "classes.json" in names
    m = read_metrics(run)
    assert m["kind"] == "full" and m["selection"] == "validation"
    assert "held-out training videos" in m["selected_on"] and "val_frame_auc" in m
    assert m["test"]["frame_auc"] >= 0.9
    assert m["test"]["class_accuracy"] >= 0.6  # 3 classes: chance 1/3
    cm = np.array(m["test"]["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 12 == m["n_test"]
    # labelling cost: every training video (fit + validation) with its 16 T frames
    assert m["labelled_videos"] == 24 and m["n_train"] + m["n_val"] == 24


def test_evaluate_run_dir_reports_class_metrics(run, capsys):
    assert main(["evaluate", str(run)]) == 0
    text = capsys.readouterr().out
    assert "abnormal_video_auc" in text and "false_alarm_rate" in text
    assert "class_accuracy" in text and "confusion matrix (12 videos" in text
    ev = json.loads((run / "evaluation.json").read_text())
    m = read_metrics(run)
    assert ev["frame_auc"] == pytest.approx(m["test"]["frame_auc"])
    assert ev["class_accuracy"] == pytest.approx(m["test"]["class_accuracy"])
    assert ev["confusion_matrix"] == m["test"]["confusion_matrix"]


def test_abnormal_training_video_without_frame_labels_is_one_line(stores, tmp_path, capsys):
    rows = list(csv.reader(open(stores["gt"])))
    kept = [r for r in rows if r[0] != "train_001"]
    (tmp_path / "gt.csv").write_text("\n".join(",".join(r) for r in kept) + "\n")
    args = _args(stores, tmp_path / "r")
    args[args.index("--annotations") + 1] = str(tmp_path / "gt.csv")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'train_001'" in err and "frame labels" in err
    assert not (tmp_path / "r").exists()


def test_no_annotations_is_one_line(stores, tmp_path, capsys):
    args = _args(stores, tmp_path / "r")
    i = args.index("--annotations")
    del args[i : i + 2]
    assert main(args) == 2
    assert "learns from frame labels" in capsys.readouterr().err


def test_training_targets_hand_worked():
    def E(vid, T, label, n_frames):  # noqa: N802
        return VideoEntry(vid, f"{vid}.npy", T, label=label, n_frames=n_frames)

    lab = np.zeros(48, np.uint8)
    lab[20:30] = 1  # frames 20..29: snippet 1 (16..31) holds them
    gt = GroundTruth("csv", labels={"a": lab})
    entries = [E("a", 3, 1, 48), E("n", 2, 0, 32)]
    t16 = training_targets(gt, entries, 16, 16, "gt")
    np.testing.assert_array_equal(t16["a"], lab.astype(np.float32))
    np.testing.assert_array_equal(t16["n"], np.zeros(32))
    # one target per snippet: the frame at the snippet's centre (8, 24, 40)
    t1 = training_targets(gt, entries, 16, 1, "gt")
    np.testing.assert_array_equal(t1["a"], [0, 1, 0])
    with pytest.raises(VadkitError, match="'b' is not labelled normal"):
        training_targets(gt, [E("b", 2, 1, 32)], 16, 16, "gt.csv")


def test_class_metrics_hand_worked():
    pred = {
        "a": {"video": 0, "windows": [0, 0, 1]},
        "b": {"video": 2, "windows": [2]},
        "c": {"video": 1, "windows": [1, 1]},
        "u": {"video": 1, "windows": [1]},  # unknown true class: left out
    }
    out = class_metrics(pred, {"a": 0, "b": 1, "c": 1, "u": -1}, n_classes=3)
    assert out["n_class_videos"] == 3
    assert out["class_accuracy"] == pytest.approx(2 / 3)
    assert out["window_class_accuracy"] == pytest.approx(4 / 6)  # a: 2/3, b: 0/1, c: 2/2
    assert out["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]


def test_checkpoint_reloads_to_the_same_scores(run, stores):
    """save/load through the run directory: the reloaded model gives scores.npz again."""
    from vadkit.io.store import FeatureStore
    from vadkit.methods.registry import get_method
    from vadkit.train import load_checkpoint, model_from_checkpoint, read_scores

    store = FeatureStore.open(stores["test"])
    model = model_from_checkpoint(load_checkpoint(run, store.info), get_method("aed_t"))
    saved = read_scores(run)
    for vid, want in saved.items():
        x = torch.from_numpy(np.array(store.load(vid).transpose(1, 0, 2)[None]))
        np.testing.assert_array_equal(model.score(x)[0], want)


def test_config_yaml_shows_the_schedule_that_ran(stores, tmp_path):
    """train.* overrides the model's schedule fields; config.yaml keeps only what ran."""
    from vadkit.train.rundir import read_config

    out = tmp_path / "aed-set"
    args = _args(stores, out, "--set", "train.iterations=30", "--set", "train.batch_per_class=4")
    assert main(args) == 0
    cfg = read_config(out)
    assert cfg["model"]["iterations"] == 30 == cfg["train"]["iterations"]
    assert cfg["model"]["batch_abnormal"] == 4 == cfg["model"]["batch_normal"]
    assert cfg["model"]["snapshot"] == 30  # val_every is capped at the 30 steps
    assert cfg["run"]["model_values_replaced"] == {
        "model.batch_abnormal": "8 -> 4",
        "model.batch_normal": "8 -> 4",
        "model.iterations": "120 -> 30",
        "model.snapshot": "40 -> 30",
    }
