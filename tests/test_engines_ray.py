"""``vadkit extract --engine ray`` and ``vadkit sweep --engine ray`` on a local Ray cluster.

Expected values come from the local engine and from ``vadkit train`` run one by one: the Ray
paths must give the same bytes. Skipped when Ray is missing, except in CI (CI=true) where
they must run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers_media import write_video
from train_helpers import make_stores

from vadkit.cli.main import main
from vadkit.errors import VadkitError
from vadkit.extract.engine import extract
from vadkit.io.check import check_store
from vadkit.io.inputs import InputItem
from vadkit.io.store import FeatureStore
from vadkit.train.config import load_yaml

try:
    import ray
except ImportError:
    ray = None

needs_ray = pytest.mark.skipif(
    ray is None and os.environ.get("CI") != "true",
    reason='ray is not installed: pip install "vadkit[distributed]"',
)
KW = {"random_init": True, "progress": False}  # random init is seeded: reproducible
BACKBONE = "efficientnet_lite0"


@pytest.fixture(scope="module")
def cluster():
    """Ray on 127.0.0.1 with 2 CPUs; workers import this checkout's vadkit."""
    import vadkit

    src = str(Path(vadkit.__file__).resolve().parents[1])
    tests = str(Path(__file__).resolve().parent)
    path = os.pathsep.join([src, tests, os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", runtime_env={"env_vars": {"PYTHONPATH": path}})  # fmt: skip
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """Two tiny videos (8 and 10 frames) and a corrupt file among them."""
    root = tmp_path_factory.mktemp("videos")
    write_video(root / "a.mp4", 8)
    write_video(root / "c.mp4", 10)
    (root / "b_broken.mp4").write_bytes(b"\x00\x01garbage" * 100)
    return root


@pytest.fixture(scope="module")
def local_store(videos, tmp_path_factory) -> FeatureStore:
    out = tmp_path_factory.mktemp("local") / "s"
    return extract(videos, out, BACKBONE, **KW).store


def _manifest(path: Path) -> dict:
    return json.loads((Path(path) / "manifest.json").read_text())


def _assert_same_store(store: FeatureStore, expected: FeatureStore) -> None:
    assert store.ids == expected.ids == ["a", "c"]
    for vid in expected.ids:
        assert np.array_equal(np.asarray(store.load(vid)), np.asarray(expected.load(vid)))
    assert _manifest(store.path) == _manifest(expected.path)
    assert check_store(store.path) == []


def test_missing_ray_is_one_line_error_naming_the_extra(monkeypatch):
    from vadkit.engines.ray_connect import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(VadkitError, match=r'pip install "vadkit\[distributed\]"') as info:
        import_ray()
    assert "\n" not in str(info.value)


@needs_ray
def test_ray_store_equals_local_store_and_corrupt_video_is_reported(
    cluster, videos, local_store, tmp_path, capsys
):
    out = tmp_path / "ray"
    code = main(["extract", "-b", BACKBONE, "--random-init", "-i", str(videos), "-o", str(out),
                 "--engine", "ray", "-q"])  # fmt: skip
    assert code == 3  # one video failed
    captured = capsys.readouterr()
    assert "failed: b_broken" in captured.err and str(videos / "b_broken.mp4") in captured.err
    assert "peak RSS decode" in captured.out and "peak RSS encode" in captured.out
    failed = json.loads((out / "failed.json").read_text())
    assert [f["id"] for f in failed] == ["b_broken"]
    assert failed == json.loads((local_store.path / "failed.json").read_text())
    _assert_same_store(FeatureStore.open(out), local_store)


@needs_ray
def test_ray_resume_after_a_killed_run_gives_the_clean_store(
    cluster, videos, local_store, tmp_path
):
    from vadkit.engines.ray_engine import extract_ray

    items = [InputItem("a", videos / "a.mp4"), InputItem("c", videos / "c.mp4")]

    class Killed(Exception):
        pass

    def kill(vid: str, status: str) -> None:
        if vid == "a":
            raise Killed

    with pytest.raises(Killed):
        extract_ray(items, tmp_path / "s", BACKBONE, on_video=kill, **KW)
    assert not (tmp_path / "s" / "manifest.json").exists()
    assert not any((tmp_path / "s" / ".claims").iterdir())  # claims released
    res = extract_ray(items, tmp_path / "s", BACKBONE, **KW)
    assert res.skipped == ["a"] and res.done == ["c"] and res.ok
    assert res.peak_rss_mib and all(v > 0 for v in res.peak_rss_mib.values())
    _assert_same_store(res.store, local_store)
    again = extract_ray(items, tmp_path / "s", BACKBONE, **KW)  # nothing left: no model built
    assert again.skipped == ["a", "c"] and again.done == []


@needs_ray
def test_ray_sweep_equals_its_runs_one_by_one(cluster, tmp_path, capsys):
    from vadkit.engines.sweep import sweep

    stores = make_stores(tmp_path / "gen", n_train=12, n_test=4)
    cfg_file = tmp_path / "mil.yaml"
    cfg_file.write_text(
        "method: mil\ndataset: csv\nmodel:\n  feature_dim: 16\n  hidden1: 8\n  hidden2: 4\n"
        "  videos_per_class: 4\n  iterations: 10\ntrain:\n  val_every: 5\n"
    )
    data = ["--train", str(stores["train"]), "--test", str(stores["test"]),
            "--annotations", str(stores["gt"])]  # fmt: skip
    code = main(["sweep", "--config", str(cfg_file), *data, "--seeds", "2",
                 "--set", "model.lr=0.01,-1", "--engine", "ray", "-o", str(tmp_path / "sw")])  # fmt: skip
    assert code == 3  # lr=-1 is refused: that run fails, the others go on
    out = capsys.readouterr().out
    assert "failed: " in out and "lr must be > 0" in out
    summary = json.loads((tmp_path / "sw" / "summary.json").read_text())
    rows = {r["config"]: r for r in summary["configs"]}
    assert rows["model.lr=-1"]["n"] == 0 and rows["model.lr=-1"]["failed_seeds"] == [0, 1]
    assert (tmp_path / "sw" / "seeds.png").stat().st_size > 1000
    values = []
    for seed in (0, 1):  # the same runs by `vadkit train`, one after another
        one = tmp_path / f"one{seed}"
        assert main(["train", "--config", str(cfg_file), *data, "--set", "model.lr=0.01",
                     "--seed", str(seed), "-o", str(one)]) == 0  # fmt: skip
        run = tmp_path / "sw" / "model.lr=0.01" / f"seed{seed}"
        a, b = np.load(one / "scores.npz"), np.load(run / "scores.npz")
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key])
        metrics = json.loads((one / "metrics.json").read_text())
        assert json.loads((run / "metrics.json").read_text())["test"] == metrics["test"]
        values.append(metrics["test"]["frame_auc"])
    row = rows["model.lr=0.01"]
    assert row["values"] == values and row["seeds"] == [0, 1]
    assert row["mean"] == pytest.approx((values[0] + values[1]) / 2)
    assert row["std"] == pytest.approx(abs(values[0] - values[1]) / 2)  # population std of 2
    # the local engine (one run after another) writes the same summary
    cfg = load_yaml(cfg_file)
    cfg["data"] = {"train": str(stores["train"]), "test": str(stores["test"]),
                   "annotations": str(stores["gt"])}  # fmt: skip
    local = sweep(cfg, 2, tmp_path / "swl", grid={"model.lr": ["0.01"]}, echo=lambda s: None)
    assert local.values() == {"model.lr=0.01": values}
