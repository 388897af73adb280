"""The weakly-supervised protocol on a UCSD-layout dataset (``docs/benchmarks.md``).

UCSD-layout datasets have frame labels for the test videos only. The protocol turns them
into a weakly-supervised benchmark:

1. one FeatureStore holds every training and test video (``training-<id>``,
   ``testing-<id>``), extracted once with the backbone's defaults (2-D backbones: per-frame
   features mean-pooled over 16-frame snippets);
2. each of ``splits`` seeded splits moves part of the test videos into training with their
   *video* label only (abnormal if any frame is), stratified by that label; the UCSD
   training videos (all normal) always stay in training; the rest are the test set;
3. every method of the registry's ``weak`` kind is trained on each split with
   :func:`vadkit.train.train_run` (schedule fixed a priori, checkpoint selected on held-out
   *training* videos by video AUC, ties to the later step, never on test labels), then
   scores the test videos;
4. micro / macro frame AUC and frame AP per split, mean and standard deviation over splits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.bench.ucsd_layout import UCSDLayout, find_ucsd_layout
from vadkit.bench.weak_stats import summary_rows
from vadkit.errors import VadkitError

__all__ = [
    "DEFAULT_STEPS",
    "STEPS",
    "WeakBenchConfig",
    "WeakRow",
    "WeakSplit",
    "anm_window",
    "batch_per_class",
    "extract_store",
    "frame_scores",
    "make_splits",
    "run_weak_benchmark",
    "split_metrics",
    "split_store",
    "torch_threads",
    "train_split",
    "weak_markdown",
]

Log = Callable[[str], None]

#: ``train.min_delta`` of the runs: a validation AUC equal to the best so far is an
#: improvement, so among tied steps the later (longer-trained) one is kept
TIE_TO_LATER = -1e-9


#: optimisation steps per method at UCSD scale (about 20 training videos, 2 + 2 per step), read
#: off the mean validation-AUC learning curves over splits (``benchmarks/weak_curves.py``,
#: docs/benchmarks.md): the first step within 0.01 of the curve's top, rounded up to a multiple
#: of 100 with a margin. Any method not listed trains DEFAULT_STEPS.
STEPS: dict[str, int] = {
    "mil": 400,
    "rtfm": 500,
    "s3r": 200,
    "anm": 200,
    "tacnet": 200,
    "ur_dmu": 200,
}
DEFAULT_STEPS = 200


@dataclass(frozen=True)
class WeakBenchConfig:
    """Every choice of the protocol, fixed before looking at any test label."""

    backbone: str = "efficientnet_lite0"
    methods: tuple[str, ...] | None = None  # None: every method of kind "weak"
    splits: int = 10  # seeded random splits (seeds seed, seed + 1, ...)
    seed: int = 0
    train_fraction: float = 0.5  # share of each label's test videos moved into training
    iterations: int | None = None  # steps per run; None: the method's STEPS entry
    max_steps: int | None = None  # cap on the steps of every run (--quick: 100)
    val_every: int = 20  # steps between validations (checkpoint selection)
    val_fraction: float = 0.2  # training videos held out per label for the selection
    reference_presets: bool = True  # also a row per method preset "reference" (if it has one)
    baselines: bool = True  # chance and feature-magnitude rows (nothing trained)
    random_init: bool = False  # untrained backbone (tests only)
    train_threads: int = 1  # torch CPU threads while training (small models: 1 is fastest)
    jobs: int = 1  # runs trained at once, each in its own process (same numbers as 1)

    def steps(self, method: str) -> int:
        """Optimisation steps of ``method``'s runs."""
        steps = self.iterations or STEPS.get(method, DEFAULT_STEPS)
        return min(steps, self.max_steps) if self.max_steps else steps


@dataclass(frozen=True)
class WeakRow:
    """One row of the table: a method with a preset of its config (or a baseline)."""

    method: str
    preset: str = "default"
    kind: str = "weak"  # "weak" (trained) or "baseline"

    @property
    def name(self) -> str:
        return self.method if self.preset == "default" else f"{self.method} ({self.preset})"

    @property
    def folder(self) -> str:
        return self.method if self.preset == "default" else f"{self.method}-{self.preset}"


@dataclass(frozen=True)
class WeakSplit:
    """One split: training videos (store ids) with their video labels, and test videos."""

    seed: int
    train: dict[str, int]  # store id -> video label (0 normal, 1 abnormal)
    test: dict[str, int]


def _sid(side: str, name: str) -> str:
    return f"{side}-{name}"


def make_splits(layout: UCSDLayout, n_splits: int, seed: int, fraction: float) -> list[WeakSplit]:
    """``n_splits`` seeded splits, stratified by video label (abnormal if any frame is).

    Per label, ``round(fraction * n)`` of the test videos go into training; abnormal
    videos need at least 2 on the training side (one is held out for the selection) and 1
    on the test side, so at least 3 abnormal test videos; the test side must keep normal
    and abnormal frames. Anything else is a one-line error.
    """
    if n_splits < 1:
        raise VadkitError(f"--splits {n_splits}: need at least 1 split")
    if not 0 < fraction < 1:
        raise VadkitError(f"train_fraction {fraction}: must be in (0, 1)")
    video_label = {v: int(np.asarray(y).any()) for v, y in layout.labels.items()}
    by_label = {c: [v for v, y in video_label.items() if y == c] for c in (0, 1)}
    if len(by_label[1]) < 3:
        raise VadkitError(
            f"{layout.root}: {len(by_label[1])} test videos with anomalous frames; the weak "
            "protocol needs at least 3 (2 to train with validation, 1 to test)"
        )
    out = []
    for k in range(n_splits):
        rng = np.random.default_rng([seed, k])
        train: dict[str, int] = {_sid("training", v): 0 for v in layout.train}
        test: dict[str, int] = {}
        for c, ids in by_label.items():
            n_move = round(fraction * len(ids))
            if c == 1:
                n_move = min(len(ids) - 1, max(2, n_move))
            moved = set(rng.permutation(len(ids))[:n_move].tolist())
            for i, v in enumerate(ids):
                (train if i in moved else test)[_sid("testing", v)] = c
        frames = np.concatenate([layout.labels[v.split("-", 1)[1]] for v in test])
        if frames.all() or not frames.any():
            raise VadkitError(
                f"{layout.root}: split {k} leaves test frames of one class only; "
                "the frame AUC needs normal and anomalous test frames"
            )
        out.append(WeakSplit(seed=seed + k, train=train, test=test))
    return out


def batch_per_class(n_normal: int, n_abnormal: int) -> int:
    """``n`` of the ``n + n`` batches: half the smaller class of fitted videos (>= 1), so an
    epoch has at least two different batches; published sizes (32) exceed small datasets."""
    return max(1, min(n_normal, n_abnormal) // 2)


def anm_window(shortest: int) -> int:
    """The ``anm`` test window (snippets) for videos of at least ``shortest`` snippets.

    The salient-feature classifier gives one score per window, so a video shorter than the
    published window (28 snippets: 15 s of UCF-Crime, 16 frames at 30 fps) gets one constant
    score. The window is the published one capped at half the shortest video, so every
    video has at least two windows (Ped2, 16-frame snippets: 8 -> 4).
    """
    return max(1, min(28, shortest // 2))


def _model_values(method: Any, dim: int, crops: int, shortest: int | None = None) -> dict[str, Any]:
    """Model fields scaled to the store's feature size, as the configs do for 1024-d, and
    adapted to the data where the published value assumes UCF-Crime (see the docs):
    ``anm`` window and stride from the shortest video (:func:`anm_window`), ``mil`` input
    L2-normalised per segment as the reference's C3D features are, ``ur_dmu`` pooled to 32
    segments (not UCF-Crime's 200) as its ShanghaiTech config does."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(method.config_cls)}
    want = {
        "feature_dim": dim,
        "n_crops": crops,
        "conv_channels": dim // 4,  # RTFM: 4 x conv_channels = feature_dim
        "trunk_channels": dim // 4,  # S3R: same rule
        "nonlocal_channels": dim // 8,
        "attention_dim": dim // 4,
        "gate_hidden": dim // 16,
    }
    if "trunk_channels" in fields:  # S3R's classifier head, dim // 4 and dim // 16
        want.update(hidden1=dim // 4, hidden2=dim // 16)
    if method.name == "anm" and shortest is not None:
        want.update(window=anm_window(shortest), stride=anm_window(shortest))
    if method.name == "mil":
        want.update(l2_normalize=True)
    if method.name == "ur_dmu":  # 200 segments are for UCF-Crime's long videos; short videos
        want.update(n_segments=32)  # use 32, as configs/ur_dmu/shanghaitech.yaml does
    return {k: v for k, v in want.items() if k in fields}


def extract_store(layout: UCSDLayout, config: WeakBenchConfig, path: Path, log: Log) -> Any:
    """Extract (or resume / reuse) the store with every video of the dataset."""
    from vadkit.extract.engine import extract
    from vadkit.io.inputs import InputItem

    items = [InputItem(_sid("training", v), p) for v, p in layout.train.items()]
    items += [InputItem(_sid("testing", v), p) for v, p in layout.test.items()]
    t = time.perf_counter()
    res = extract(items, path, config.backbone, random_init=config.random_init, progress=False)
    if res.failed:
        raise VadkitError(f"extraction failed for {res.failed[0][0]}: {res.failed[0][1]}")
    store = res.store
    missing = [i.id for i in items if i.id not in store]
    if missing:
        raise VadkitError(f"store {path} lacks {len(missing)} videos (e.g. {missing[0]!r})")
    log(f"store {path}: {len(items)} videos ({time.perf_counter() - t:.0f} s)")
    return store


def split_store(store: Any, ids: dict[str, int], path: Path) -> Path:
    """A store of ``ids`` (symlinks into ``store``) with the split's video labels."""
    from vadkit.io.store_writer import StoreImport

    with StoreImport(path, store.info, list(ids), overwrite=True) as imp:
        for vid, label in ids.items():
            e = store.entry(vid)
            imp.add_link(vid, store.file(vid), label=label, n_frames=e.n_frames)
        imp.commit(order=list(ids))
    return path


def frame_scores(scores: dict[str, np.ndarray], store: Any) -> dict[str, np.ndarray]:
    """Per-snippet ``scores`` of videos of ``store`` as per-frame scores (each video's length,
    the store's snippet length and stride, the ``exact`` convention)."""
    from vadkit.evaluate.expand import expand_snippets

    info = store.info
    length, stride = info.snippet_length or 16, info.stride or info.snippet_length or 16
    out = {}
    for vid, s in scores.items():
        n = store.entry(vid).n_frames
        out[vid] = expand_snippets(np.asarray(s), length, stride, n_frames=n, convention="exact")
    return out


def split_metrics(layout: UCSDLayout, frame: dict[str, np.ndarray]) -> dict[str, Any]:
    """Micro / macro frame AUC and frame AP of per-frame scores of a split's test videos
    (``testing-<id>``) against the frame labels of ``layout``."""
    from vadkit.evaluate.metrics import (
        average_precision,
        concat_videos,
        frame_auc_macro,
        frame_auc_micro,
        per_video_auc,
    )

    labels = {v: layout.labels[v.split("-", 1)[1]] for v in frame}
    y, s = concat_videos(labels, frame)
    per = per_video_auc(labels, frame)
    return {
        "micro_auc": frame_auc_micro(labels, frame),
        "macro_auc": frame_auc_macro(labels, frame) if per else None,
        "macro_videos": len(per),
        "ap": average_precision(y, s),
    }


def train_split(
    layout: UCSDLayout,
    method: Any,
    store: Any,
    split: WeakSplit,
    config: WeakBenchConfig,
    run: Path,
    log: Log,
    preset: str = "default",
) -> dict[str, Any]:
    """Train ``method`` (with config ``preset``) on one split of ``store`` into ``run`` and
    score the split's test videos (the per-split step of the weak benchmark, shared by the
    supervision benchmark)."""
    from vadkit.io.store import FeatureStore
    from vadkit.io.views import select, train_val_split
    from vadkit.train import read_scores, train_run

    shortest = min(int(store.entry(v).T) for v in store.ids)
    train_path = split_store(store, split.train, run / "train-store")
    test_path = split_store(store, split.test, run / "test-store")

    train_store = FeatureStore.open(train_path)
    fraction = config.val_fraction
    while True:  # the smallest share >= val_fraction whose held-out videos hold both labels
        fit, val, _ = train_val_split(
            select(train_store), fraction=fraction, seed=split.seed, stratify="label"
        )
        if len(set(np.asarray(val.labels).tolist())) == 2 or fraction >= 0.5:
            break
        fraction = round(fraction + 0.05, 2)
    fit_labels = np.asarray(fit.labels)
    n = batch_per_class(int((fit_labels == 0).sum()), int((fit_labels == 1).sum()))
    steps = config.steps(method.name)
    cfg = {
        "method": method.name,
        "preset": preset,
        "model": _model_values(method, store.info.dim, store.info.crops, shortest),
        "train": {
            "seed": split.seed,
            "iterations": steps,
            "val_every": config.val_every,
            "batch_per_class": n,
            "selection": "validation",
            "val_fraction": fraction,
            # ties go to the later step: a few held-out videos give few distinct AUC values,
            # and "first best" kept the model after 20 of 200 steps in 11 of 15 Ped2 runs
            "min_delta": TIE_TO_LATER,
        },
        "data": {"train": str(train_path), "test": str(test_path)},
    }
    t = time.perf_counter()
    train_run(cfg, method, run / "run", overwrite=True, where=f"{method.name} split", echo=log)
    test_store = FeatureStore.open(test_path)
    res = split_metrics(layout, frame_scores(read_scores(run / "run"), test_store))
    res.update(batch_per_class=n, val_fraction=fraction, train_s=time.perf_counter() - t)
    res.update(steps=steps, val_curve=_val_curve(run / "run" / "log.jsonl"))
    return res


def _val_curve(log_file: Path) -> list[list[float]]:
    """``[step, validation AUC]`` pairs of a run's ``log.jsonl`` (its learning curve; pairs,
    not a mapping, so that results.json and the returned dict hold the same thing)."""
    import json

    curve = []
    for line in log_file.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "val" in rec and rec["val"] is not None:
            curve.append([int(rec["step"]), float(rec["val"])])
    return curve


def _baseline_split(layout: UCSDLayout, store: Any, split: WeakSplit, kind: str) -> dict[str, Any]:
    """A training-free row on one split's test videos (seeded by the split for ``chance``)."""
    from vadkit.bench.weak_stats import baseline_scores

    rng = np.random.default_rng([split.seed, 7])
    scores = {v: baseline_scores(kind, store.load(v), rng) for v in split.test}
    res = split_metrics(layout, frame_scores(scores, store))
    res.update(steps=0, train_s=0.0)
    return res


def _rows(names: list[str], config: WeakBenchConfig) -> list[WeakRow]:
    """The table's rows: each method's default, its ``reference`` preset (when it has one and
    ``config.reference_presets``), then the training-free baselines."""
    from vadkit.bench.weak_stats import BASELINES
    from vadkit.methods.registry import get_method
    from vadkit.presets import preset_names

    rows = []
    for name in names:
        rows.append(WeakRow(name))
        if config.reference_presets and "reference" in preset_names(get_method(name).config_cls):
            rows.append(WeakRow(name, "reference"))
    if config.baselines:
        rows += [WeakRow(b, kind="baseline") for b in BASELINES]
    return rows


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """``torch.set_num_threads(n)`` inside the block, the previous value after it.

    The weak models are small: on a shared CPU one thread per process is much faster than
    two that wait on each other (MIL step at 1280-d, load 8 on 2 cores: 0.11 s vs 1.1 s).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _load_average() -> list[float] | None:
    try:
        return [round(x, 1) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        return None


def _train_task(
    data: str, store_path: str, split: WeakSplit, row: WeakRow, config: WeakBenchConfig, run: str
) -> dict[str, Any]:
    """One run in a worker process (everything passed by value or path)."""
    from vadkit.io.store import FeatureStore
    from vadkit.methods.registry import get_method

    layout, store = find_ucsd_layout(data), FeatureStore.open(store_path)
    with torch_threads(config.train_threads):
        return train_split(
            layout, get_method(row.method), store, split, config, Path(run), lambda m: None,
            row.preset,
        )  # fmt: skip


def _train_all(
    tasks: list[tuple[int, WeakRow]],
    layout: UCSDLayout,
    store: Any,
    splits: list[WeakSplit],
    config: WeakBenchConfig,
    out: Path,
    log: Log,
) -> Iterator[tuple[int, WeakRow, dict[str, Any]]]:
    """Train every (split, row) task, in this process or in ``config.jobs`` spawned ones.

    Each run is seeded by its split and trains with ``train_threads`` threads either way, so
    the numbers do not depend on ``jobs``; only the order of the log lines does.
    """
    from vadkit.methods.registry import get_method

    if config.jobs == 1:
        with torch_threads(config.train_threads):
            for k, row in tasks:
                run = out / f"split{k}" / row.folder
                method = get_method(row.method)
                yield (
                    k,
                    row,
                    train_split(layout, method, store, splits[k], config, run, log, row.preset),
                )
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from vadkit.user_warnings import one_line_warnings

    log(f"training {len(tasks)} runs in {config.jobs} processes")
    ctx = mp.get_context("spawn")  # no fork of a process that holds torch threads
    with ProcessPoolExecutor(
        max_workers=config.jobs, mp_context=ctx, initializer=one_line_warnings
    ) as pool:
        futures = {
            pool.submit(
                _train_task, str(layout.root), str(store.path), splits[k], row, config,
                str(out / f"split{k}" / row.folder),
            ): (k, row)
            for k, row in tasks
        }  # fmt: skip
        for fut in as_completed(futures):
            k, row = futures[fut]
            yield k, row, fut.result()


def run_weak_benchmark(
    data: str | Path,
    out: str | Path,
    config: WeakBenchConfig | None = None,
    store: str | Path | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Run the protocol on the dataset at ``data``; write ``out/results.json``.

    Returns
    -------
    dict : the results (per method and split: micro / macro frame AUC and AP; their mean
        and standard deviation over splits; splits, config, timings).
    """
    from vadkit.io.atomic import atomic_write_json
    from vadkit.methods.registry import list_methods

    config = config or WeakBenchConfig()
    out = Path(out)
    t0 = time.perf_counter()
    layout = find_ucsd_layout(data)
    weak = list_methods("weak")
    names = list(config.methods) if config.methods else weak
    unknown = [m for m in names if m not in weak]
    if unknown:
        raise VadkitError(f"--methods: {unknown[0]!r} is not a weak method ({', '.join(weak)})")
    for option, n in (("--train-threads", config.train_threads), ("--jobs", config.jobs)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:  # before any extraction
            raise VadkitError(f"{option} {n!r}: must be an integer >= 1")
    splits = make_splits(layout, config.splits, config.seed, config.train_fraction)
    st = extract_store(layout, config, Path(store) if store else out / "store", log)
    t_store = time.perf_counter() - t0
    table = _rows(names, config)
    per: dict[str, list[dict[str, Any]]] = {r.name: [{}] * len(splits) for r in table}
    for k, split in enumerate(splits):
        n_abn = sum(split.train.values())
        log(
            f"split {k} (seed {split.seed}): {len(split.train)} training videos "
            f"({n_abn} abnormal), {len(split.test)} test videos"
        )
        for row in table:
            if row.kind == "baseline":
                per[row.name][k] = _baseline_split(layout, st, split, row.method)
    tasks = [(k, row) for k in range(len(splits)) for row in table if row.kind != "baseline"]
    for k, row, res in _train_all(tasks, layout, st, splits, config, out, log):
        per[row.name][k] = res
        log(f"  split {k} {row.name}: micro AUC {res['micro_auc']:.3f}, AP {res['ap']:.3f}")
    rows = summary_rows(table, per)
    doc = {
        "dataset": str(layout.root),
        "ground_truth": str(layout.gt_file),
        "store": str(st.path),
        "n_train": len(layout.train),
        "n_test": len(layout.test),
        "n_abnormal_test_videos": int(sum(int(y.any()) for y in layout.labels.values())),
        "config": asdict(config),
        "splits": [asdict(s) for s in splits],
        "rows": rows,
        "timings_s": {
            "store": t_store,
            "train": time.perf_counter() - t0 - t_store,
            "total": time.perf_counter() - t0,
        },
        "load_average": _load_average(),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "results.json", doc)
    return doc


def weak_markdown(doc: dict[str, Any]) -> str:
    """The comparison table of a results dict, as Markdown (:mod:`vadkit.bench.weak_table`)."""
    from vadkit.bench.weak_table import weak_markdown as markdown

    return markdown(doc)
