"""Action-class datasets (UCF Sports Action layout) and the class-holdout split.

The layout, as UCF Sports Action ships it (``ucf action/`` in its archive)::

    ROOT/
      Diving-Side/                 one folder per action (sub-)class
        001/                       one folder per sequence
          2538-5_70133.avi         its video (the first video file in the folder) ...
          2538-5_70133_0001.jpg    ... or, when there is none, its frames
          gt/                      (anything else is ignored)
        002/ ...
      Golf-Swing-Back/ ...
      Walk-Front/ ...

A class folder may also hold video files directly (``ROOT/<class>/<video>``, the flat layout).

**Grouping rule.** A folder name ending in a camera view, ``-Front``, ``-Back`` or ``-Side``
(case-insensitive, the whole last word), belongs to the class named without it:
``Golf-Swing-Back/-Front/-Side`` -> ``Golf-Swing``, ``Kicking-Front/-Side`` -> ``Kicking``,
``Walk-Front`` -> ``Walk``, ``Diving-Side`` -> ``Diving``; ``Swing-SideAngle`` and
``Swing-Bench`` keep their names. UCF Sports Action's 13 folders become its 10 classes.

**Split.** Clips shorter than ``min_seconds`` (1 s) or that do not decode are dropped (listed in
``splits.json``). Every clip of an anomaly class goes to ``anomaly``; each normal class is
shuffled (seeded by the seed and the class name, so adding a class moves no other clip) and cut
into ``val`` = round(n * val), ``test`` = round(n * test) (at least one each when n >= 3) and
``train`` = the rest.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vadkit.datasets.action_synth import augment_frames, augment_split
from vadkit.errors import VadkitError
from vadkit.io.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, list_frame_files, natural_sort_key

__all__ = [
    "SPLITS",
    "ActionClip",
    "HoldoutSplits",
    "augment_frames",
    "class_of_folder",
    "make_holdout_splits",
    "scan_action_classes",
]

SPLITS = ("train", "val", "test", "anomaly")
CSV_COLUMNS = ("path", "id", "label", "class", "split")
_VIEW = re.compile(r"^(?P<base>.+?)-(front|back|side)$", re.IGNORECASE)


def class_of_folder(folder: str, group: bool = True) -> str:
    """The class a folder belongs to under the grouping rule.

    >>> [class_of_folder(f) for f in ("Golf-Swing-Back", "Kicking-side", "Swing-SideAngle")]
    ['Golf-Swing', 'Kicking', 'Swing-SideAngle']
    """
    m = _VIEW.match(folder) if group else None
    return m.group("base") if m else folder


@dataclass(frozen=True)
class ActionClip:
    """One clip of an action-class dataset.

    ``path`` is a video file or a frame folder; ``folder`` the class folder it was found in;
    ``cls`` its class after grouping; ``n_frames`` / ``fps`` as decoded (``None`` if unreadable).
    """

    id: str
    path: Path
    cls: str
    folder: str
    n_frames: int | None = None
    fps: float | None = None
    error: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds, or ``None`` when unknown."""
        if self.n_frames is None or not self.fps:
            return None
        return self.n_frames / self.fps


def _is_video(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")


def _has_images(p: Path) -> bool:
    return any(q.suffix.lower() in IMAGE_EXTENSIONS for q in p.iterdir() if q.is_file())


def _sequence_source(seq: Path) -> Path | None:
    """The video of a ``<NNN>/`` folder, else the frames in it or in a sub-folder (``jpeg/``)."""
    videos = sorted((p for p in seq.iterdir() if _is_video(p)), key=lambda p: p.name)
    if videos:
        return videos[0]
    if _has_images(seq):
        return seq
    for sub in sorted((p for p in seq.iterdir() if p.is_dir()), key=lambda p: p.name):
        if _has_images(sub):
            return sub
    return None


def _measure(clip: ActionClip, fps: float) -> ActionClip:
    from dataclasses import replace

    from vadkit.io.video import probe

    if clip.path.is_dir():
        return replace(clip, n_frames=len(list_frame_files(clip.path)), fps=fps)
    try:
        meta = probe(clip.path, clip.id)
    except VadkitError as exc:
        return replace(clip, error=str(exc))
    return replace(clip, n_frames=meta.n_frames, fps=meta.fps)


def scan_action_classes(
    root: str | Path, *, group: bool = True, frames_fps: float = 10.0, measure: bool = True
) -> list[ActionClip]:
    """List the clips of an action-class dataset (layout in the module docstring).

    Parameters
    ----------
    root : the folder holding one folder per action (sub-)class.
    group : apply the grouping rule (``Golf-Swing-Back`` -> ``Golf-Swing``).
    frames_fps : frame rate of clips given as frame folders (UCF Sports Action: 10).
    measure : decode each video to count its frames (needed for the 1 s rule).

    Returns
    -------
    list[ActionClip] : ids ``<folder>_<NNN>`` (``<folder>_<stem>`` in the flat layout), in
    class-folder then natural order. A class folder without any clip is an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise VadkitError(
            f"dataset folder {root} does not exist; give the folder holding one folder per "
            "action class (UCF Sports Action: 'ucf action')"
        )
    folders = sorted(
        (p for p in root.iterdir() if p.is_dir()), key=lambda p: natural_sort_key(p.name)
    )
    folders = [p for p in folders if not p.name.startswith(".")]
    if not folders:
        raise VadkitError(f"{root} holds no class folders; expected ROOT/<class>/<NNN>/<video>")
    clips: list[ActionClip] = []
    for folder in folders:
        cls = class_of_folder(folder.name, group)
        found = []
        for entry in sorted(folder.iterdir(), key=lambda p: natural_sort_key(p.name)):
            if entry.name.startswith("."):
                continue
            if _is_video(entry):
                found.append(ActionClip(f"{folder.name}_{entry.stem}", entry, cls, folder.name))
            elif entry.is_dir() and (src := _sequence_source(entry)) is not None:
                found.append(ActionClip(f"{folder.name}_{entry.name}", src, cls, folder.name))
        if not found:
            raise VadkitError(
                f"class folder {folder} holds no clips (video files, or <NNN>/ folders with a "
                "video or frames); add its videos or remove the folder"
            )
        clips += found
    return [_measure(c, frames_fps) for c in clips] if measure else clips


@dataclass
class HoldoutSplits:
    """What :func:`make_holdout_splits` wrote: the rows of each split and the dropped clips."""

    out: Path
    rows: dict[str, list[dict[str, str]]]
    dropped: list[dict[str, str]]
    summary: dict

    def counts(self) -> dict[str, dict[str, int]]:
        """``{split: {class: clips}}``."""
        out: dict[str, dict[str, int]] = {}
        for split, rows in self.rows.items():
            for r in rows:
                out.setdefault(split, {}).setdefault(r["class"], 0)
                out[split][r["class"]] += 1
        return out


def _resolve_anomalies(anomaly: Sequence[str], clips: list[ActionClip]) -> list[str]:
    classes = sorted({c.cls for c in clips})
    folders = {c.folder: c.cls for c in clips}
    lower = {name.lower(): name for name in classes} | {f.lower(): cl for f, cl in folders.items()}
    chosen = []
    for name in anomaly:
        if name.lower() not in lower:
            raise VadkitError(
                f"anomaly class {name!r} is not in the dataset; classes: {', '.join(classes)}"
            )
        chosen.append(lower[name.lower()])
    chosen = sorted(set(chosen))
    if not chosen:
        raise VadkitError("choose at least one anomaly class (--anomaly NAME)")
    if len(chosen) == len(classes):
        raise VadkitError(f"every class ({', '.join(classes)}) is an anomaly: keep one normal")
    return chosen


def _split_counts(n: int, val: float, test: float, cls: str) -> tuple[int, int, int]:
    n_val, n_test = int(np.floor(n * val + 0.5)), int(np.floor(n * test + 0.5))
    if n >= 3:
        n_val, n_test = max(n_val, int(val > 0)), max(n_test, int(test > 0))
    n_train = n - n_val - n_test
    if n_train < 1:
        raise VadkitError(
            f"class {cls!r} has {n} usable clip(s): too few for train/val/test "
            f"fractions {1 - val - test:.2f}/{val:.2f}/{test:.2f}; add clips or make it an anomaly"
        )
    return n_train, n_val, n_test


def make_holdout_splits(
    root: str | Path,
    out: str | Path,
    anomaly: Sequence[str],
    *,
    val: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
    min_seconds: float = 1.0,
    group: bool = True,
    frames_fps: float = 10.0,
    augment_to: int | None = None,
    augment_splits: Sequence[str] = ("train",),
) -> HoldoutSplits:
    """Turn an action-class dataset into train / val / test / anomaly CSVs.

    Writes ``OUT/{train,val,test,anomaly,all}.csv`` with the columns ``vadkit extract --input``
    reads (``path,id,label,class,split``; ``label`` 0 normal, 1 anomaly; source paths absolute,
    augmented clips relative to OUT) and ``OUT/splits.json`` (settings, counts, dropped clips).

    Parameters
    ----------
    root : the dataset (layout in the module docstring).
    anomaly : anomaly classes, by class or folder name (``Walk`` or ``Walk-Front``).
    val, test : fractions of each normal class for validation and test.
    seed : the shuffle seed; the same seed gives the same splits.
    min_seconds : clips shorter than this are dropped.
    augment_to : if given, each class of each split in ``augment_splits`` is topped up to this
        many clips with augmented copies (:func:`augment_frames`) written as videos under
        ``OUT/augmented/<class>/``.
    """
    from vadkit.io.atomic import atomic_write_json

    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise VadkitError(f"val={val}, test={test}: need fractions >= 0 with val + test < 1")
    bad = sorted(set(augment_splits) - set(SPLITS))
    if bad:
        raise VadkitError(f"augment split(s) {', '.join(bad)}: choose from {', '.join(SPLITS)}")
    out = Path(out)
    clips = scan_action_classes(root, group=group, frames_fps=frames_fps)
    chosen = _resolve_anomalies(anomaly, clips)
    dropped, kept = [], []
    for c in clips:
        if c.error:
            dropped.append({"id": c.id, "path": str(c.path), "reason": c.error})
        elif (c.duration or 0.0) < min_seconds:
            dur = f"{c.duration:.2f} s" if c.duration is not None else "unknown length"
            dropped.append({"id": c.id, "path": str(c.path), "reason": f"{dur} < {min_seconds} s"})
        else:
            kept.append(c)
    rows: dict[str, list[dict[str, str]]] = {s: [] for s in SPLITS}
    for cls in sorted({c.cls for c in clips}):
        members = [c for c in kept if c.cls == cls]
        if not members:
            raise VadkitError(
                f"class {cls!r} has no clip of at least {min_seconds} s left; "
                "see the dropped clips, or lower --min-seconds"
            )
        if cls in chosen:
            rows["anomaly"] += [_row(c, "anomaly") for c in members]
            continue
        rng = np.random.default_rng([seed, zlib.crc32(cls.encode())])
        order = [members[i] for i in rng.permutation(len(members))]
        n_train, n_val, _ = _split_counts(len(members), val, test, cls)
        for i, c in enumerate(order):
            split = "train" if i < n_train else "val" if i < n_train + n_val else "test"
            rows[split].append(_row(c, split))
    if augment_to:
        for split in augment_splits:
            rows[split] += augment_split(rows[split], out, augment_to, seed, frames_fps)
    for split in SPLITS:
        rows[split].sort(key=lambda r: (r["class"], natural_sort_key(r["id"])))
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        _write_csv(out / f"{split}.csv", rows[split])
    _write_csv(out / "all.csv", [r for s in SPLITS for r in rows[s]])
    summary = {
        "root": str(Path(root).resolve()),
        "anomaly_classes": chosen,
        "normal_classes": sorted({c.cls for c in clips} - set(chosen)),
        "groups": {c.folder: c.cls for c in clips},
        "grouping_rule": "strip a trailing -Front/-Back/-Side" if group else "none",
        "fractions": {"train": round(1 - val - test, 6), "val": val, "test": test},
        "seed": seed,
        "min_seconds": min_seconds,
        "augment_to": augment_to,
        "augment_splits": list(augment_splits) if augment_to else [],
        "dropped": dropped,
    }
    result = HoldoutSplits(out, rows, dropped, summary)
    summary["counts"] = result.counts()
    atomic_write_json(out / "splits.json", summary)
    return result


def _row(clip: ActionClip, split: str) -> dict[str, str]:
    label = "1" if split == "anomaly" else "0"
    return {
        "path": str(clip.path.resolve()),
        "id": clip.id,
        "label": label,
        "class": clip.cls,
        "split": split,
    }


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    import csv
    import io

    from vadkit.io.atomic import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
