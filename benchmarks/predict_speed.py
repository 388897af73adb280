"""`predict` speed against extraction alone, the stream, and exported scoring, in one run.

Run:  python benchmarks/predict_speed.py [--video DIR] [--rounds 3] [--threads 2]

On a real Ped2 test video (``/work/shared/data/ped2/testing/frames/01``, 180 frames at
10 fps) with the real EfficientNet-Lite0 weights and ``vadkit extract``'s default snippets
(16 frames, every frame encoded, centre crop):

1. extraction alone (``encode_video``: decode, resize, crop, network, snippet means) against
   ``predict_video`` (the same extraction + the RTFM head + per-frame expansion + events);
   ratio = predict / extraction (goal < 1.05: scoring and event finding add under 5%);
2. the stream (``vadkit.deploy.stream.predict_stream`` on the same frames, fed as fast as
   they decode): frames/s and p50 / p95 latency from a frame's arrival to its score;
3. the head alone on the same real features: PyTorch ``model.score`` against the exported
   graph on ONNX Runtime (``vadkit.deploy.exported``), snippets/s and ratio;
4. the torch-free path of ``vadkit predict --model model.onnx --backbone-model effnet.onnx``
   (numpy frame pipeline + both graphs on ONNX Runtime), frames/s.

The head is a seeded, untrained RTFM at its default size (1280-d input): the cost of scoring
does not depend on the weights. Times are the best of ``--rounds``; temporary files are
removed. Numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vadkit.backbones.registry import get_config
from vadkit.deploy.model import FeatureSpec, Predictor
from vadkit.deploy.predict import predict_video
from vadkit.extract import ExtractOptions, encode_video, load_encoder
from vadkit.extract.options import store_info
from vadkit.io.stream import FrameStream
from vadkit.methods.registry import get_method

VIDEO = Path("/work/shared/data/ped2/testing/frames/01")
FPS = 10.0  # UCSD Ped2 frame rate


def best_of(rounds: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """(best seconds, last result) of ``rounds`` calls of ``fn``."""
    best, out = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def rtfm_predictor(encoder: Any) -> Predictor:
    """A seeded RTFM on the store spec ``vadkit extract`` writes by default for ``encoder``."""
    torch.manual_seed(0)
    method = get_method("rtfm")
    model = method.model_cls(
        method.build_config({"feature_dim": 1280, "conv_channels": 320})
    ).eval()
    info = store_info(get_config("efficientnet_lite0"), ExtractOptions(), encoder.weights_sha256)
    return Predictor("rtfm", "weak", FeatureSpec(info), model, Path("rtfm (seeded)"),
                     {"threshold": 0.5})  # fmt: skip


# ---------------------------------------------------------------------------- stream
def stream_section(predictor: Predictor, encoder: Any, video: Path, n_frames: int) -> None:
    """STREAM: frames/s and arrival-to-score latency of ``predict_stream`` on the frames.

    The frames are fed as fast as they are decoded (no real-time pacing), so frames/s is the
    stream's throughput and the latency includes the wait for a frame's snippet to fill
    (16 frames): what a live source faster than the model would see. The latency is measured
    here (each frame stamped as it is handed over) and by the stream itself (its summary).
    """
    from vadkit.deploy.stream import predict_stream

    arrived: dict[int, float] = {}
    latencies: list[float] = []
    frames = FrameStream(video, video.name, fps=FPS)

    def source():  # stamps each frame as it arrives
        for i, img in frames:
            arrived[i] = time.perf_counter()
            yield img

    start = time.perf_counter()
    summary: dict[str, Any] = {}
    for update in predict_stream(predictor, source(), encoder=encoder, fps=FPS):
        now = time.perf_counter()
        latencies += [now - arrived.pop(int(i)) for i in update.frames]
        summary = update.summary or summary
    seconds = time.perf_counter() - start
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    print(f"stream:    {n_frames / seconds:7.1f} frames/s ({len(latencies)} frames scored, "
          f"{summary['window_snippets']}-snippet window), latency arrival->score p50 "
          f"{p50:.0f} ms, p95 {p95:.0f} ms (the stream's own summary: p50 "
          f"{summary['latency_ms_p50']:.0f} ms, p95 {summary['latency_ms_p95']:.0f} ms)")  # fmt: skip


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--score-repeats", type=int, default=50, help="head calls per timing")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")

    encoder = load_encoder("efficientnet_lite0")
    predictor = rtfm_predictor(encoder)
    info = predictor.feature_spec.info
    n = len(list(FrameStream(args.video, args.video.name, fps=FPS)))
    print(f"video {args.video} ({n} frames), efficientnet_lite0 snippets of "
          f"{info.snippet_length} every {info.stride}, {args.threads} torch threads, "
          f"best of {args.rounds}")  # fmt: skip

    def extract() -> np.ndarray:
        return encode_video(FrameStream(args.video, args.video.name, fps=FPS), info, encoder)

    def predict() -> Any:
        return predict_video(predictor, args.video, encoder=encoder, fps=FPS)

    extract()  # warm-up
    t_ext, feats = best_of(args.rounds, extract)
    t_pred, pred = best_of(args.rounds, predict)
    print(f"extract:   {n / t_ext:7.1f} frames/s ({t_ext:.2f} s)")
    print(f"predict:   {n / t_pred:7.1f} frames/s ({t_pred:.2f} s, {len(pred.events)} events); "
          f"predict / extract = {t_pred / t_ext:.3f} (goal < 1.05)")  # fmt: skip

    stream_section(predictor, encoder, args.video, n)

    from vadkit.deploy.export import export_backbone, export_head
    from vadkit.deploy.exported import load_exported
    from vadkit.deploy.exported_backbone import ExportedBackbone

    x = np.ascontiguousarray(feats, np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_head, _ = export_head("rtfm", predictor.model, Path(tmp) / "rtfm.onnx", "onnx",
                                   {"kind": "weak", "feature_spec": info.to_dict(),
                                    "thresholds": {"threshold": 0.5}})  # fmt: skip
        exported = load_exported(onnx_head)
        head = exported.model
        tx = torch.from_numpy(x.transpose(1, 0, 2)[None].copy())

        def score_torch() -> None:
            with torch.no_grad():
                for _ in range(args.score_repeats):
                    predictor.model.score(tx)

        def score_onnx() -> None:
            for _ in range(args.score_repeats):
                head.score(x)

        score_torch(), score_onnx()  # warm-up
        t_pt, _ = best_of(args.rounds, score_torch)
        t_ox, _ = best_of(args.rounds, score_onnx)
        snips = len(x) * args.score_repeats
        print(f"head:      PyTorch {snips / t_pt:9.0f} snippets/s, {head.runtime} "
              f"{snips / t_ox:9.0f} snippets/s on the same {len(x)}-snippet features; "
              f"ONNX Runtime / PyTorch rate = {t_pt / t_ox:.2f}")  # fmt: skip

        onnx_backbone = Path(tmp) / "effnet.onnx"
        export_backbone("efficientnet_lite0", onnx_backbone, "onnx")
        backbone = ExportedBackbone(onnx_backbone)
        predict_video(exported, args.video, encoder=backbone, fps=FPS)  # warm-up
        t_free, free = best_of(
            args.rounds, lambda: predict_video(exported, args.video, encoder=backbone, fps=FPS)
        )
        diff = float(np.abs(free.frame_scores - pred.frame_scores).max())
        print(f"torch-free predict (onnxruntime backbone + head): {n / t_free:7.1f} frames/s "
              f"({t_free:.2f} s); max |frame score - PyTorch predict| {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
