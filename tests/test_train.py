"""The trainer on a generated pooled set with a tiny contract-following method."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from train_helpers import (
    TINY,
    TinyConfig,
    TinyModel,
    make_stores,
    one_thread,
    register_tiny,
)

from vadkit.errors import VadkitError
from vadkit.methods.registry import get_method, register_method, unregister_method
from vadkit.train import load_checkpoint, model_from_checkpoint, read_config, train_run
from vadkit.train.config import load_yaml
from vadkit.train.rundir import FILES
from vadkit.train.scoring import score_videos

single_thread = pytest.fixture(scope="module", autouse=True)(one_thread)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    return make_stores(tmp_path_factory.mktemp("gen"))


@pytest.fixture()
def tiny(monkeypatch):
    register_tiny()
    yield get_method(TINY)
    unregister_method(TINY)


def config(stores, **train) -> dict:
    return {
        "method": TINY,
        "dataset": "csv",
        "model": {},
        "train": {"val_every": 20, **train},
        "data": {
            "train": str(stores["train"]),
            "test": str(stores["test"]),
            "annotations": str(stores["gt"]),
        },
    }


def quiet(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def run_once(stores, tmp_path_factory):
    """One validation-selected run shared by the read-only tests."""
    mp = pytest.MonkeyPatch()
    register_tiny()
    out = tmp_path_factory.mktemp("runs") / "run"
    metrics = train_run(config(stores), get_method(TINY), out, echo=quiet)
    yield out, metrics
    mp.undo()
    unregister_method(TINY)


def test_reaches_auc_and_writes_every_file(run_once):
    out, metrics = run_once
    for name in FILES:
        assert (out / name).is_file(), name
    assert metrics["test"]["frame_auc"] >= 0.9
    assert metrics["selection"] == "validation" and "oracle" not in json.dumps(metrics).lower()
    assert not out.with_name("run.partial").exists()
    lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert lines[0]["step"] == 1 and "loss" in lines[0] and "lr" in lines[0]
    assert any("val_video_auc_max" in rec for rec in lines)


def test_config_yaml_round_trips(run_once, stores, tiny, tmp_path):
    out, metrics = run_once
    cfg = read_config(out)
    assert cfg["model"]["batch_per_class"] == 8 and cfg["train"]["batch_per_class"] == 8
    assert cfg["train"]["iterations"] == 60 and cfg["run"]["store"]["dim"] == 16
    fps = cfg["data"]["fingerprints"]
    assert fps["train_pooled"] and fps["train_manifest"] != fps["test_manifest"]
    # the written config is a valid config and gives the same run
    again = train_run(load_yaml(out / "config.yaml"), tiny, tmp_path / "again", echo=quiet)
    written = read_config(tmp_path / "again")
    # only the record of where schedule values came from differs (now train.*)
    assert all(v.startswith("train.") for v in written["run"].pop("schedule_from").values())
    cfg["run"].pop("schedule_from")
    assert written == cfg
    assert again["test"]["frame_auc"] == metrics["test"]["frame_auc"]


def test_config_yaml_shows_the_values_that_ran(stores, tiny, tmp_path):
    # train.* overrides the method's own schedule fields: config.yaml must not keep both
    train_run(config(stores, iterations=20, batch_per_class=4), tiny, tmp_path / "r", echo=quiet)
    cfg = read_config(tmp_path / "r")
    assert cfg["model"]["iterations"] == 20 == cfg["train"]["iterations"]
    assert cfg["model"]["batch_per_class"] == 4 == cfg["train"]["batch_per_class"]
    assert cfg["run"]["model_values_replaced"] == {
        "model.iterations": "60 -> 20",
        "model.batch_per_class": "8 -> 4",
    }


def test_same_seed_same_numbers(run_once, stores, tiny, tmp_path):
    out, _ = run_once
    train_run(config(stores), tiny, tmp_path / "b", echo=quiet)
    assert (tmp_path / "b" / "metrics.json").read_text() == (out / "metrics.json").read_text()
    a, b = np.load(out / "scores.npz"), np.load(tmp_path / "b" / "scores.npz")
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])
    other = train_run(config(stores, seed=5), tiny, tmp_path / "c", echo=quiet)
    assert other != json.loads((out / "metrics.json").read_text())


def test_checkpoint_reload_gives_identical_scores(run_once, tiny):
    out, _ = run_once
    from vadkit.io.store import FeatureStore

    test = FeatureStore.open(read_config(out)["data"]["test"])
    model = model_from_checkpoint(load_checkpoint(out, test.info, test.path), tiny)
    scores = score_videos(model, test, test.ids)
    saved = np.load(out / "scores.npz")
    for vid in test.ids:
        np.testing.assert_array_equal(scores[vid], saved[vid])
        assert saved[vid].dtype == np.float32 and saved[vid].shape == (test.entry(vid).T,)


def test_checkpoint_of_another_backbone_is_one_line_error(run_once, tmp_path):
    out, _ = run_once
    other = make_stores(tmp_path, n_train=2, n_test=2, backbone="c3d")
    from vadkit.io.store import FeatureStore

    store = FeatureStore.open(other["test"])
    with pytest.raises(VadkitError, match="backbone=gen.*backbone=c3d") as exc:
        load_checkpoint(out / "checkpoint.pt", store.info, store.path)
    assert "\n" not in str(exc.value)


def test_validation_split_is_stratified_and_holds_no_test_video(run_once):
    out, _ = run_once
    cfg = read_config(out)
    val = cfg["run"]["split"]["val_ids"]
    from vadkit.io.store import FeatureStore

    train, test = FeatureStore.open(cfg["data"]["train"]), FeatureStore.open(cfg["data"]["test"])
    assert set(val) <= set(train.ids) and not set(val) & set(test.ids)
    labels = [train.entry(v).label for v in val]
    # 24 training videos, 12 per label, 20%: 2.4 of each label, so 2 or 3 of each held out
    assert labels.count(0) in (2, 3) and labels.count(1) in (2, 3)
    assert cfg["run"]["split"]["n_train"] + len(val) == 24


def test_oracle_selection_marks_every_output(stores, tiny, tmp_path, capsys):
    metrics = train_run(config(stores, selection="oracle"), tiny, tmp_path / "o", echo=print)
    console = capsys.readouterr().out
    assert "ORACLE" in console and console.count("ORACLE") >= 3
    assert metrics["selection"] == "oracle" and "oracle" in metrics["warning"]
    assert "oracle_test_frame_auc" in metrics
    assert metrics["n_val"] == 0 and metrics["n_train"] == 24  # no hold-out without validation
    saved = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert saved["selection"] == "oracle"
    cfg = yaml.safe_load((tmp_path / "o" / "config.yaml").read_text())
    assert cfg["train"]["selection"] == "oracle" and "ORACLE" in cfg["run"]["selection"]
    for line in (tmp_path / "o" / "log.jsonl").read_text().splitlines():
        assert json.loads(line)["selection"] == "oracle"


def test_early_stopping_stops(stores, tiny, tmp_path):
    # validation every step; with lr 0 nothing changes, so no validation improves on the first
    cfg = config(stores, val_every=1, patience=3)
    cfg["model"] = {"lr": 0.0, "iterations": 50}
    metrics = train_run(cfg, tiny, tmp_path / "es", echo=quiet)
    assert metrics["stopped_early"] is True
    assert metrics["steps_run"] == 4 and metrics["best_step"] == 1


def test_existing_run_dir_is_kept_without_overwrite(run_once, stores, tiny, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(VadkitError, match="already exists.*--overwrite"):
        train_run(config(stores, iterations=2), tiny, out, echo=quiet)
    assert (out / "keep.txt").read_text() == "mine"
    train_run(config(stores, iterations=2), tiny, out, overwrite=True, echo=quiet)
    assert not (out / "keep.txt").exists() and (out / "metrics.json").is_file()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"model": {"bogus": 1}}, "unknown key 'bogus'; valid keys: feature_dim"),
        ({"train": {"bogus": 1}}, "train: unknown key 'bogus'; valid keys: batch_per_class"),
        ({"model": {"feature_dim": 32}}, "16-d features but model.feature_dim=32"),
        ({"model": {"batch_per_class": 11}}, r"\d+ normal videos, at least 11 needed"),
        ({"data": {"train": "/nonexistent/store"}}, "--train /nonexistent/store: does not exist"),
        ({"train": {"selection": "oracle"}, "data": {"annotations": None}}, "give --annotations"),
    ],
)
def test_user_errors_are_one_line(stores, tiny, tmp_path, change, match):
    cfg = config(stores)
    for section, values in change.items():
        cfg[section] = {**cfg[section], **values}
    with pytest.raises(VadkitError, match=match) as exc:
        train_run(cfg, tiny, tmp_path / "x", echo=quiet)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "x").exists()


def test_test_videos_in_training_store_are_refused(stores, tiny, tmp_path):
    cfg = config(stores)
    cfg["data"]["test"] = cfg["data"]["train"]
    cfg["data"]["annotations"] = None
    with pytest.raises(VadkitError, match="both training and test videos"):
        train_run(cfg, tiny, tmp_path / "x", echo=quiet)


class TinyHooks(TinyModel):
    """The optional hooks: ``prepare`` sees the normal training videos, a per-epoch scheduler."""

    prepared: tuple | None = None

    def prepare(self, normal: np.ndarray) -> None:
        TinyHooks.prepared = normal.shape

    def make_scheduler(self, optimizer):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)


def test_epoch_schedule_scheduler_and_prepare(stores, tmp_path, monkeypatch):
    register_method("tiny_hooks", __name__, TinyConfig, TinyHooks, replace=True)
    try:
        cfg = config(stores, epochs=2, log_every=1, val_every=None)
        cfg["model"] = {"batch_per_class": 2}
        cfg["method"] = "tiny_hooks"
        metrics = train_run(cfg, get_method("tiny_hooks"), tmp_path / "h", echo=quiet)
    finally:
        unregister_method("tiny_hooks")
    # 12 normal training videos, 2 or 3 held out: 10 // 2 = 5 (or 9 // 2 = 4) steps an epoch
    cfg = read_config(tmp_path / "h")
    from vadkit.io.store import FeatureStore

    train = FeatureStore.open(cfg["data"]["train"])
    n_normal = 12 - sum(train.entry(v).label == 0 for v in cfg["run"]["split"]["val_ids"])
    e = n_normal // 2
    assert metrics["total_steps"] == 2 * e and TinyHooks.prepared == (n_normal, 32, 2, 16)
    log = [json.loads(x) for x in (tmp_path / "h" / "log.jsonl").read_text().splitlines()]
    lrs = {r["step"]: r["lr"] for r in log if "lr" in r}
    epochs = {r["step"]: r["epoch"] for r in log if "epoch" in r}
    assert [lrs[s] for s in (1, e, e + 1, 2 * e)] == [0.01, 0.01, 0.005, 0.005]
    assert epochs[e] == 1 and epochs[e + 1] == 2
    assert [r["step"] for r in log if "best" in r] == [e, 2 * e]  # validated once per epoch
    assert cfg["train"]["epochs"] == 2 and cfg["train"]["iterations"] is None
