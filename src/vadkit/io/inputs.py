"""Input listing: what ``vadkit extract --input`` accepts, expanded into ``InputItem``s.

A video file, a frame folder, a folder of either, a ``.txt`` list of paths or a ``.csv``
with a ``path`` column and optional ``id``, ``label``, ``class``, ``split`` columns.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from vadkit.errors import VadkitError
from vadkit.io.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_sort_key


@dataclass(frozen=True)
class InputItem:
    """One input video: id, path (file or frame folder) and optional table columns."""

    id: str
    path: Path
    label: str | None = None
    cls: str | None = None
    split: str | None = None


def _has_images(folder: Path) -> bool:
    # Stops at the first image: folders of long frame sequences are large.
    for entry in folder.iterdir():
        if entry.suffix.lower() in IMAGE_EXTENSIONS and not entry.name.startswith("."):
            return True
    return False


def _entry(path: Path, where: str, video_id: str | None = None, **cols) -> InputItem:
    if not path.exists():
        raise VadkitError(f"{where}: {path} does not exist")
    if path.is_file() and path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VadkitError(f"{where}: {path} is neither a video file nor a frame folder")
    vid = video_id or (path.name if path.is_dir() else path.stem)
    return InputItem(vid, path, **cols)


def _read_txt(spec: Path) -> list[InputItem]:
    items = []
    for lineno, line in enumerate(spec.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{spec}:{lineno}"
        items.append(_entry(_listed_path(line, spec.parent, where), where))
    return items


_WINDOWS_DRIVE = re.compile(r"^(?:[A-Za-z]:)?[\\/]")


def _listed_path(text: str, base: Path, where: str) -> Path:
    """The path a list line or CSV cell names: POSIX as is; Windows (``\\``, ``C:\\``) mapped.

    Relative paths are relative to the list's folder. A Windows path (backslashes or a drive
    letter) cannot exist here as written: its ``/`` form is tried, then its tail parts below
    the list's folder (``C:\\data\\videos\\01.avi`` -> ``videos/01.avi``, then ``01.avi``).
    """
    text = text.strip().strip('"')
    windows = "\\" in text or bool(re.match(r"^[A-Za-z]:", text))
    if not windows:
        p = Path(text)
        return p if p.is_absolute() else base / p
    parts = [q for q in re.split(r"[\\/]+", re.sub(r"^[A-Za-z]:", "", text)) if q]
    candidates = []
    if not _WINDOWS_DRIVE.match(text):
        candidates.append(base.joinpath(*parts))  # relative: videos\01.avi
    candidates += [base.joinpath(*parts[k:]) for k in range(len(parts))]
    candidates = list(dict.fromkeys(candidates))
    for cand in candidates:
        if cand.exists():
            return cand
    tried = ", ".join(str(c) for c in candidates)
    raise VadkitError(
        f"{where}: {text} (a Windows path) does not exist here: tried {tried}; "
        "put the list next to the videos or write the paths relative to it"
    )


_CSV_COLUMNS = {
    "path": "path",
    "id": "id",
    "video_id": "id",
    "video-id": "id",
    "label": "label",
    "class": "cls",
    "cls": "cls",
    "split": "split",
}


def _read_csv(spec: Path) -> list[InputItem]:

    with spec.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = {
            name: _CSV_COLUMNS[name.strip().lower()]
            for name in reader.fieldnames or []
            if name and name.strip().lower() in _CSV_COLUMNS
        }
        if "path" not in header.values():
            raise VadkitError(f"{spec}: no 'path' column (columns: {reader.fieldnames})")
        items = []
        for row in reader:
            cols = {field: (row.get(name) or "").strip() or None for name, field in header.items()}
            rel = cols.pop("path")
            where = f"{spec}:{reader.line_num}"
            if rel is None:
                raise VadkitError(f"{where}: empty path")
            vid = cols.pop("id", None)
            items.append(_entry(_listed_path(rel, spec.parent, where), where, vid, **cols))
    return items


def list_inputs(spec: str | Path) -> list[InputItem]:
    """Expand an input spec into the videos it names.

    ``spec`` is one of: a video file; a frame folder (a directory holding images); a folder of
    video files and/or frame folders (e.g. ``ped2/testing/frames`` -> ids ``01`` .. ``12``);
    a ``.txt`` list (one path per line, ``#`` comments, relative paths resolved against the
    list's directory); a ``.csv`` with a ``path`` column and optional ``id`` (or ``video_id``),
    ``label``, ``class``, ``split`` columns (kept as text).

    Returns
    -------
    list[InputItem] : in natural order for folders, in file order for lists. Ids default to
    the file stem / folder name; two inputs with the same id are an error.
    """
    spec = Path(spec)
    if not spec.exists():
        raise VadkitError(f"input {spec} does not exist")
    if spec.is_file():
        suffix = spec.suffix.lower()
        if suffix == ".txt":
            items = _read_txt(spec)
        elif suffix == ".csv":
            items = _read_csv(spec)
        else:
            items = [_entry(spec, "input")]
    elif _has_images(spec):
        items = [InputItem(spec.name, spec)]
    else:
        items = []
        for p in sorted(spec.iterdir(), key=lambda q: natural_sort_key(q.name)):
            if p.name.startswith("."):
                continue
            if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
                items.append(InputItem(p.stem, p))
            elif p.is_dir() and _has_images(p):
                items.append(InputItem(p.name, p))
        if not items:
            raise VadkitError(f"{spec} contains no video files, frame folders or images")
    if not items:
        raise VadkitError(f"{spec} lists no inputs")
    seen: dict[str, Path] = {}
    for item in items:
        if item.id in seen:
            raise VadkitError(
                f"{spec}: duplicate video id {item.id!r} for {seen[item.id]} and {item.path}"
            )
        seen[item.id] = item.path
    return items


def label_from_word(text: str, where: str) -> int | None:
    """A 0/1 label from a CSV cell: ``0/1``, ``normal``/``abnormal`` words; empty -> ``None``."""
    word = text.strip().lower()
    if word in ("", "none", "nan", "?", "-", "unknown"):
        return None
    if word in ("0", "0.0", "normal", "false", "no"):
        return 0
    if word in ("1", "1.0", "abnormal", "anomalous", "anomaly", "violent", "true", "yes"):
        return 1
    raise VadkitError(f"{where}: label {text!r} is not 0/1, normal/abnormal or empty")
