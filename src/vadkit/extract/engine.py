"""Extraction engine: videos -> FeatureStore, batched, resumable, sharded, claim-safe.

The stages are public and usable alone (another engine, ``predict``):
:func:`~vadkit.extract.plan.plan_extraction` (inputs, ids, resume; no model),
:func:`~vadkit.extract.encoder.load_encoder` (once), :func:`~vadkit.extract.stages.read_frames`
(one decoding pass per video), :func:`~vadkit.extract.stages.clip_batches` (fixed batches of
uint8 crops), :meth:`Encoder.encode_batch`, and :func:`write_video`. :func:`extract` runs them
for a list of videos; a failing video is reported with its path and skipped, the run goes on.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vadkit.errors import VadkitError
from vadkit.extract.encoder import Encoder, encode_batches, load_encoder
from vadkit.extract.options import ExtractOptions, parse_shard, store_info, video_index
from vadkit.extract.plan import claim_video, item_label, plan_extraction, source_of
from vadkit.extract.stages import read_frames
from vadkit.io.inputs import InputItem
from vadkit.io.store import FeatureStore, StoreWriter, VideoEntry
from vadkit.io.stream import FrameStream
from vadkit.sampling import pool_sultani

__all__ = [
    "ExtractOptions",
    "ExtractResult",
    "extract",
    "parse_shard",
    "store_info",
    "video_index",
    "write_shard_report",
    "write_video",
]

log = logging.getLogger(__name__)


@dataclass
class ExtractResult:
    """What a run did. ``claimed``: videos another process was extracting at the time."""

    store: FeatureStore | None
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, message)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (id, message)
    claimed: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def write_video(
    writer: StoreWriter, item: InputItem, feats: np.ndarray, frames: FrameStream
) -> VideoEntry:
    """Write one video's ``(T, crops, D)`` features and entry (source recorded absolute)."""
    meta = frames.meta
    return writer.add(
        item.id,
        feats,
        source=source_of(item),
        label=item_label(item),
        cls=item.cls,
        split=item.split,
        n_frames=meta.n_frames,
        fps=meta.fps,
    )


def encode_item(
    item: InputItem, options: ExtractOptions, encoder: Encoder, on_batch: Callable[[], None]
) -> tuple[np.ndarray, FrameStream]:
    """Features of one input video (Sultani segments pooled) and its finished frame stream."""
    frames = read_frames(item.path, item.id)
    parts = []
    for _, feats in encode_batches(frames, options, encoder):
        parts.append(feats)
        on_batch()
    out = np.concatenate(parts)
    if options.n_segments and options.segment_rule == "sultani":
        out = pool_sultani(out, options.n_segments)
    return out, frames


def extract(
    inputs: str | Path | Sequence[InputItem],
    out: str | Path,
    backbone: str,
    *,
    weights: str | Path | None = None,
    random_init: bool = False,
    options: ExtractOptions | None = None,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    progress: bool = True,
    on_video: Callable[[str, str], None] | None = None,
    encoder: Encoder | None = None,
) -> ExtractResult:
    """Extract features for every video of ``inputs`` into the store at ``out``.

    ``inputs`` is anything :func:`vadkit.io.inputs.list_inputs` accepts (a video, a frame
    folder, a folder of either, a list or CSV) or a list of ``InputItem``. Finished videos are
    skipped (resume; the model is not even built when nothing is left); ``shard=(i, n)`` takes
    every n-th video starting at i; videos another process is extracting are left to it.
    Returns an :class:`ExtractResult`; ``result.failed`` lists videos that could not be read.
    """
    options = options or ExtractOptions()
    existed = Path(out).exists()
    plan = plan_extraction(
        inputs,
        out,
        backbone,
        weights=weights,
        random_init=random_init,
        options=options,
        shard=shard,
        overwrite=overwrite,
    )
    if plan.todo:  # the model is built only when there is work, and checked before any
        try:
            if encoder is None:
                encoder = load_encoder(
                    backbone,
                    weights,
                    device=options.device,
                    random_init=random_init,
                    endpoint=options.endpoint,
                )
            if encoder.weights_sha256 != plan.info.weights_sha256:
                raise VadkitError(
                    f"the encoder given is not backbone {backbone!r} with these weights"
                )
            encoder.check_input(options)
            # what the backbone says about itself (feature layer, weights cache) joins the recipe
            plan.writer.add_extra(getattr(encoder.model, "store_extra", None) or {})
        except VadkitError:
            if not existed:  # leave nothing behind: the store did not exist before this run
                shutil.rmtree(out, ignore_errors=True)
            raise
    result = ExtractResult(store=None, skipped=list(plan.skipped))
    bar = _progress(len(plan.todo) + len(plan.skipped) + len(plan.conflicts), progress)
    bar.update(len(plan.skipped))
    for vid, msg in plan.conflicts:
        result.failed.append((vid, msg))
        if progress:
            bar.write(f"failed: {vid}: {msg}", file=sys.stderr)
        bar.update(1)
    start = time.perf_counter()
    for item in plan.todo:
        claim = claim_video(out, item.id)
        if claim is None:
            result.claimed.append(item.id)
            bar.update(1)
            continue
        try:
            feats, frames = encode_item(item, options, encoder, claim.touch)
            write_video(plan.writer, item, feats, frames)
        except VadkitError as exc:
            msg = str(exc) if str(item.path) in str(exc) else f"{item.path}: {exc}"
            result.failed.append((item.id, msg))
            log.info("failed: %s", msg)
            if progress:  # report at once; long runs should not hide failures until the end
                bar.write(f"failed: {item.id}: {msg}", file=sys.stderr)
            if on_video:
                on_video(item.id, f"failed: {msg}")
        else:
            if frames.warning:  # a damaged tail: its decodable frames were used, say so
                result.warnings.append((item.id, frames.warning))
                if progress:
                    bar.write(
                        f"warning: {item.id}: {frames.warning}; used the "
                        f"{frames.meta.n_frames} frames that decode",
                        file=sys.stderr,
                    )
            result.done.append(item.id)
            result.frames += frames.meta.n_frames
            if on_video:
                on_video(item.id, "done")
        finally:
            claim.release()
        bar.update(1)
        elapsed = time.perf_counter() - start
        bar.set_postfix_str(f"{result.frames / max(elapsed, 1e-9):.1f} frames/s")
    bar.close()
    result.seconds = time.perf_counter() - start
    write_shard_report(
        Path(out), "failed", shard, [{"id": v, "error": m} for v, m in result.failed]
    )
    write_shard_report(
        Path(out), "warnings", shard, [{"id": v, "warning": m} for v, m in result.warnings]
    )
    result.store = plan.writer.finalize(order=[it.id for it in plan.items])
    return result


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="video", disable=not enabled, dynamic_ncols=True)


def write_shard_report(out: Path, kind: str, shard: tuple[int, int], rows: list[dict]) -> None:
    """``failed.json`` / ``warnings.json`` (per shard), rewritten each run; none if never needed."""
    from vadkit.io.atomic import atomic_write_json

    name = f"{kind}.json" if shard == (0, 1) else f"{kind}.shard{shard[0]}of{shard[1]}.json"
    path = out / name
    if rows or path.exists():
        atomic_write_json(path, rows)
