"""The demo pipeline, every stage from the library: no data, no network.

``OUT/data`` (``vadkit synth --scene walkers``), ``OUT/store`` (EfficientNet-Lite0 features),
``OUT/runs/scene`` (the motion + appearance scene detector fitted on the normal training videos,
its settings chosen on held-out normal videos with synthetic anomalies, as ``vadkit fit-scene``),
``OUT/runs/mil`` (MIL trained with video labels, checkpoint selected on held-out training
videos), ``OUT/report.html``. ``OUT/demo.json`` is written last: without it the outputs are
partial (an interrupted run); running again resumes the extraction and redoes the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoConfig", "run_demo"]

# configs/mil/demo.yaml holds the same values (a test checks it), for `vadkit train`
MIL_MODEL = {
    "feature_dim": 1280,
    "hidden1": 512,
    "hidden2": 32,
    "dropout": 0.6,
    "n_segments": 4,
    "optimizer": "adagrad",
    "lr": 0.01,
    "videos_per_class": 4,
    "iterations": 300,
}
MIL_TRAIN = {"selection": "validation", "val_fraction": 0.25, "val_every": 50}
SCENE_SELECTION = "label-free (synthetic anomalies on held-out normal videos)"


@dataclass(frozen=True)
class DemoConfig:
    n_train: int = 16  # normal training videos
    n_abnormal_train: int = 8  # abnormal training videos (video label only)
    n_test: int = 8  # half anomalous
    n_frames: int = 64  # 4 snippets of 16 frames
    seed: int = 0


def _bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, dynamic_ncols=True, leave=True)


def _fit_scene(
    store_dir: Path, data: Path, out: Path, step: Callable[[str], None] = lambda _: None
) -> None:
    """``vadkit fit-scene`` on the normal training videos, then the test videos scored per
    frame and evaluated against the annotations like any run."""
    import csv

    from vadkit.deploy.scene_run import fit_scene_run
    from vadkit.io.atomic import atomic_write, atomic_write_json, atomic_write_text
    from vadkit.methods.oneclass.scene import SceneDetector
    from vadkit.train.rundir import evaluate_run, read_config, read_metrics

    with (data / "videos.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    train = {r["id"]: data / r["path"] for r in rows if r["split"] == "train" and r["label"] == "0"}
    test = {r["id"]: data / r["path"] for r in rows if r["split"] == "test"}
    fit_scene_run(train, out, overwrite=True, log=step)  # flow, appearance, synthetic: 3 steps
    scores = SceneDetector.load(out / "scene.npz").score_videos(test)
    step("scored")
    arrays = {k: np.asarray(s, np.float32) for k, s in scores.items()}
    atomic_write(out / "scores.npz", lambda fh: np.savez(fh, **arrays))
    import yaml

    config = read_config(out)
    config.update(dataset="csv", data=_data(store_dir, data))
    config["train"] = {"selection": SCENE_SELECTION, "fitted_on": "normal training videos"}
    atomic_write_text(out / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    metrics = read_metrics(out)
    metrics.update(dataset="csv", selection=SCENE_SELECTION, test=evaluate_run(out))
    atomic_write_json(out / "metrics.json", metrics)


def _data(store_dir: Path, data: Path) -> dict[str, Any]:
    return {
        "train": str(store_dir.absolute()),
        "test": str(store_dir.absolute()),
        "train_split": "train",
        "test_split": "test",
        "annotations": str((data / "annotations.csv").absolute()),
        "convention": "exact",
    }


def run_demo(
    out: str | Path = "demo",
    config: DemoConfig | None = None,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every stage into ``out``; returns the headline (report path, AUCs, selection, times)."""
    from vadkit.datasets.synthetic import make_synthetic_dataset
    from vadkit.extract.engine import extract
    from vadkit.io.atomic import atomic_write_json
    from vadkit.methods.registry import get_method
    from vadkit.report import write_report
    from vadkit.train.rundir import read_metrics
    from vadkit.train.runner import train_run

    c = config or DemoConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo.json").unlink(missing_ok=True)  # present only when every stage finished
    data, store, runs = out / "data", out / "store", out / "runs"
    times: dict[str, float] = {}

    t0 = time.perf_counter()
    if not (data / "videos.csv").is_file():
        n = c.n_train + c.n_abnormal_train + c.n_test
        with _bar(n, "videos", progress) as bar:
            make_synthetic_dataset(
                data, c.n_train, c.n_test, c.n_frames, seed=c.seed, scene="walkers",
                n_abnormal_train=c.n_abnormal_train, on_video=lambda _: bar.update(),
            )  # fmt: skip
    times["synth"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    extract(data / "videos.csv", store, "efficientnet_lite0", progress=progress)
    times["extract"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with _bar(4, "scene", progress) as bar:  # flow, appearance maps, synthetic anomalies, test
        _fit_scene(store, data, runs / "scene", lambda _: bar.update())
    times["scene"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cfg = {"method": "mil", "dataset": "csv", "model": dict(MIL_MODEL),
           "train": {**MIL_TRAIN, "seed": c.seed}, "data": _data(store, data)}  # fmt: skip
    steps = MIL_MODEL["iterations"] // MIL_TRAIN["val_every"]
    with _bar(steps, "mil", progress) as bar:

        def on_line(line: str) -> None:
            if line.startswith("step"):
                bar.update()

        train_run(cfg, get_method("mil"), runs / "mil", overwrite=True, echo=on_line)
    times["mil"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = write_report([runs / "scene", runs / "mil"], out / "report.html", title="vadkit demo")
    times["report"] = time.perf_counter() - t0

    headline: dict[str, Any] = {"report": str(report), "times": times, "runs": {}}
    for name in ("scene", "mil"):
        m = read_metrics(runs / name)
        t = m.get("test") or {}
        headline["runs"][name] = {
            "frame_auc": t.get("frame_auc"),
            "video_auc": t.get("video_auc"),
            "selection": m.get("selection"),
        }
    atomic_write_json(out / "demo.json", headline)
    return headline
