"""Planning an extraction before any model is built: inputs, ids, resume, shards, claims.

:func:`plan_extraction` lists the inputs, checks labels, options and that the store can be
written, opens the store writer (which checks the recipe) and sorts the videos of this shard
into to-do, already done and conflicting. A plan with nothing to do costs no model.

Claims: several processes may extract into one store. Before encoding a video a process
creates ``STORE/.claims/<id>.claim`` atomically (``O_EXCL``) with its pid, host and time;
others skip a claimed video. The claim is removed when the video is written or fails. A claim
is stale (taken over) when its process is gone (same host) or it was not refreshed for
``CLAIM_STALE_SECONDS`` (the owner touches it after every batch).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.options import ExtractOptions, check_options, store_info
from vadkit.io.atomic import check_writable_dir
from vadkit.io.inputs import InputItem, label_from_word
from vadkit.io.store import StoreInfo, StoreWriter

__all__ = ["CLAIM_STALE_SECONDS", "Claim", "ExtractPlan", "claim_video", "plan_extraction"]

CLAIM_STALE_SECONDS = 600.0
CLAIMS_DIR = ".claims"


@dataclass
class ExtractPlan:
    """What an extraction will do. ``todo`` is this shard's work, in input order."""

    items: list[InputItem]
    config: PretrainedConfig
    options: ExtractOptions
    info: StoreInfo
    writer: StoreWriter
    todo: list[InputItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (id, message)


def same_file(recorded: str | None, item: InputItem) -> bool:
    """Whether a store entry's ``source`` names the input's file, wherever the run started.

    Sources are recorded absolute; a relative source of an older store matches when it is
    the same text as typed, or resolves to the same file from the current folder.
    """
    if recorded is None:
        return False
    if recorded == str(item.path):
        return True
    try:
        return Path(recorded).resolve() == Path(item.path).resolve()
    except OSError:
        return False


def source_of(item: InputItem) -> str:
    """What the store records as a video's source: the absolute path (symlinks kept)."""
    return os.path.abspath(item.path)


def item_label(item: InputItem) -> int | None:
    """0/1 label from an input table cell (``0``/``1``/``normal``/``abnormal``/empty)."""
    if item.label is None or isinstance(item.label, int):
        return item.label
    return label_from_word(str(item.label), f"input {item.path}")


def plan_extraction(
    inputs: str | Path | Sequence[InputItem],
    out: str | Path,
    backbone: str,
    *,
    weights: str | Path | None = None,
    random_init: bool = False,
    options: ExtractOptions | None = None,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
) -> ExtractPlan:
    """Check everything that can be checked without a model, open the store, sort the work.

    Raises :class:`VadkitError` (nothing written) for unreadable inputs, bad labels or
    options, a store folder that cannot be written, a missing weights file, or a store made
    with another recipe.
    """
    from vadkit.extract.encoder import weights_identity
    from vadkit.io.inputs import list_inputs

    options = options or ExtractOptions()
    items = list(inputs) if isinstance(inputs, list | tuple) else list_inputs(inputs)
    if not items:
        raise VadkitError(f"no videos found in {inputs}")
    for item in items:  # bad table cells fail now, before anything is written
        item_label(item)
    config, sha = weights_identity(
        backbone, weights, random_init=random_init, endpoint=options.endpoint
    )
    check_options(options, config)
    check_writable_dir(out, "store")
    info = store_info(config, options, sha)
    writer = StoreWriter(out, info, overwrite=overwrite)
    plan = ExtractPlan(items, config, options, info, writer)
    for k, item in enumerate(items):
        if k % shard[1] != shard[0]:
            continue
        done = None if overwrite else writer.finished_entry(item.id)
        if done is None:
            plan.todo.append(item)
        elif same_file(done.source, item):
            plan.skipped.append(item.id)
        else:  # same id, another file: never skip or replace it silently
            plan.conflicts.append(
                (
                    item.id,
                    f"{item.path}: video id {item.id!r} is already in the store from "
                    f"{done.source}; give this video another id, or use --overwrite",
                )
            )
    return plan


class Claim:
    """This process's claim on one video of a store (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._touched = time.monotonic()

    def touch(self, every: float = 30.0) -> None:
        """Refresh the claim (at most every ``every`` seconds)."""
        now = time.monotonic()
        if now - self._touched >= every:
            self._touched = now
            try:
                os.utime(self.path)
            except OSError:
                pass

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def _claim_path(store: Path, video_id: str) -> Path:
    digest = hashlib.sha1(video_id.encode()).hexdigest()[:16]
    return store / CLAIMS_DIR / f"{digest}.claim"


def _stale(path: Path, stale_after: float) -> bool:
    try:
        data = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return True  # unreadable or half-written by a crashed process
    if age > stale_after:
        return True
    if data.get("host") == socket.gethostname():
        pid = int(data.get("pid", 0))
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def claim_video(
    store: str | Path, video_id: str, stale_after: float = CLAIM_STALE_SECONDS
) -> Claim | None:
    """Claim ``video_id`` in ``store`` for this process; None when another process holds it."""
    path = _claim_path(Path(store), video_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(
        {"id": video_id, "pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
    ).encode()
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _stale(path, stale_after):
                return None
            path.unlink(missing_ok=True)  # take over a dead claim, then try once more
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        return Claim(path)
    return None
