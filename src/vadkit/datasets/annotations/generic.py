"""A plain CSV of anomalous intervals, for datasets without a published reader."""

from __future__ import annotations

import csv
from pathlib import Path

from vadkit.datasets.annotations.groundtruth import (
    ANOMALY,
    NORMAL,
    GroundTruth,
    Interval,
    intervals_to_labels,
    parse_int,
)
from vadkit.errors import VadkitError


def read_interval_csv(
    csv_file: str | Path,
    one_based_inclusive: bool = False,
    dataset: str | None = None,
) -> GroundTruth:
    """Read anomalous intervals from a CSV file.

    Layout (header required; ``id`` may replace ``video``; ``n_frames`` and ``class``
    are optional)::

        video,start,end,n_frames,class
        cam1_003,120,245,900,fight          one row per anomalous interval
        cam1_003,600,700,900,fight
        cam2_001,,,450,                     empty start/end: a normal video

    ``start``/``end`` are 0-based frames, ``end`` exclusive (``[start, end)``); with
    ``one_based_inclusive=True`` they are 1-based and inclusive (``[start, end]``,
    as UCF-Crime and UCSD publish them). Videos with ``n_frames`` get ``labels``
    (intervals must lie inside), the others ``intervals`` / ``normal_ids``.
    """
    path = Path(csv_file)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VadkitError(f"cannot read interval CSV {path}: {exc}") from exc
    if not rows:
        raise VadkitError(f"{path}: empty file, expected a header video,start,end")
    header = [h.strip().lower() for h in rows[0]]
    id_col = "video" if "video" in header else "id"
    missing = [c for c in (id_col, "start", "end") if c not in header]
    if missing:
        raise VadkitError(f"{path}:1: header lacks {', '.join(missing)} (got {rows[0]})")
    col = {name: header.index(name) for name in header}

    ivs: dict[str, list[Interval]] = {}
    lengths: dict[str, int] = {}
    classes: dict[str, str] = {}
    for lineno, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise VadkitError(f"{path}:{lineno}: {len(row)} fields, the header has {len(header)}")
        cell = {name: row[i].strip() for name, i in col.items()}
        vid = cell[id_col]
        if not vid:
            raise VadkitError(f"{path}:{lineno}: empty {id_col}")
        ivs.setdefault(vid, [])
        if cell.get("n_frames"):
            n = parse_int(cell["n_frames"], path, lineno, "n_frames")
            if lengths.setdefault(vid, n) != n:
                raise VadkitError(
                    f"{path}:{lineno}: video {vid!r} has n_frames {n}, earlier {lengths[vid]}"
                )
        if cell.get("class"):
            classes[vid] = cell["class"]
        if not cell["start"] and not cell["end"]:
            continue
        s = parse_int(cell["start"], path, lineno, "start")
        e = parse_int(cell["end"], path, lineno, "end")
        if one_based_inclusive:
            s -= 1  # [s, e] 1-based == [s-1, e) 0-based
        if not 0 <= s < e:
            shown = "1 <= start <= end" if one_based_inclusive else "0 <= start < end"
            raise VadkitError(f"{path}:{lineno}: video {vid!r} interval invalid, expected {shown}")
        if vid in lengths and e > lengths[vid]:
            raise VadkitError(
                f"{path}:{lineno}: video {vid!r} interval ends at {e}, past its {lengths[vid]} frames"
            )
        ivs[vid].append((s, e))

    gt_labels = {}
    gt_ivs = {}
    normal = set()
    for vid, pairs in ivs.items():
        if vid in lengths:
            if any(e > lengths[vid] for _, e in pairs):
                raise VadkitError(
                    f"{path}: video {vid!r} has an interval past its {lengths[vid]} frames"
                )
            gt_labels[vid] = intervals_to_labels(pairs, lengths[vid])
        elif pairs:
            gt_ivs[vid] = pairs
        else:
            normal.add(vid)
        classes.setdefault(vid, ANOMALY if pairs else NORMAL)
        if not pairs:
            classes[vid] = NORMAL
    return GroundTruth(
        dataset or path.stem,
        labels=gt_labels,
        intervals=gt_ivs,
        classes=classes,
        normal_ids=normal,
        source=str(path),
    )
