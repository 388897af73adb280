"""Training iterations/s and scoring snippets/s per method, cache-fed against load-and-pool.

Run:  python benchmarks/train_speed.py [--methods rtfm,s3r] [--steps 3] [--threads 2]
      [--quick] [--reference-dir PATH] [--anm-reference-dir PATH]

For each method, at its published shapes (batch per class, crops and feature dim from the
defaults of its config: RTFM 32 + 32 videos x 10 crops x 32 segments x 2048), writes a store of
random per-video ``.npy`` files (``(T, C, D)``, T in 32..``--max-T``) in a temporary folder,
then runs the trainer's loop (``vadkit.train.loop.fit``) for ``--steps`` steps twice: fed from
the pooled memmap cache (``vadkit.io.pooled.pooled_features``) and fed by loading each
video's ``.npy`` and pooling it (``vadkit.sampling.pool_segments``) every step. The files were
just written, so both read from the page cache. Then ``model.score`` on ``--score-videos``
whole videos of ``--score-T`` snippets. Prints seconds per step (of which loading), it/s,
snippets/s and the ratios; the folder is removed at the end.

``--reference-dir`` points at a checkout of the RTFM reference code (``tianyu0207/RTFM``): its
``model.Model`` and ``train.train`` are imported from there and timed on the same batches
(its loss calls ``label.cuda()``, which is made a no-op while it runs on CPU). Without it
the reference row is skipped. ``--ur-dmu-reference-dir`` does the same for UR-DMU
(``henrryzh1/UR-DMU``: ``model.WSAD``, ``train.AD_Loss`` and ``train.train``; needs ``einops``;
``ipdb`` and ``visdom``, imported there but not used, are stubbed when missing), fed one crop
per video as its loaders do.
``--anm-reference-dir`` does the same for the salient-feature
classifier (``sakurada-cnq/salient_feature_anomaly``): ``network/video_classifier.py``'s
``VideoClassifier(r=3, da=64)``, its bundled ``radam.RAdam`` and ``nn.BCELoss`` as in its
``train.py`` (32 + 32 single-crop sequences per step; the per-step test evaluation of that
loop is not timed), and its windowed test procedure (``split_cal_auc_videoclassifier``: crops
as the batch, windows of 28 snippets) for the scoring speed. No reference code is part of
vadkit.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vadkit.io.pooled import pooled_features
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter
from vadkit.methods.registry import get_method
from vadkit.sampling import pool_segments
from vadkit.train.data import gather
from vadkit.train.loop import fit
from vadkit.train.schedule import ALIASES, Schedule

#: small networks for ``--quick`` (seconds per method); published shapes otherwise
QUICK: dict[str, dict[str, Any]] = {
    "rtfm": dict(feature_dim=64, conv_channels=16, nonlocal_channels=8, hidden1=16, hidden2=8,
                 n_crops=2, batch_normal=4, batch_abnormal=4),
    "s3r": dict(feature_dim=64, trunk_channels=16, nonlocal_channels=8, attention_dim=16,
                gate_hidden=8, hidden1=16, hidden2=8, n_crops=2, batch_normal=4,
                batch_abnormal=4),
    "mil": dict(feature_dim=64, hidden1=16, hidden2=8, videos_per_class=4),
    "anm": dict(feature_dim=64, d_a=8, batch_size=4),
    "tacnet": dict(feature_dim=64, hidden=16, attention_dim=16, classifier_dims=(16, 8)),
    "ur_dmu": dict(feature_dim=64, n_crops=2, embed_dim=16, heads=2, dim_head=8, mlp_dim=16,
                   head_hidden=8, a_nums=8, n_nums=8, n_segments=32, batch_normal=4,
                   batch_abnormal=4),
}  # fmt: skip


def batch_per_class(cfg: Any) -> int:
    """The method's published videos per class and step (the trainer's aliases)."""
    return next(int(getattr(cfg, a)) for a in ALIASES["batch_per_class"] if hasattr(cfg, a))


class Timed:
    """Array-like over ``(N, S, C, D)`` rows: ``[rows]`` records how long each read took."""

    def __init__(self, shape: tuple[int, ...], read: Any) -> None:
        self.shape, self.read, self.seconds = shape, read, []

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self.read(np.asarray(rows))
        self.seconds.append(time.perf_counter() - start)
        return out


def from_cache(cache: Any) -> Any:
    """rows -> ``(B, S, C, D)`` slices of the pooled memmap cache."""
    return lambda rows: np.asarray(cache.features[rows])


def load_and_pool(files: list[Path], n_segments: int) -> Any:
    """rows -> ``(B, S, C, D)``: each video's ``.npy`` loaded and pooled, every call."""
    return lambda rows: np.stack([pool_segments(np.load(files[i]), n_segments) for i in rows])


def make_store(path: Path, n: int, crops: int, dim: int, max_t: int) -> FeatureStore:
    """``n`` random videos (half normal) of T in 32..max_t snippets as per-video ``.npy``."""
    writer = StoreWriter(
        path, StoreInfo(backbone="random", weights_sha256="-", dim=dim, crops=crops)
    )
    rng = np.random.default_rng(0)
    for i in range(n):
        t = int(rng.integers(32, max_t + 1))
        writer.add(f"v{i:04d}", rng.random((t, crops, dim), dtype=np.float32), label=i % 2,
                   split="train")  # fmt: skip
    writer.finalize()
    return FeatureStore.open(path)


def train_loop(method: Any, cfg: Any, feats: Timed, labels: np.ndarray, steps: int) -> tuple:
    """``fit`` for 1 + ``steps`` steps: (median s/step, median loading s/step, model).

    The first step (lazy allocations, optimiser state) is not counted.
    """
    torch.manual_seed(0)
    model = method.model_cls(cfg)
    times: list[float] = []
    sched = Schedule(batch_per_class(cfg), steps + 1, None, 32, 0, steps + 1, {})
    fit(model, feats, labels, np.arange(len(labels)), sched, validate=None, log_every=1,
        log=lambda rec: times.append(rec["time"]))  # fmt: skip
    per_step = np.diff(times)
    loads = feats.seconds[-steps:]  # earlier reads: the optional prepare() hook
    return float(np.median(per_step)), float(np.median(loads)), model


@torch.no_grad()
def score_speed(score: Any, videos: list[torch.Tensor]) -> float:
    """Snippets/s of ``score(x)`` over whole videos ``(1, C, T, D)`` (after one warm-up)."""
    score(videos[0][:, :, :32])
    start = time.perf_counter()
    for x in videos:
        score(x)
    return sum(x.shape[2] for x in videos) / (time.perf_counter() - start)


@contextmanager
def cuda_is_identity():
    """The RTFM reference calls ``label.cuda()`` in its loss; on CPU make that a no-op."""
    old = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.Tensor.cuda = old  # type: ignore[method-assign]


def rtfm_reference(ref: Path, cache: Any, n: int, steps: int, videos: list) -> tuple:
    """(s/step, snippets/s) of the reference ``Model`` and ``train.train`` on the same data."""
    sys.path.insert(0, str(ref))
    try:
        mods = {}
        for name in ("model", "train"):
            spec = importlib.util.spec_from_file_location(f"_rtfm_ref_{name}", ref / f"{name}.py")
            mods[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mods[name])
    finally:
        sys.path.remove(str(ref))
    torch.manual_seed(0)
    model = mods["model"].Model(cache.features.shape[-1], n)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.005)  # main.py
    normal, abnormal = np.flatnonzero(cache.labels == 0), np.flatnonzero(cache.labels == 1)

    def loader(rows: np.ndarray, label: float):
        while True:
            yield torch.from_numpy(gather(cache.features, rows[:n])), torch.full((n,), label)

    viz = type("Viz", (), {"plot_lines": lambda *a, **k: None})()
    times = []
    with cuda_is_identity():
        nl, al = loader(normal, 0.0), loader(abnormal, 1.0)
        for _ in range(steps + 1):  # the first step is not counted, as for vadkit's
            start = time.perf_counter()
            mods["train"].train(nl, al, model, n, opt, viz, torch.device("cpu"))
            times.append(time.perf_counter() - start)
    model.eval()
    return float(np.median(times[1:])), score_speed(lambda x: model(x)[6], videos)


def _import_reference(ref: Path, names: tuple[str, ...], stubs: tuple[str, ...] = ()) -> dict:
    """Import ``ref/<name>.py`` for each name (their own imports resolved from ``ref``)."""
    import types

    added = [m for m in stubs if importlib.util.find_spec(m) is None]
    for m in added:  # imported by the reference but not used on this path
        sys.modules[m] = types.ModuleType(m)
    sys.path.insert(0, str(ref))
    try:
        mods = {}
        for name in names:
            spec = importlib.util.spec_from_file_location(f"_ref_{name}", ref / f"{name}.py")
            mods[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mods[name])
    finally:
        sys.path.remove(str(ref))
    return mods


def ur_dmu_reference(ref: Path, cache: Any, n: int, steps: int, videos: list) -> tuple:
    """(s/step, snippets/s) of the reference ``WSAD`` + ``AD_Loss`` + ``train.train``.

    Its loaders give ``n`` single-crop sequences ``(n, S, D)`` per class (crop 0 of each
    video here); batches are prepared before timing, so the step is compute only.
    """
    mods = _import_reference(ref, ("model", "train"), stubs=("ipdb", "visdom"))
    torch.manual_seed(0)
    net = mods["model"].WSAD(cache.features.shape[-1], flag="Train", a_nums=60, n_nums=60)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999), weight_decay=5e-5)
    normal, abnormal = np.flatnonzero(cache.labels == 0), np.flatnonzero(cache.labels == 1)

    def loader(rows: np.ndarray, label: float):
        x = torch.from_numpy(np.ascontiguousarray(gather(cache.features, rows[:n])[:, 0]))
        while True:
            yield x, torch.full((n,), label)

    viz = type("Viz", (), {"plot_lines": lambda *a, **k: None})()
    criterion, times = mods["train"].AD_Loss(), []
    with cuda_is_identity():
        nl, al = loader(normal, 0.0), loader(abnormal, 1.0)
        for step in range(steps + 1):  # the first step is not counted, as for vadkit's
            start = time.perf_counter()
            mods["train"].train(net, nl, al, opt, criterion, viz, step)
            times.append(time.perf_counter() - start)
        net.eval()
        net.flag = "Test"  # ucf_test.py: each crop a batch of one, crop scores averaged

        def score(x: torch.Tensor) -> torch.Tensor:
            return torch.stack([net(x[:, c])["frame"] for c in range(x.shape[1])]).mean(0)

        snips = score_speed(score, videos)
    return float(np.median(times[1:])), snips


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anm_reference(ref: Path, cache: Any, n: int, steps: int, videos: list) -> tuple:
    """(s/step, snippets/s) of the reference ``VideoClassifier`` + ``RAdam`` on the same data."""
    vc = _load(ref / "network" / "video_classifier.py", "_anm_ref_vc")
    radam = _load(ref / "radam.py", "_anm_ref_radam")
    dim = cache.features.shape[-1]
    torch.manual_seed(0)
    model = vc.VideoClassifier(type("Args", (), {"feature_size": dim})(), r=3, da=64)
    opt, criterion = radam.RAdam(model.parameters()), torch.nn.BCELoss()  # train.py
    normal, abnormal = np.flatnonzero(cache.labels == 0), np.flatnonzero(cache.labels == 1)
    labels = torch.cat([torch.zeros(n), torch.ones(n)])
    times = []
    model.train()
    for _ in range(steps + 1):  # the first step is not counted, as for vadkit's
        start = time.perf_counter()
        x = gather(cache.features, np.r_[normal[:n], abnormal[:n]])  # (2n, C, S, D)
        x = torch.from_numpy(x).reshape(-1, x.shape[2], dim)  # single-crop sequences
        loss = criterion(model(x), labels.repeat_interleave(len(x) // (2 * n)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    model.eval()

    def score(x: torch.Tensor) -> torch.Tensor:  # split_cal_auc_videoclassifier, one video
        out = [model(w).mean(0).repeat(w.shape[1]) for w in torch.split(x[0], 28, dim=1)]
        return torch.cat(out)

    return float(np.median(times[1:])), score_speed(score, videos)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="rtfm,s3r,anm,mil,tacnet,ur_dmu", help="Comma-separated.")
    ap.add_argument("--steps", type=int, default=3, help="Training steps timed each way.")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads.")
    ap.add_argument("--quick", action="store_true", help="Small shapes: runs in seconds.")
    ap.add_argument("--max-T", dest="max_t", type=int, default=160, help="Longest video.")
    ap.add_argument("--score-videos", type=int, default=3, help="Videos scored per method.")
    ap.add_argument("--score-T", dest="score_t", type=int, default=300, help="Their length.")
    ap.add_argument("--reference-dir", type=Path, help="RTFM reference checkout (optional).")
    ap.add_argument("--ur-dmu-reference-dir", type=Path, help="UR-DMU reference (optional).")
    ap.add_argument("--anm-reference-dir", type=Path, help="salient_feature_anomaly checkout.")
    args = ap.parse_args()
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name in names:
        if name not in QUICK:
            ap.error(f"--methods: {name!r} is not one of {', '.join(QUICK)}")
    if args.quick:
        args.max_t, args.score_t = min(args.max_t, 48), min(args.score_t, 64)
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, steps {args.steps} (medians), scoring "
          f"{args.score_videos} videos x T={args.score_t}")  # fmt: skip
    print(" | ".join(HEAD), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="vadkit-train-speed-"))
    try:
        for name in names:
            measure(name, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


HEAD = ("method", "batch x C x S x D", "cache s/step", "(load)", "it/s", "load+pool s/step",
        "(load)", "it/s", "step ratio", "load ratio", "score snip/s")  # fmt: skip


def measure(name: str, args: argparse.Namespace, tmp: Path) -> None:
    """Time one method both ways (and the RTFM reference if asked) and print its rows."""
    method = get_method(name)
    cfg = method.build_config(QUICK[name] if args.quick else {})
    n, crops, dim = batch_per_class(cfg), getattr(cfg, "n_crops", 1), cfg.feature_dim
    store = make_store(tmp / name, 2 * max(n, 2), crops, dim, args.max_t)
    cache = pooled_features(store, n_segments=cfg.n_segments, cache_dir=tmp / f"{name}-cache")
    files = [store.path / e.file for e in store.entries]
    fast = Timed(cache.features.shape, from_cache(cache))
    slow = Timed(cache.features.shape, load_and_pool(files, cfg.n_segments))
    s_fast, l_fast, model = train_loop(method, cfg, fast, cache.labels, args.steps)
    s_slow, l_slow, _ = train_loop(method, cfg, slow, cache.labels, args.steps)
    rng = np.random.default_rng(1)
    videos = [
        torch.from_numpy(rng.random((1, crops, args.score_t, dim), dtype=np.float32))
        for _ in range(args.score_videos)
    ]
    model.eval()
    snips = score_speed(model.score, videos)
    shape = f"{n}+{n}x{crops}x{cfg.n_segments}x{dim}"
    cells = [f"{s_fast:.3f}", f"{l_fast:.3f}", f"{1 / s_fast:.2f}", f"{s_slow:.3f}"]
    cells += [f"{l_slow:.3f}", f"{1 / s_slow:.2f}", f"{s_slow / s_fast:.2f}x"]
    cells += [f"{l_slow / l_fast:.0f}x", f"{snips:.0f}"]
    print(" | ".join([name, shape, *cells]), flush=True)
    if name == "rtfm" and args.reference_dir and not args.quick:
        step, snips = rtfm_reference(args.reference_dir, cache, n, args.steps, videos)
        cells = [f"{step:.3f}", "-", f"{1 / step:.2f}", *["-"] * 5, f"{snips:.0f}"]
        print(" | ".join(["rtfm reference", shape, *cells]), flush=True)
    if name == "ur_dmu" and args.ur_dmu_reference_dir and not args.quick:
        step, snips = ur_dmu_reference(args.ur_dmu_reference_dir, cache, n, args.steps, videos)
        cells = [f"{step:.3f}", "-", f"{1 / step:.2f}", *["-"] * 5, f"{snips:.0f}"]
        shape_ref = f"{n}+{n}x1x{cfg.n_segments}x{dim}"
        print(" | ".join(["ur_dmu reference", shape_ref, *cells]), flush=True)
    if name == "anm" and args.anm_reference_dir and not args.quick:
        step, snips = anm_reference(args.anm_reference_dir, cache, n, args.steps, videos)
        cells = [f"{step:.3f}", "-", f"{1 / step:.2f}", *["-"] * 5, f"{snips:.0f}"]
        print(" | ".join(["anm reference", shape, *cells]), flush=True)
    asked = {"rtfm": args.reference_dir, "ur_dmu": args.ur_dmu_reference_dir,
             "anm": args.anm_reference_dir}.get(name)  # fmt: skip
    if asked and args.quick:  # said, never silently dropped
        print(f"{name} reference | - | not run: --quick uses small shapes and the reference "
              f"code runs at its published shapes only; drop --quick to time it ({asked})",
              flush=True)  # fmt: skip
    shutil.rmtree(tmp / name)
    shutil.rmtree(tmp / f"{name}-cache")


if __name__ == "__main__":
    main()
