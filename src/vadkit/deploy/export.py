"""Export a trained method head (and the EfficientNet-Lite0 backbone) to ONNX or OpenVINO.

Only the tensor part of a method goes into the graph, with a dynamic time axis; the steps of
its ``score`` that are not tensor ops on the whole video (pooling to 32 segments, sliding
windows, window merging, per-crop loops) run in numpy in :mod:`vadkit.deploy.exported`, so
an exported model scores with no PyTorch import. Every export is checked against
``model.score`` on real features (:func:`check_parity`) before it is reported.

=========  ===================  ==========================================================
graph      methods              graph input -> output (numpy around it)
=========  ===================  ==========================================================
snippet    rtfm, s3r, ur_dmu    ``features (B, C, T, D) -> scores (B, T)`` (ur_dmu: C = 1,
                                one call per crop, as its ``score``)
pooled     mil, tacnet          the same graph on the video pooled to ``n_segments``; each
                                snippet takes its segment's score (tacnet: no k-means, which
                                changes only the video score)
window     anm                  ``windows (N, L, D) -> probabilities (N,)``; windows averaged
window     aed_t                ``windows (N, L, D) -> frame scores (N, L*f), class logits``;
                                max-merged
=========  ===================  ==========================================================

One-class scorers are not exported (:data:`NOT_EXPORTED` says why, one line each): ``knn`` /
``patch_knn`` are a nearest-neighbour search over a stored memory bank (numpy already, no
torch on their scoring path), ``motion`` / ``object_speed`` need optical flow, which is not a
feature-store input, and the ``autoencoder``'s network is not an exported graph yet.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadkit.deploy.exported import require_extra
from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write_json

__all__ = [
    "EXPORT_FORMAT",
    "FORMATS",
    "HEADS",
    "NOT_EXPORTED",
    "ExportResult",
    "check_parity",
    "export_backbone",
    "export_head",
    "export_run",
    "not_exported_message",
    "require_extra",
]

EXPORT_FORMAT = "vadkit-export/1"
FORMATS = ("onnx", "openvino")
#: largest |exported - PyTorch| accepted on scores in [0, 1] (float32 graphs; op order differs)
TOLERANCE = 1e-4
OPSET = 17
#: methods whose head exports (see the module table)
HEADS = ("mil", "rtfm", "s3r", "ur_dmu", "tacnet", "anm", "aed_t")
#: why each one-class scorer is not exported (printed by ``vadkit export`` as one line)
NOT_EXPORTED = {
    "knn": "it is a nearest-neighbour search over a stored memory bank, numpy already",
    "patch_knn": "it is a nearest-neighbour search over a stored memory bank, numpy already",
    "motion": "it scores optical flow, which is not a feature-store input",
    "object_speed": "it scores optical flow, which is not a feature-store input",
    "scene": "it scores optical flow and frames (motion + appearance), not feature-store "
    "features; vadkit predict --model RUN_DIR scores it",
    "autoencoder": "its reconstruction network is not an exported graph yet; "
    "vadkit predict --model RUN_DIR scores it with PyTorch",
}


def not_exported_message(method: str, where: str) -> str:
    """The one-line reason ``method`` has no exported head."""
    why = NOT_EXPORTED.get(method, f"export supports {', '.join(HEADS)}")
    return f"{where}: method {method!r} has no exportable head ({why})"


def _graph(method: str, model: Any) -> tuple[Any, dict[str, Any], tuple[int, ...], list[str]]:
    """(torch module, sidecar params, example input shape, output names) for ``method``."""
    import torch
    from torch import nn

    cfg = model.config
    d = int(cfg.feature_dim)

    class Head(nn.Module):
        def __init__(self, fn: Any) -> None:
            super().__init__()
            self.model = model  # registers the weights
            self.fn = fn

        def forward(self, x: torch.Tensor) -> Any:
            return self.fn(x)

    snippet = ["scores"]
    if method in ("rtfm", "s3r"):
        return Head(model.snippet_scores).eval(), {"graph": "snippet"}, (1, 2, 40, d), snippet
    if method == "ur_dmu":
        params = {"graph": "snippet", "per_crop": True}
        return Head(model.snippet_scores).eval(), params, (1, 1, 40, d), snippet
    if method in ("mil", "tacnet"):
        fn = (lambda x: model(x)["snippet_scores"]) if method == "mil" else model.snippet_scores
        n = int(cfg.n_segments)
        return Head(fn).eval(), {"graph": "pooled", "n_segments": n}, (1, 2, n, d), snippet
    if method == "anm":
        fn = lambda w: torch.sigmoid(model.sequence_logits(w)[0])  # noqa: E731
        params = {"graph": "anm_windows", "window": int(cfg.window), "stride": int(cfg.stride)}
        return Head(fn).eval(), params, (4, int(cfg.window), d), ["probabilities"]
    if method == "aed_t":
        L, f = int(cfg.max_seqlen), int(cfg.frames_per_snippet)
        params = {"graph": "aed_t_windows", "max_seqlen": L, "frames_per_snippet": f}
        params.update(window_stride=int(cfg.window_stride), merge=str(cfg.merge))
        fn = lambda w: model.windows_forward(w)[::-1]  # noqa: E731 (frame scores first)
        return Head(fn).eval(), params, (4, L, d), ["frame_scores", "class_logits"]
    raise VadkitError(not_exported_message(method, "vadkit export"))


def _dynamic_axes(shape: tuple[int, ...], outputs: list[str]) -> dict[str, dict[int, str]]:
    if len(shape) == 4:  # (B, C, T, D): all but D dynamic
        axes = {"features": {0: "batch", 1: "crops", 2: "time"}}
        return {**axes, **{o: {0: "batch", 1: "time"} for o in outputs}}
    axes = {"features": {0: "windows"}}  # (N, L, D): N windows over time; anm: L too
    if outputs == ["probabilities"]:
        axes["features"][1] = "time"
    return {**axes, **{o: {0: "windows"} for o in outputs}}


def _torch_export(module: Any, shape: tuple[int, ...], outputs: list[str], path: Path) -> None:
    import torch

    example = torch.randn(*shape)
    with warnings.catch_warnings():
        # the legacy (TorchScript) exporter: dynamic_axes with no onnxscript dependency;
        # input checks inside forward are traced as constants (TracerWarning)
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (example,), str(path), dynamo=False, opset_version=OPSET,
            input_names=["features"], output_names=outputs,
            dynamic_axes=_dynamic_axes(shape, outputs),
        )  # fmt: skip


def _to_openvino(onnx_path: Path, out: Path) -> None:
    ov = require_extra("openvino")
    model = ov.convert_model(str(onnx_path))
    ov.save_model(model, str(out), compress_to_fp16=False)


def sidecar_path(model_file: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json`` (feature spec, threshold, graph parameters)."""
    return Path(str(model_file) + ".json")


@dataclass
class ExportResult:
    """What an export wrote and how it compared with PyTorch."""

    path: Path
    sidecar: Path
    method: str
    parity: dict[str, Any]

    def lines(self) -> list[str]:
        p = self.parity
        return [
            f"exported {self.method} -> {self.path} (+ {self.sidecar.name})",
            f"parity {p['runtime']} vs PyTorch on {p['videos']} inputs of {p['source']}: "
            f"max |diff|{' / max |feature|' if p.get('relative') else ''} "
            f"{p['max_abs_diff']:.2e} (tolerance {p['tolerance']:.0e}) "
            + ("ok" if p["ok"] else "FAILED"),
        ]


def export_head(
    method: str,
    model: Any,
    out: str | Path,
    fmt: str = "onnx",
    meta: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Export ``model``'s head to ``out`` (``.onnx``, or ``.xml`` + ``.bin`` for openvino).

    ``meta`` (feature spec, thresholds, class names) goes into the sidecar JSON and, for ONNX,
    the model's metadata. Returns ``(model file, sidecar)``.
    """
    if fmt not in FORMATS:
        raise VadkitError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    require_extra("onnx")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    module, params, shape, outputs = _graph(method, model)
    doc = {"format": EXPORT_FORMAT, "method": method, **params, "outputs": outputs}
    doc.update(meta or {})
    onnx_path = out if fmt == "onnx" else out.with_suffix(".onnx.tmp")
    _torch_export(module, shape, outputs, onnx_path)
    onnx = require_extra("onnx")
    proto = onnx.load(str(onnx_path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "vadkit", json.dumps(doc)
    onnx.save(proto, str(onnx_path))
    if fmt == "openvino":
        try:
            _to_openvino(onnx_path, out)
        finally:
            onnx_path.unlink(missing_ok=True)
    side = sidecar_path(out)
    atomic_write_json(side, doc)
    return out, side


def check_parity(
    model: Any, exported: str | Path, videos: dict[str, np.ndarray], source: str
) -> dict[str, Any]:
    """Largest |exported scores - ``model.score``| over ``videos`` (id -> ``(T, C, D)``)."""
    import torch

    from vadkit.deploy.exported import load_exported_head

    head = load_exported_head(exported)
    worst, t_torch, t_exported = 0.0, 0.0, 0.0
    for feats in videos.values():
        x = np.ascontiguousarray(np.asarray(feats, np.float32))
        t0 = time.perf_counter()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # short-video warnings: same input on both sides
            ref = np.asarray(model.score(torch.from_numpy(x.transpose(1, 0, 2)[None].copy())))
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = head.score(x)
        t_exported += time.perf_counter() - t1
        t_torch += t1 - t0
        worst = max(worst, float(np.abs(ref.reshape(-1) - got).max()))
    return {
        "runtime": head.runtime, "source": source, "videos": len(videos),
        "max_abs_diff": worst, "tolerance": TOLERANCE, "ok": worst <= TOLERANCE,
        "seconds_pytorch": t_torch, "seconds_exported": t_exported,
    }  # fmt: skip


def _parity_videos(run_dir: Path, store: str | None, limit: int) -> tuple[dict, str]:
    """Up to ``limit`` videos of ``store`` (default: the run's test store)."""
    from vadkit.io.store import FeatureStore
    from vadkit.train.rundir import read_config

    if store is None:
        data = (read_config(run_dir).get("data") or {}) if run_dir.is_dir() else {}
        store = data.get("test") or data.get("train")
    if not store or not Path(store).is_dir():
        raise VadkitError(
            f"no feature store to check the export on (the run's test store {store} is not "
            "found); pass --check-store STORE"
        )
    fs = FeatureStore.open(store)
    ids = list(fs.ids)[:limit]
    return {v: np.asarray(fs.load(v), np.float32) for v in ids}, str(store)


def export_run(
    model_path: str | Path,
    out: str | Path,
    fmt: str = "onnx",
    *,
    check_store: str | None = None,
    check_videos: int = 3,
) -> ExportResult:
    """Export a run directory's (or checkpoint's) head and check it on real features."""
    from vadkit.deploy.loading import load_model

    predictor = load_model(model_path)
    if predictor.kind in ("one-class", "scene") or predictor.method not in HEADS:
        raise VadkitError(not_exported_message(predictor.method, str(model_path)))
    meta = {
        "kind": predictor.kind,
        "feature_spec": predictor.feature_spec.info.to_dict(),
        "thresholds": dict(predictor.thresholds),
        "class_names": {str(k): v for k, v in predictor.class_names.items()},
        "min_snippets": predictor.min_snippets,
        "source": str(model_path),
    }
    path, side = export_head(predictor.method, predictor.model, out, fmt, meta)
    run_dir = Path(model_path) if Path(model_path).is_dir() else Path(model_path).parent
    videos, source = _parity_videos(run_dir, check_store, check_videos)
    parity = check_parity(predictor.model, path, videos, source)
    doc = json.loads(side.read_text(encoding="utf-8"))
    atomic_write_json(side, {**doc, "parity": parity})
    if not parity["ok"]:
        raise VadkitError(
            f"exported {path} differs from PyTorch by {parity['max_abs_diff']:.2e} "
            f"> {TOLERANCE:.0e} on {source}"
        )
    return ExportResult(path, side, predictor.method, parity)


def export_backbone(
    name: str,
    out: str | Path,
    fmt: str = "onnx",
    *,
    weights: str | None = None,
    random_init: bool = False,
    check_inputs: np.ndarray | None = None,
    source: str = "given inputs",
) -> ExportResult:
    """Export feature backbone ``name`` (batch axis dynamic) and check it against PyTorch.

    Frame backbones take ``images (N, 3, H, W)``, clip backbones ``clips (N, 3, L, H, W)``
    (normalised as the backbone's config says); the output is ``features (N, out_dim)``.
    ``check_inputs`` are the real inputs of the parity check (default: a fixed random batch).
    """
    import torch

    from vadkit.backbones.registry import build_backbone

    if fmt not in FORMATS:
        raise VadkitError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    require_extra("onnx")
    net, config, sha = build_backbone(name, weights, random_init=random_init)
    h, w = config.input_size
    clip = config.kind != "frame"
    shape = (1, 3, int(config.clip_len), h, w) if clip else (1, 3, h, w)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx_path = out if fmt == "onnx" else out.with_suffix(".onnx.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (torch.randn(*shape),), str(onnx_path), dynamo=False, opset_version=OPSET,
            input_names=["features"], output_names=["features_out"],
            dynamic_axes={"features": {0: "batch"}, "features_out": {0: "batch"}},
        )  # fmt: skip
    if fmt == "openvino":
        try:
            _to_openvino(onnx_path, out)
        finally:
            onnx_path.unlink(missing_ok=True)
    doc = {"format": EXPORT_FORMAT, "backbone": name, "weights_sha256": sha,
           "input_shape": ["batch", *shape[1:]], "out_dim": int(config.out_dim),
           "mean": list(config.mean), "std": list(config.std), "kind": config.kind,
           "input_size": [h, w], "resize_short": int(config.resize_short),
           "interpolation": config.interpolation, "channel_order": config.channel_order,
           "clip_len": int(config.clip_len)}  # fmt: skip
    side = sidecar_path(out)
    x = check_inputs
    if x is None:
        x, source = np.random.default_rng(0).normal(size=(2, *shape[1:])), "random inputs"
    x = np.ascontiguousarray(x, np.float32)
    from vadkit.deploy.exported import ExportedRuntime

    runtime = ExportedRuntime(out)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    got = runtime.run(x)[0]
    # features are unbounded: the tolerance is relative to their scale
    diff = float(np.abs(ref - got).max() / max(1.0, float(np.abs(ref).max())))
    parity = {"runtime": runtime.name, "source": source, "videos": len(x),
              "max_abs_diff": diff, "tolerance": TOLERANCE, "ok": diff <= TOLERANCE,
              "relative": True}  # fmt: skip
    atomic_write_json(side, {**doc, "parity": parity})
    if not parity["ok"]:
        raise VadkitError(f"exported {out} differs from PyTorch by {diff:.2e} > {TOLERANCE:.0e}")
    return ExportResult(out, side, name, parity)


def backbone_inputs(video: str | Path, name: str, n: int = 4) -> np.ndarray:
    """``n`` real inputs of backbone ``name`` from ``video`` (frames or clips, centre crop)."""
    from vadkit.backbones.registry import get_config
    from vadkit.extract.transforms import prepare_clips
    from vadkit.io.video import open_video

    config = get_config(name)
    L = int(config.clip_len)
    with open_video(video) as reader:
        total = len(reader)
        if total < L:
            raise VadkitError(f"{video}: {total} frames, the backbone needs clips of {L}")
        starts = np.linspace(0, total - L, n).astype(int)
        clips = [prepare_clips(reader.get_frames(range(s, s + L)), config)[0] for s in starts]
    x = np.stack([c.numpy() for c in clips])  # (n, L, 3, h, w)
    return x[:, 0] if config.kind == "frame" else x.transpose(0, 2, 1, 3, 4)
