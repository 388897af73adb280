"""One table of supervision levels on a UCSD-layout dataset (``docs/benchmarks.md``).

The same seeded splits (:func:`vadkit.bench.weak.make_splits`) and the same FeatureStore of
every video (the weak benchmark's, ``--store`` to reuse one) serve every row; the test side of
each split is the same for every row:

- **one-class** (``knn`` of the registry, ...): fitted on the split's *normal* training videos
  only (snippet features, crops averaged); no abnormal video is seen;
- **weakly supervised** (every ``weak`` method): the moved test videos train with their video
  label, through the weak benchmark's own per-run function, so both protocols train alike;
- **fully supervised** (``aed_t``): the moved test videos train with their *frame* labels,
  through :func:`vadkit.train.train_run` (selection: frame AUC of held-out training videos).

Each row: micro / macro frame AUC per split, their mean and sample standard deviation, and
the labelling cost: labelled videos (video labels a level needs) and labelled frames (frames
annotated one by one: only full supervision needs them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = ["SupervisionBenchConfig", "run_supervision_benchmark", "supervision_markdown"]

Log = Callable[[str], None]
LEVELS = ("one-class", "weak", "full")


@dataclass(frozen=True)
class SupervisionBenchConfig:
    """Every choice of the protocol, fixed before looking at any test label."""

    backbone: str = "efficientnet_lite0"
    splits: int = 3  # seeded random splits (seeds seed, seed + 1, ...)
    seed: int = 0
    train_fraction: float = 0.5  # share of each label's test videos moved into training
    one_class: tuple[str, ...] = ("knn",)  # one-class scorers of the registry
    weak: tuple[str, ...] | None = None  # None: every method of kind "weak"
    full: tuple[str, ...] = ("aed_t",)  # fully-supervised methods
    iterations: int = 200  # weak methods: steps per run (the weak benchmark's default)
    val_every: int = 20  # weak methods: steps between validations
    full_iterations: int = 200  # full: steps (~20 training videos, a CPU budget; ref. 12000)
    full_val_every: int = 25  # full: steps between validations (frame AUC, held-out videos)
    full_batch: int = 10  # full: windows per class and step (reference 30: CPU cost, ~0.45 s)
    val_fraction: float = 0.2  # training videos held out per label for the selection
    random_init: bool = False  # untrained backbone (tests only)


def _ids(split: Any, label: int | None = None) -> list[str]:
    return [v for v, y in split.train.items() if label is None or y == label]


def _cost(split: Any, level: str, store: Any) -> tuple[int, int]:
    """(labelled videos, labelled frames) a level needs on this split's training side."""
    if level == "one-class":  # which videos are normal
        return len(_ids(split, 0)), 0
    if level == "weak":  # a label per video
        return len(split.train), 0
    moved = [v for v in split.train if v.startswith("testing-")]  # annotated frame by frame
    return len(split.train), int(sum(store.entry(v).n_frames or 0 for v in moved))


def _one_class(name: str, store: Any, split: Any) -> dict[str, np.ndarray]:
    """Fit a one-class scorer on the split's normal training videos; score its test videos."""
    from vadkit.methods.registry import get_method

    m = get_method(name)
    scorer = m.model_cls(m.config_cls())

    def feats(vid: str) -> np.ndarray:
        return np.asarray(store.load(vid), np.float32).mean(axis=1)  # (T, D), crops averaged

    scorer.fit(np.concatenate([feats(v) for v in _ids(split, 0)]))
    return {v: np.asarray(scorer.score(feats(v)), np.float32) for v in split.test}


def _full_run(name: str, layout: Any, store: Any, split: Any, cfg: SupervisionBenchConfig,
              run: Path, log: Log) -> dict[str, np.ndarray]:  # fmt: skip
    """Train a fully-supervised method on the split's frame labels; its test scores."""
    from vadkit.bench.weak import split_store
    from vadkit.datasets.annotations import GroundTruth
    from vadkit.methods.registry import get_method
    from vadkit.train import read_scores, train_run

    method = get_method(name)
    train_path = split_store(store, split.train, run / "train-store")
    test_path = split_store(store, split.test, run / "test-store")
    # frame labels keyed by store id: moved test videos and test videos (UCSD training
    # videos are normal: labelled 0 in the split store, no frame annotation needed)
    labels = {v: layout.labels[v.split("-", 1)[1]] for v in split.test}
    labels.update({v: layout.labels[v.split("-", 1)[1]] for v in _ids(split) if "testing-" in v})
    gt = GroundTruth("ped2", labels={v: np.asarray(y, np.uint8) for v, y in labels.items()})
    config = {
        "method": name,
        "model": {"feature_dim": store.info.dim},
        "train": {
            "seed": split.seed,
            "iterations": cfg.full_iterations,
            "batch_per_class": cfg.full_batch,
            "val_every": cfg.full_val_every,
            "selection": "validation",
            "val_fraction": cfg.val_fraction,
        },  # fmt: skip
        "data": {"train": str(train_path), "test": str(test_path), "convention": "exact"},
    }
    train_run(config, method, run / "run", overwrite=True, where=f"{name} split", echo=log,
              ground_truth=gt)  # fmt: skip
    return read_scores(run / "run")


def _summary(values: list[float | None]) -> dict[str, float | None]:
    xs = [v for v in values if v is not None]
    if not xs:
        return {"mean": None, "std": None}
    return {"mean": float(np.mean(xs)), "std": float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0}


def run_supervision_benchmark(
    data: str | Path,
    out: str | Path,
    config: SupervisionBenchConfig | None = None,
    store: str | Path | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Run the protocol on the dataset at ``data``; write ``out/results.json``.

    Returns
    -------
    dict : rows (level, method, per-split micro / macro frame AUC, mean and std, labelling
        cost), the splits, the config and timings.
    """
    import os

    import vadkit.bench.weak as wb
    from vadkit.bench.ucsd_layout import find_ucsd_layout
    from vadkit.io.atomic import atomic_write_json
    from vadkit.io.store import FeatureStore
    from vadkit.methods.registry import get_method, list_methods

    config = config or SupervisionBenchConfig()
    out = Path(out)
    t0 = time.perf_counter()
    layout = find_ucsd_layout(data)
    weak = list(config.weak) if config.weak is not None else list_methods("weak")
    for names, kind in ((config.one_class, "one-class"), (weak, "weak"), (config.full, "full")):
        bad = [n for n in names if n not in list_methods(kind)]
        if bad:
            raise VadkitError(
                f"{bad[0]!r} is not a {kind} method; choose from {', '.join(list_methods(kind))}"
            )
    splits = wb.make_splits(layout, config.splits, config.seed, config.train_fraction)
    wcfg = wb.WeakBenchConfig(
        backbone=config.backbone, methods=tuple(weak), splits=config.splits, seed=config.seed,
        train_fraction=config.train_fraction, iterations=config.iterations,
        val_every=config.val_every, val_fraction=config.val_fraction,
        random_init=config.random_init,
    )  # fmt: skip
    st = wb.extract_store(layout, wcfg, Path(store) if store else out / "store", log)
    rows = [{"level": lv, "method": m, "runs": []} for lv, ms in
            (("one-class", config.one_class), ("weak", weak), ("full", config.full))
            for m in ms]  # fmt: skip
    timings: dict[str, float] = {lv: 0.0 for lv in LEVELS}
    with wb.torch_threads(wcfg.train_threads):  # small models: one thread is fastest
        for k, split in enumerate(splits):
            log(f"split {k} (seed {split.seed}): {len(split.train)} training videos "
                f"({sum(split.train.values())} abnormal), {len(split.test)} test videos")  # fmt: skip
            test_store = FeatureStore.open(
                wb.split_store(st, split.test, out / f"split{k}" / "test")
            )
            for row in rows:
                t = time.perf_counter()
                name, level, run = row["method"], row["level"], out / f"split{k}" / row["method"]
                if level == "weak":
                    res = wb.train_split(layout, get_method(name), st, split, wcfg, run, log)
                else:
                    scores = (
                        _one_class(name, st, split) if level == "one-class"
                        else _full_run(name, layout, st, split, config, run, log)
                    )  # fmt: skip
                    res = wb.split_metrics(layout, wb.frame_scores(scores, test_store))
                videos, frames = _cost(split, level, st)
                res.update(labelled_videos=videos, labelled_frames=frames,
                           seconds=time.perf_counter() - t)  # fmt: skip
                timings[level] += res["seconds"]
                row["runs"].append(res)
                log(f"  {level} {name}: micro AUC {res['micro_auc']:.3f}")
    for row in rows:
        for key in ("micro_auc", "macro_auc", "labelled_videos", "labelled_frames"):
            row[key] = _summary([r[key] for r in row["runs"]])
    timings["total"] = time.perf_counter() - t0
    doc = {
        "dataset": str(layout.root),
        "store": str(st.path),
        "n_train": len(layout.train),
        "n_test": len(layout.test),
        "config": asdict(config),
        "splits": [asdict(s) for s in splits],
        "rows": rows,
        "timings_s": timings,
        "load_average": list(os.getloadavg()),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "results.json", doc)
    return doc


def _pm(s: dict[str, float | None]) -> str:
    return "–" if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}"


def supervision_markdown(doc: dict[str, Any]) -> str:
    """The table of a results dict (mean ± sample std over splits), as Markdown."""
    c, splits = doc["config"], doc["splits"]
    lines = [
        f"Dataset `{Path(doc['dataset']).name}`, backbone `{c['backbone']}`: {len(splits)} "
        f"seeded splits (seeds {splits[0]['seed']}..{splits[-1]['seed']}), the same for every "
        f"row; each moves {c['train_fraction']:.0%} of each label's test videos into training "
        f"({len(splits[0]['train'])} training videos incl. {doc['n_train']} normal UCSD "
        f"training videos; {len(splits[0]['test'])} test videos). Weak: {c['iterations']} "
        f"steps, validation every {c['val_every']} (video AUC); full: {c['full_iterations']} "
        f"steps of {c['full_batch']} + {c['full_batch']} windows, validation every {c['full_val_every']} (frame AUC); both on "
        f"{c['val_fraction']:.0%} held-out training videos.",
        "",
        "| level | method | micro frame AUC | macro frame AUC | labelled videos | "
        "labelled frames | micro AUC per split |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in doc["rows"]:
        each = ", ".join(f"{x['micro_auc']:.3f}" for x in r["runs"])
        lv, lf = r["labelled_videos"]["mean"], r["labelled_frames"]["mean"]
        lines.append(
            f"| {r['level']} | {r['method']} | {_pm(r['micro_auc'])} | {_pm(r['macro_auc'])} "
            f"| {lv:.0f} | {lf:.0f} | {each} |"
        )
    t = doc["timings_s"]
    load = " ".join(f"{x:.1f}" for x in doc.get("load_average", []))
    lines += ["", "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items())
              + (f"; load average at the end {load} on 2 cores." if load else ".")]  # fmt: skip
    return "\n".join(lines)
