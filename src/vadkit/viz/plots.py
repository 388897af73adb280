"""``vadkit plot``: which figures each KIND makes from which directories, and their files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vadkit.errors import VadkitError
from vadkit.viz.curve import peak_frames, read_thumbnails, score_curve
from vadkit.viz.figure import save_figure
from vadkit.viz.runs import VideoFrames, load_run_frames

__all__ = ["choose_videos", "make_plots", "recorded_threshold", "run_names", "thumbnails_for"]


def run_names(runs: Sequence[Path]) -> list[str]:
    """Short distinct names of run directories (their folder names, with the parent when
    two share one)."""
    # a benchmark's runs are OUT/splitK/METHOD/run: the method says more than "run"
    names = [Path(r).parent.name if Path(r).name == "run" else Path(r).name for r in runs]
    if len(set(names)) < len(names):
        names = [f"{Path(r).parent.name}/{Path(r).name}" for r in runs]
    return names


def choose_videos(frames: dict[str, VideoFrames], videos: Sequence[str], limit: int) -> list[str]:
    """``videos`` (checked), else up to ``limit`` videos, those with anomalies first."""
    if videos:
        missing = [v for v in videos if v not in frames]
        if missing:
            some = ", ".join(list(frames)[:5])
            raise VadkitError(
                f"--video {missing[0]!r} is not a test video of the run ({some}, ...)"
            )
        return list(videos)
    order = sorted(frames, key=lambda v: (not (frames[v].labels is not None and
                                                frames[v].labels.any()), v))  # fmt: skip
    return order[: max(1, limit)]


def thumbnails_for(vf: VideoFrames, k: int = 4) -> tuple[list, str | None]:
    """Thumbnails at the ``k`` highest peaks, or none and the note saying why."""
    try:
        return read_thumbnails(vf.source, peak_frames(vf.scores, k)), None
    except VadkitError as exc:
        return [], f"thumbnails omitted: {exc}"


def recorded_threshold(run: Path) -> float | None:
    """The threshold a ``benchmark ucsd`` output chose for its headline row (at the held-out
    false-alarm rate, on the same smoothed scores as its scores.npz); None for other runs."""
    import json

    path = Path(run) / "results.json"
    if not path.is_file() or not (Path(run) / "scores.npz").is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = [r for r in doc.get("rows", []) if r.get("name") == doc.get("headline")]
    thr = rows[0].get("threshold") if rows else None
    return float(thr) if isinstance(thr, int | float) else None


def _pairs(run: Path) -> tuple[dict, dict]:
    frames = load_run_frames(run)
    labelled = {v: f for v, f in frames.items() if f.labels is not None}
    if not labelled:
        raise VadkitError(f"{run}: no ground truth for its test videos (no ROC without labels)")
    return ({v: f.labels for v, f in labelled.items()}, {v: f.scores for v, f in labelled.items()})


def make_plots(
    kind: str,
    runs: Sequence[Path],
    out: Path,
    *,
    formats: Sequence[str] = ("png",),
    videos: Sequence[str] = (),
    limit: int = 4,
    threshold: float | None = None,
    sources: Path | None = None,
    published: Path | None = None,
    metric: str = "micro_auc",
    seed: int = 0,
) -> list[Path]:
    """Make the figures of ``kind`` from ``runs`` into ``out``; the files written."""
    import vadkit.viz.model_views as mv
    import vadkit.viz.roc as rc
    import vadkit.viz.tables as tb

    runs = [Path(r) for r in runs]
    names = run_names(runs)
    multi = len(runs) > 1
    written: list[Path] = []

    def save(fig: Any, stem: str) -> None:
        written.extend(save_figure(fig, out / stem, formats))

    if kind in ("curve", "attention"):
        for run, name in zip(runs, names, strict=True):
            frames = load_run_frames(run, sources=sources)
            line = threshold if threshold is not None else recorded_threshold(run)
            chosen = choose_videos(frames, videos, limit)
            att = mv.run_attention(run, chosen) if kind == "attention" else {}
            for v in chosen:
                vf = frames[v]
                thumbs, note = thumbnails_for(vf) if kind == "curve" else ([], None)
                fig = score_curve(vf.scores, labels=vf.labels, threshold=line, fps=vf.fps,
                                  attention=att.get(v), thumbnails=thumbs, thumbnail_note=note,
                                  title=f"{name}: video {v}")  # fmt: skip
                prefix = f"{name.replace('/', '_')}_" if multi else ""
                save(fig, f"{kind}_{prefix}{v}")
    elif kind in ("roc", "pr"):
        pairs = {name: _pairs(run) for run, name in zip(runs, names, strict=True)}
        if kind == "roc":
            pub = rc.read_published_roc(published) if published else None
            save(rc.roc_curves(pairs, pub), "roc")
        else:
            if published:
                raise VadkitError("--published holds ROC curves; use it with `plot roc`")
            save(rc.pr_curves(pairs), "pr")
    elif kind == "tsne":
        for run, name in zip(runs, names, strict=True):
            frames = load_run_frames(run)
            chosen = choose_videos(frames, videos, limit)
            feats = mv.test_features(run, chosen)
            from vadkit.train.rundir import read_scores

            snippet = read_scores(run)
            model = mv.run_model(run)
            clusters = mv.run_clusters(run, chosen) if hasattr(model, "clusters") else None
            labels = {v: frames[v].labels for v in chosen if frames[v].labels is not None}
            fig = mv.tsne_figure(feats, {v: snippet[v] for v in chosen}, labels=labels,
                                 clusters=clusters, seed=seed,
                                 title=f"{name}: t-SNE of {len(chosen)} test videos")  # fmt: skip
            save(fig, f"tsne_{name.replace('/', '_')}" if multi else "tsne")
    elif kind == "learning":
        for run, name in zip(runs, names, strict=True):
            fig = tb.learning_curves(tb.read_log(run), title=name)
            save(fig, f"learning_{name.replace('/', '_')}" if multi else "learning")
    elif kind == "seeds":
        values: dict[str, list[float]] = {}
        for run, name in zip(runs, names, strict=True):
            for row, v in tb.read_seed_results(run, metric).items():
                values[f"{name}: {row}" if multi else row] = v
        label = {"micro_auc": "micro frame AUC", "macro_auc": "macro frame AUC", "ap": "frame AP"}
        save(tb.seed_comparison(values, metric=label.get(metric, metric)), "seeds")
    elif kind == "boxplot":
        for run, name in zip(runs, names, strict=True):
            fig = tb.error_boxplot(tb.read_clips(run), title=name)
            save(fig, f"boxplot_{name.replace('/', '_')}" if multi else "boxplot")
    else:
        raise VadkitError(f"unknown plot kind {kind!r}")
    if not written:
        raise VadkitError("no figure written")
    return written
