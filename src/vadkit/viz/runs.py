"""Per-video frame scores (and labels, fps, source) read from a run or benchmark directory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["VideoFrames", "load_run_frames", "run_kind"]


@dataclass
class VideoFrames:
    """One video as the figures draw it: everything per frame."""

    scores: np.ndarray
    labels: np.ndarray | None = None
    fps: float | None = None
    source: str | None = None
    attention: np.ndarray | None = None


def run_kind(path: str | Path) -> str:
    """``"run"`` (a training run directory), ``"ucsd"`` (``benchmark ucsd`` output: per-frame
    scores), ``"seeds"`` (``benchmark weak|supervision``: results.json with per-seed runs),
    ``"holdout"`` (``vadkit holdout`` output)."""
    p = Path(path)
    if not p.is_dir():
        raise VadkitError(f"run directory not found: {p}")
    if (p / "config.yaml").is_file() and (p / "scores.npz").is_file():
        return "run"
    if (p / "clips.csv").is_file():
        return "holdout"
    if (p / "results.json").is_file():
        return "ucsd" if (p / "scores.npz").is_file() else "seeds"
    raise VadkitError(
        f"{p}: neither a run directory (config.yaml + scores.npz) nor a benchmark or holdout "
        "output (results.json / clips.csv)"
    )


def _pick_source(vid: str, recorded: str | None, sources: Any) -> str | None:
    if isinstance(sources, Mapping):
        got = sources.get(vid)
        return None if got is None else str(got)
    if sources is not None:  # a folder holding the videos (file or frame folder per id)
        root = Path(sources)
        hits = sorted(root.glob(f"{vid}.*")) + ([root / vid] if (root / vid).is_dir() else [])
        if hits:
            return str(hits[0])
        if recorded:
            return str(root / Path(recorded).name)
        return None
    return recorded


def _from_training_run(path: Path) -> dict[str, VideoFrames]:
    from vadkit.evaluate.expand import expand_snippets
    from vadkit.evaluate.run import frame_data
    from vadkit.train.config import DataConfig, dataclass_from_dict
    from vadkit.train.data import open_store
    from vadkit.train.rundir import read_config, read_scores
    from vadkit.train.scoring import load_ground_truth

    cfg = read_config(path)
    dc = dataclass_from_dict(DataConfig, dict(cfg.get("data") or {}), f"{path}/config.yaml data")
    scores = {k: np.asarray(v, np.float64) for k, v in read_scores(path).items()}
    store = open_store(dc.test, "test") if dc.test and Path(dc.test).is_dir() else None
    gt = None
    if dc.annotations and Path(dc.annotations).exists():
        gt = load_ground_truth(dc, cfg.get("dataset"))
    if gt is not None:
        known = {v: s for v, s in scores.items() if v in gt}
        data = frame_data(known, gt, store=store, convention=dc.convention, allow_subset=True)
        frames = {v: (data.scores[v], data.labels[v]) for v in data.order}
    else:
        frames = {}
        length = (store.info.snippet_length if store is not None else None) or 16
        for v, s in scores.items():
            e = store.entry(v) if store is not None and v in store else None
            n = e.n_frames if e is not None else None
            conv = "exact" if n else "x16"
            stride = store.info.stride if store is not None else None
            frames[v] = (expand_snippets(s, length, stride, n, conv), None)
    out = {}
    for v, (s, y) in frames.items():
        e = store.entry(v) if store is not None and v in store else None
        fps = e.fps if e is not None else None
        out[v] = VideoFrames(s, None if y is None else np.asarray(y, np.int8), fps,
                             e.source if e is not None else None)  # fmt: skip
    return out


def _ucsd_labels(folder: Path, n: int, cache: dict) -> np.ndarray | None:
    """Frame labels of a UCSD test frame folder (``ROOT/testing/frames/NN``) from the ground
    truth file of its dataset root (``ped2.mat`` / ``UCSDped2.m``), when it is there."""
    from vadkit.datasets.annotations import read_ucsd_ped2

    frames_root = folder.parent
    data = frames_root.parent.parent
    if frames_root.name != "frames" or frames_root.parent.name != "testing":
        return None
    if data not in cache:
        files = [d / f for d in (data, data / "testing") for f in ("ped2.mat", "UCSDped2.m")]
        gt_file = next((f for f in files if f.is_file()), None)
        try:
            cache[data] = read_ucsd_ped2(gt_file, frames_root=frames_root) if gt_file else None
        except VadkitError:
            cache[data] = None
    gt = cache[data]
    if gt is None or folder.name not in gt or gt.true_length(folder.name) != n:
        return None
    return np.asarray(gt.labels_for(folder.name), np.int8)


def _fill_from_benchmark(path: Path, out: dict[str, VideoFrames]) -> None:
    """A run of ``benchmark weak|supervision`` (``OUT/splitK/METHOD/run``) records neither
    annotations nor sources: take the sources from the benchmark's store (``OUT/store``) and
    UCSD labels from the dataset beside them."""
    from vadkit.io.store import FeatureStore

    store_dir = path.parent.parent.parent / "store"
    if any(vf.source is None for vf in out.values()) and (store_dir / "manifest.json").is_file():
        store = FeatureStore.open(store_dir)
        for v, vf in out.items():
            if vf.source is None and v in store:
                vf.source = store.entry(v).source
    cache: dict = {}
    for vf in out.values():
        if vf.labels is None and vf.source and Path(vf.source).is_dir():
            vf.labels = _ucsd_labels(Path(vf.source), len(vf.scores), cache)


def _from_ucsd_benchmark(path: Path) -> dict[str, VideoFrames]:
    """``benchmark ucsd`` output: per-frame scores of the headline row; frames and ground
    truth from the dataset folder recorded in results.json (when it is still there)."""
    from vadkit.datasets.annotations import read_ucsd_ped2

    doc = json.loads((path / "results.json").read_text(encoding="utf-8"))
    with np.load(path / "scores.npz", allow_pickle=False) as z:
        scores = {k: np.asarray(z[k], np.float64) for k in z.files}
    frames_root = Path(doc.get("dataset", "")) / "testing" / "frames"
    gt_file = doc.get("ground_truth")
    labels: dict[str, np.ndarray] = {}
    if gt_file and Path(gt_file).is_file() and frames_root.is_dir():
        gt = read_ucsd_ped2(gt_file, frames_root=frames_root)
        by_number = {int(k): k for k in gt.ids if k.isdigit()}
        for v, s in scores.items():
            key = v if v in gt else by_number.get(int("".join(c for c in v if c.isdigit()) or -1))
            if key is not None and gt.true_length(key) == len(s):
                labels[v] = np.asarray(gt.labels_for(key), np.int8)
    out = {}
    for v, s in scores.items():
        folder = frames_root / v
        src = str(folder.resolve()) if folder.is_dir() else None
        out[v] = VideoFrames(s, labels.get(v), None, src)
    return out


def load_run_frames(
    path: str | Path,
    *,
    labels: Mapping[str, np.ndarray] | None = None,
    sources: Mapping[str, str | Path] | str | Path | None = None,
) -> dict[str, VideoFrames]:
    """Every test video of a run directory or a ``benchmark ucsd`` output, per frame.

    A training run's snippet scores are expanded to frames and paired with the ground truth
    its config names (``vadkit.evaluate.run.frame_data``, the run's convention); fps and the
    source video come from the test store's manifest. ``labels`` (video id -> per-frame 0/1)
    replaces the recorded ground truth; ``sources`` (id -> path, or a folder holding the
    videos) replaces the recorded sources (e.g. the videos moved).
    """
    p = Path(path)
    kind = run_kind(p)
    if kind == "run":
        out = _from_training_run(p)
        _fill_from_benchmark(p, out)
    elif kind == "ucsd":
        out = _from_ucsd_benchmark(p)
    else:
        hint = "OUT/split0/<method>/run" if kind == "seeds" else "a run directory"
        raise VadkitError(
            f"{p} is a {kind} output with no per-video scores of its own; give {hint}"
        )
    for v, vf in out.items():
        if labels is not None and v in labels:
            y = np.asarray(labels[v]).ravel()
            if len(y) != len(vf.scores):
                raise VadkitError(f"labels of video {v!r}: {len(y)} frames, scores have "
                                  f"{len(vf.scores)}")  # fmt: skip
            vf.labels = y.astype(np.int8)
        vf.source = _pick_source(v, vf.source, sources)
    return out
