"""Reference implementations' training steps and scoring for ``benchmarks/train_speed.py``.

Each ``<method>_reference(ref, ctx)`` imports the reference code from the checkout ``ref``
(outside the repository; commits as in ``benchmarks/reference/*_golden.py``), runs its
training step on the batch vadkit trains on, at the reference's shapes, and scores the same
test videos. It returns ``{"step_s", "flops", "snips", "shape"}``; whatever stops it (a
missing checkout, a missing dependency) propagates and becomes a printed row. No reference
code is part of vadkit: only these loaders, run by hand.

Made CPU-able at run time, never by editing the checkout (except where the golden scripts
record a ``sed`` edit: UR-DMU's copy has its ``.cuda()`` calls deleted): ``Tensor.cuda`` is
the identity while a reference runs, S3R's import-time
``torch.set_default_tensor_type('torch.cuda.FloatTensor')`` is skipped, and modules imported
but unused on these paths (``ipdb``, ``visdom``, ``numba``) are stubbed when missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from vadkit.sampling import pool_segments
from vadkit.train.data import gather

__all__ = ["REFERENCES", "Ctx", "score_speed", "timed_steps"]


@dataclass
class Ctx:
    """What a reference is run on: vadkit's pooled cache, batch size and test videos."""

    features: Any  # (N, S, C, D) pooled cache
    labels: np.ndarray  # (N,)
    n: int  # videos per class and step
    steps: int  # timed steps (after one counted for FLOPs)
    videos: list[torch.Tensor]  # (1, C, T, D) test videos
    dictionary: np.ndarray | None = None  # S3R's atoms (n_atoms, D), vadkit's

    def batch(self) -> np.ndarray:
        """``(2n, S, C, D)``: the first n normal then the first n abnormal rows."""
        normal = np.flatnonzero(self.labels == 0)[: self.n]
        abnormal = np.flatnonzero(self.labels == 1)[: self.n]
        return gather(self.features, np.r_[normal, abnormal])


def timed_steps(step: Callable[[], Any], steps: int) -> tuple[float, float]:
    """(median s/step over ``steps`` steps, FLOPs of one step).

    The first call runs under ``FlopCounterMode`` (matmuls and convolutions, forward and
    backward) and is not timed: it also pays lazy allocations and optimiser state.
    """
    with FlopCounterMode(display=False) as counter:
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), float(counter.get_total_flops())


@torch.no_grad()
def score_speed(score: Callable[[torch.Tensor], Any], videos: list[torch.Tensor]) -> float:
    """Snippets/s of ``score(x)`` over whole videos ``(1, C, T, D)`` (after one warm-up)."""
    score(videos[0][:, :, :32])
    start = time.perf_counter()
    for x in videos:
        score(x)
    return sum(x.shape[2] for x in videos) / (time.perf_counter() - start)


def _jit(*args: Any, **kwargs: Any) -> Any:
    """``numba.jit`` / ``numba.cuda.jit`` stand-in: both decorator forms, a no-op."""
    return args[0] if args and callable(args[0]) else (lambda f: f)


@contextmanager
def reference_env(ref: Path, extra: tuple[Path, ...] = ()) -> Iterator[None]:
    """``ref`` first on ``sys.path``, CUDA calls made CPU-able, unused imports stubbed.

    Modules imported from the checkout are dropped from ``sys.modules`` afterwards, so two
    references with a ``model.py`` each do not see each other's (torch's own lazily
    imported submodules stay: they cannot be imported twice).
    """
    if not ref.is_dir():
        raise FileNotFoundError(f"no reference checkout at {ref}")
    before = set(sys.modules)
    for name in ("ipdb", "visdom", "numba"):
        if importlib.util.find_spec(name) is None:
            stub = types.ModuleType(name)
            stub.jit = _jit  # type: ignore[attr-defined]
            stub.cuda = types.SimpleNamespace(jit=_jit)  # type: ignore[attr-defined]
            sys.modules[name] = stub
    paths = [str(ref), *map(str, extra)]
    sys.path[:0] = paths
    old_cuda, old_default = torch.Tensor.cuda, torch.set_default_tensor_type
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    torch.set_default_tensor_type = lambda *a, **k: None  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.Tensor.cuda = old_cuda  # type: ignore[method-assign]
        torch.set_default_tensor_type = old_default
        for p in paths:
            sys.path.remove(p)
        for name in set(sys.modules) - before:  # the reference's own, and the stubs
            where = getattr(sys.modules[name], "__file__", None) or ""
            if where.startswith(tuple(paths)) or name in ("ipdb", "visdom", "numba"):
                del sys.modules[name]


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Viz:
    plot_lines = staticmethod(lambda *a, **k: None)


def _result(step_s: float, flops: float, snips: float, shape: str) -> dict[str, Any]:
    return {"step_s": step_s, "flops": flops, "snips": snips, "shape": shape}


def rtfm_reference(ref: Path, ctx: Ctx, extra: tuple[Path, ...] = ()) -> dict[str, Any]:
    """``tianyu0207/RTFM``: ``model.Model`` and ``train.train`` (its loss, backward, Adam)."""
    with reference_env(ref, extra):
        model_py, train_py = _load(ref / "model.py", "model"), _load(ref / "train.py", "train")
        x = torch.from_numpy(ctx.batch())
        torch.manual_seed(0)
        model = model_py.Model(x.shape[-1], ctx.n)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.005)  # main.py
        n = ctx.n
        normal = iter(lambda: (x[:n], torch.zeros(n)), None)
        abnormal = iter(lambda: (x[n:], torch.ones(n)), None)
        dev = torch.device("cpu")
        step_s, flops = timed_steps(
            lambda: train_py.train(normal, abnormal, model, n, opt, _Viz(), dev), ctx.steps
        )
        model.eval()
        snips = score_speed(lambda v: model(v)[6], ctx.videos)  # test_10crop.py's logits
    return _result(step_s, flops, snips, "x".join(map(str, (f"{n}+{n}", *x.shape[1:]))))


def s3r_reference(ref: Path, ctx: Ctx, extra: tuple[Path, ...] = ()) -> dict[str, Any]:
    """``louisYen/S3R``: ``S3R`` and ``engine.trainer.do_train`` with vadkit's dictionary."""
    with reference_env(ref, extra):
        detector = importlib.import_module("anomaly.models.detectors.detector")
        trainer = importlib.import_module("anomaly.engine.trainer")
        x = torch.from_numpy(ctx.batch())
        n, dim = ctx.n, x.shape[-1]
        atoms = torch.from_numpy(np.asarray(ctx.dictionary, dtype=np.float32))
        torch.manual_seed(0)
        model = detector.S3R(dim, n, 32, dropout=0.7, modality="taskaware")
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.005)
        macro = atoms[None].expand(n, -1, -1)  # the dataset gives every video the dictionary
        normal = iter(lambda: (x[:n], torch.zeros(n), macro, torch.zeros(n)), None)
        abnormal = iter(lambda: (x[n:], torch.ones(n), macro, torch.zeros(n)), None)
        dev = torch.device("cpu")
        step_s, flops = timed_steps(
            lambda: trainer.do_train(normal, abnormal, model, n, opt, dev), ctx.steps
        )
        model.eval()
        # inference.py: the whole video and the dictionary, its 'video_scores'
        snips = score_speed(lambda v: model(v, atoms[None])["video_scores"], ctx.videos)
    return _result(step_s, flops, snips, "x".join(map(str, (f"{n}+{n}", *x.shape[1:]))))


def mil_reference(ref: Path, ctx: Ctx, extra: tuple[Path, ...] = ()) -> dict[str, Any]:
    """ekosman's port: ``AnomalyDetector``, ``RegularizedLoss(custom_objective)``, Adadelta."""
    with reference_env(ref, extra):
        adm = importlib.import_module("network.anomaly_detector_model")
        x = torch.from_numpy(np.ascontiguousarray(ctx.batch()[:, 0]))  # (2n, 32, D) bags
        y = torch.cat([torch.zeros(ctx.n), torch.ones(ctx.n)])
        torch.manual_seed(0)
        net = adm.AnomalyDetector(input_dim=x.shape[-1])
        criterion = adm.RegularizedLoss(net, adm.custom_objective)
        opt = torch.optim.Adadelta(net.parameters(), lr=0.01, eps=1e-8)
        net.train()

        def step() -> None:  # network/TorchUtils.py do_epoch
            loss = criterion(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        step_s, flops = timed_steps(step, ctx.steps)
        net.eval()
        snips = score_speed(lambda v: net(v[:, 0]), ctx.videos)
    return _result(step_s, flops, snips, f"{ctx.n}+{ctx.n}x1x{x.shape[1]}x{x.shape[2]}")


def anm_reference(ref: Path, ctx: Ctx, extra: tuple[Path, ...] = ()) -> dict[str, Any]:
    """``sakurada-cnq/salient_feature_anomaly``: ``VideoClassifier(r=3, da=64)``, RAdam, BCE."""
    with reference_env(ref, extra):
        vc = _load(ref / "network" / "video_classifier.py", "video_classifier")
        radam = _load(ref / "radam.py", "radam")
        b = ctx.batch()  # (2n, C, S, D): every crop a single-crop sequence, as train.py
        x = torch.from_numpy(b).reshape(-1, b.shape[2], b.shape[3])
        y = torch.cat([torch.zeros(ctx.n), torch.ones(ctx.n)]).repeat_interleave(b.shape[1])
        torch.manual_seed(0)
        model = vc.VideoClassifier(types.SimpleNamespace(feature_size=b.shape[-1]), r=3, da=64)
        opt, criterion = radam.RAdam(model.parameters()), torch.nn.BCELoss()
        model.train()

        def step() -> None:
            loss = criterion(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        step_s, flops = timed_steps(step, ctx.steps)
        model.eval()

        def score(v: torch.Tensor) -> torch.Tensor:  # split_cal_auc_videoclassifier
            out = [model(w).mean(0).repeat(w.shape[1]) for w in torch.split(v[0], 28, dim=1)]
            return torch.cat(out)

        snips = score_speed(score, ctx.videos)
    return _result(step_s, flops, snips, f"{ctx.n}+{ctx.n}x{b.shape[1]}x{b.shape[2]}x{b.shape[3]}")


def tacnet_reference(ref: Path, ctx: Ctx, extra: tuple[Path, ...] = ()) -> dict[str, Any]:
    """TACnet head (``src/backbone.py``) at its own widths, its five losses, AdamW 1e-5.

    Needs ``kmeans_pytorch`` (the commit of ``tacnet_golden.py``) importable: installed, or
    its checkout given with ``--ref-path``.
    """
    with reference_env(ref, extra):
        backbone = importlib.import_module("src.backbone")
        loss = importlib.import_module("src.loss")
        config = importlib.import_module("src.config")
        x = torch.from_numpy(np.ascontiguousarray(ctx.batch()[:, 0]))  # (2n, 32, 4096)
        y = torch.cat([torch.zeros(ctx.n), torch.ones(ctx.n)]).long()
        torch.manual_seed(0)
        dev = torch.device("cpu")
        net = backbone.TACnet(types.SimpleNamespace(attention_type="gate"), dev)
        opt = torch.optim.AdamW([{"params": net.parameters(), "lr": 1e-5}])
        bce = torch.nn.BCELoss()
        terms = [loss.InnerBagLoss(dev), loss.MaxminLoss(), loss.SmoothLoss(), loss.SmallLoss()]
        net.train()

        def step() -> None:  # src/train.py
            _, clusters, seg, bag, _ = net(x)
            parts = [bce(bag.sum(1).view(-1), y.view(-1).float()), terms[0](clusters, y)]
            parts += [terms[1](seg, y), terms[2](seg), terms[3](seg)]
            total = sum(p * t for p, t in zip(config.loss_parameter, parts, strict=True))
            opt.zero_grad()
            total.backward()
            opt.step()

        step_s, flops = timed_steps(step, ctx.steps)
        net.eval()

        def score(v: torch.Tensor) -> torch.Tensor:  # 32 segments, as vadkit's score pools
            seg = pool_segments(v[0, 0].numpy()[:, None], 32)[:, 0]
            return net(torch.from_numpy(np.ascontiguousarray(seg))[None])[2]

        snips = score_speed(score, ctx.videos)
    return _result(step_s, flops, snips, f"{ctx.n}+{ctx.n}x1x{x.shape[1]}x{x.shape[2]}")


def ur_dmu_reference(ref: Path, ctx: Ctx, extra: tuple[Path, ...] = ()) -> dict[str, Any]:
    """``henrryzh1/UR-DMU``: ``WSAD`` + ``AD_Loss`` + ``train.train``, one crop per video.

    The copy needs the ``.cuda()`` deletions of ``ur_dmu_golden.py`` and ``einops``.
    """
    with reference_env(ref, extra):
        model_py, train_py = _load(ref / "model.py", "model"), _load(ref / "train.py", "train")
        x = torch.from_numpy(np.ascontiguousarray(ctx.batch()[:, 0]))  # its loaders' crop
        n = ctx.n
        torch.manual_seed(0)
        net = model_py.WSAD(x.shape[-1], flag="Train", a_nums=60, n_nums=60)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999), weight_decay=5e-5)
        normal = iter(lambda: (x[:n], torch.zeros(n)), None)
        abnormal = iter(lambda: (x[n:], torch.ones(n)), None)
        criterion, count = train_py.AD_Loss(), iter(range(10**9))
        step_s, flops = timed_steps(
            lambda: train_py.train(net, normal, abnormal, opt, criterion, _Viz(), next(count)),
            ctx.steps,
        )
        net.eval()
        net.flag = "Test"  # ucf_test.py: each crop a batch of one, crop scores averaged

        def score(v: torch.Tensor) -> torch.Tensor:
            return torch.stack([net(v[:, c])["frame"] for c in range(v.shape[1])]).mean(0)

        snips = score_speed(score, ctx.videos)
    return _result(step_s, flops, snips, f"{n}+{n}x1x{x.shape[1]}x{x.shape[2]}")


#: method -> (command-line flag naming its checkout, runner)
REFERENCES: dict[str, tuple[str, Callable[..., dict[str, Any]]]] = {
    "mil": ("--mil-reference-dir", mil_reference),
    "rtfm": ("--reference-dir", rtfm_reference),
    "s3r": ("--s3r-reference-dir", s3r_reference),
    "anm": ("--anm-reference-dir", anm_reference),
    "tacnet": ("--tacnet-reference-dir", tacnet_reference),
    "ur_dmu": ("--ur-dmu-reference-dir", ur_dmu_reference),
}
