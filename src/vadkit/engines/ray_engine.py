"""The Ray engine: the local engine's stages spread over a Ray cluster.

Per video, a CPU task runs :func:`read_frames` and :func:`clip_batches` and streams the batches
(a Ray generator with back-pressure); an actor pool holds the backbone (one actor per GPU, or
CPU actors) and runs :meth:`Encoder.encode_batch` on them in order; the driver writes each
finished video with :func:`write_video` (atomic per-video files) and rebuilds the manifest at
the end. Numbers equal the local engine's: the same batches reach the same encode calls in the
same order, on an encoder reset between videos.

Memory is bounded whatever the number and length of videos: one video in flight per actor,
at most ``depth`` batches of it between decoding and the network.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from vadkit.engines.ray_connect import connect
from vadkit.errors import VadkitError
from vadkit.extract.engine import ExtractResult, write_shard_report, write_video
from vadkit.extract.options import ExtractOptions
from vadkit.extract.plan import claim_video, plan_extraction
from vadkit.io.inputs import InputItem
from vadkit.sampling import pool_sultani

__all__ = ["RayExtractResult", "extract_ray"]

log = logging.getLogger(__name__)


@dataclass
class RayExtractResult(ExtractResult):
    """An :class:`ExtractResult` plus the peak RSS (MiB) of every Ray worker that took part."""

    peak_rss_mib: dict[str, float] = field(default_factory=dict)  # "role host:pid" -> MiB


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _worker_name(role: str) -> str:
    return f"{role} {socket.gethostname()}:{os.getpid()}"


def _decode_batches(path: str, video_id: str, config: Any, options: ExtractOptions):
    """Ray generator task: the clip batches of one video, then a tail record (meta or error)."""
    from vadkit.extract.stages import clip_batches, read_frames

    try:
        frames = read_frames(path, video_id)
        n_frames = frames.n_frames
        if n_frames is None and options.spec(config) is None and frames.path is not None:
            from vadkit.io.video import probe  # TACnet segments need the count first

            n_frames = probe(frames.path, strict=False).n_frames
        yield from clip_batches(frames, config, options, n_frames=n_frames)
        tail = {"meta": frames.meta, "warning": frames.warning}
    except VadkitError as exc:
        tail = {"error": str(exc)}
    tail["worker"] = (_worker_name("decode"), _peak_rss_mib())
    yield tail


class _EncoderActor:
    """The backbone, loaded once per actor; batches in, features out (tail records pass)."""

    def __init__(self, backbone, weights, random_init, options: ExtractOptions, threads):
        import torch

        from vadkit.extract.encoder import load_encoder

        if threads:
            torch.set_num_threads(threads)
        self.options = options
        self.encoder = load_encoder(
            backbone, weights, device=options.device, random_init=random_init,
            endpoint=options.endpoint,
        )  # fmt: skip
        self.encoder.check_input(options)

    def identity(self) -> tuple[str, dict]:
        return self.encoder.weights_sha256, getattr(self.encoder.model, "store_extra", None) or {}

    def reset(self) -> None:
        self.encoder.reset()

    def encode(self, batch):
        if isinstance(batch, dict):  # the tail record of the decode task
            return batch
        return self.encoder.encode_batch(batch, self.options)

    def usage(self) -> tuple[str, float]:
        return _worker_name("encode"), _peak_rss_mib()


def _unwrap(exc: BaseException) -> BaseException:
    """The user error inside a Ray task error, else the error itself."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, VadkitError) else exc


def extract_ray(
    inputs: str | Path | Sequence[InputItem],
    out: str | Path,
    backbone: str,
    *,
    weights: str | Path | None = None,
    random_init: bool = False,
    options: ExtractOptions | None = None,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    address: str | None = None,
    workers: int | None = None,
    depth: int = 2,
    threads: int | None = None,
    progress: bool = True,
    on_video: Callable[[str, str], None] | None = None,
) -> RayExtractResult:
    """Extract like :func:`vadkit.extract.engine.extract`, on the Ray cluster at ``address``.

    ``workers``: encoder actors (default: one per GPU of the cluster, else half its CPUs, at
    least 1; the other CPUs decode). ``depth``: batches of a video held between its decode task
    and its actor. ``threads``: torch threads per CPU actor (default the driver's, so CPU
    features equal the local engine's bit for bit). ``out`` must be a path the driver can write (the driver writes the store).
    """
    options = options or ExtractOptions()
    if threads is None:  # CPU float sums depend on the thread count: match the local engine
        import torch

        threads = torch.get_num_threads()
    plan = plan_extraction(
        inputs, out, backbone, weights=weights, random_init=random_init, options=options,
        shard=shard, overwrite=overwrite,
    )  # fmt: skip
    result = RayExtractResult(store=None, skipped=list(plan.skipped))
    for vid, msg in plan.conflicts:
        result.failed.append((vid, msg))
    start = time.perf_counter()
    if plan.todo:
        ray, started = connect(address)
        try:
            _run(ray, plan, out, backbone, weights, random_init, options, workers, depth,
                 threads, progress, on_video, result)  # fmt: skip
        finally:
            if started:
                ray.shutdown()
    for vid, msg in result.failed:
        if progress:
            print(f"failed: {vid}: {msg}", file=sys.stderr)
    result.seconds = time.perf_counter() - start
    write_shard_report(
        Path(out), "failed", shard, [{"id": v, "error": m} for v, m in result.failed]
    )
    write_shard_report(
        Path(out), "warnings", shard, [{"id": v, "warning": m} for v, m in result.warnings]
    )
    result.store = plan.writer.finalize(order=[it.id for it in plan.items])
    return result


def _run(ray, plan, out, backbone, weights, random_init, options, workers, depth, threads,
         progress, on_video, result: RayExtractResult) -> None:  # fmt: skip
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    actor_opts: dict[str, Any] = {"num_cpus": 1}
    if gpus and options.device == "cpu" and workers is None:
        from dataclasses import replace

        options = replace(options, device="cuda")  # the network on the GPUs that are there
    if options.device.startswith("cuda"):
        actor_opts = {"num_cpus": 1, "num_gpus": 1}
        n_actors = workers or max(1, gpus)
    else:
        n_actors = workers or max(1, cpus // 2)
    actor_cls = ray.remote(_EncoderActor).options(**actor_opts)
    decode = ray.remote(_decode_batches).options(
        num_cpus=1, _generator_backpressure_num_objects=max(1, depth)
    )
    actors = [actor_cls.remote(backbone, weights, random_init, options, threads)
              for _ in range(min(n_actors, len(plan.todo)))]  # fmt: skip
    try:
        idents = ray.get([a.identity.remote() for a in actors])
    except Exception as exc:  # noqa: BLE001 - a user error inside the actor is re-raised as such
        err = _unwrap(exc)
        if isinstance(err, VadkitError):
            raise VadkitError(str(err)) from None
        raise
    sha, extra = idents[0]
    if sha != plan.info.weights_sha256:
        raise VadkitError(f"the encoder built is not backbone {backbone!r} with these weights")
    plan.writer.add_extra(extra)
    todo = deque(plan.todo)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def record(item: InputItem, msg: str | None, warning: str | None, n: int) -> None:
        if msg is not None:
            msg = msg if str(item.path) in msg else f"{item.path}: {msg}"
            result.failed.append((item.id, msg))
            log.info("failed: %s", msg)
        else:
            if warning:
                result.warnings.append((item.id, warning))
            result.done.append(item.id)
            result.frames += n
        if on_video:
            on_video(item.id, "done" if msg is None else f"failed: {msg}")

    def one_video(actor, item: InputItem) -> None:
        claim = claim_video(out, item.id)
        if claim is None:
            with lock:
                result.claimed.append(item.id)
            return
        try:
            actor.reset.remote()
            pending: deque = deque()
            outputs: list[Any] = []
            for ref in decode.remote(str(item.path), item.id, plan.config, options):
                pending.append(actor.encode.remote(ref))
                if len(pending) >= depth:  # back-pressure: the network sets the pace
                    outputs.append(ray.get(pending.popleft()))
                    claim.touch()
            outputs += ray.get(list(pending))
            tail = outputs.pop()
            name, rss = tail["worker"]
            with lock:
                result.peak_rss_mib[name] = max(rss, result.peak_rss_mib.get(name, 0.0))
                if "error" in tail:
                    record(item, tail["error"], None, 0)
                    return
            feats = np.concatenate(outputs)
            if options.n_segments and options.segment_rule == "sultani":
                feats = pool_sultani(feats, options.n_segments)
            meta = tail["meta"]
            with lock:
                write_video(plan.writer, item, feats, SimpleNamespace(meta=meta))
                record(item, None, tail["warning"], meta.n_frames)
        finally:
            claim.release()

    def slot(actor) -> None:
        while not stop.is_set():
            with lock:
                if not todo:
                    return
                item = todo.popleft()
            try:
                one_video(actor, item)
            except BaseException as exc:  # noqa: BLE001 - stop all slots, re-raise in the driver
                err = _unwrap(exc)
                if isinstance(err, VadkitError):
                    with lock:
                        record(item, str(err), None, 0)
                    continue
                errors.append(err)
                stop.set()
                return

    threads_ = [threading.Thread(target=slot, args=(a,), daemon=True) for a in actors]
    for t in threads_:
        t.start()
    for t in threads_:
        t.join()
    for a in actors:
        try:
            name, rss = ray.get(a.usage.remote())
            result.peak_rss_mib[name] = max(rss, result.peak_rss_mib.get(name, 0.0))
        except Exception:  # noqa: BLE001 - usage is a report, never a failure
            pass
        ray.kill(a)
    if errors:
        raise errors[0]
