"""``vadkit predict``: a trained model + videos -> per-frame scores and anomalous events."""

from __future__ import annotations

from pathlib import Path

import click

EXAMPLES = """\b
Examples:
  vadkit predict clip.mp4 --model runs/rtfm --out pred/
  vadkit predict ped2/testing/frames --model runs/knn --out pred/ --far 0.05 --fps 10
  vadkit predict videos.txt --model runs/aed_t/checkpoint.pt --out pred/ --threshold 0.7 \\
      --min-length 1.0 --merge-gap 0.5
  vadkit predict clip.mp4 --model rtfm.onnx --backbone-model effnet.onnx --out pred/
  vadkit predict --stream udp://127.0.0.1:5000 --model runs/knn --out live/ \\
      --stall-timeout 5 --reconnect 2
"""


@click.command(epilog=EXAMPLES)
@click.argument("inputs", metavar="VIDEO_OR_FOLDER_OR_LIST", required=False)
@click.option(
    "--stream",
    "stream_source",
    help="Read a live source (udp:// rtsp:// http:// URL, a growing file, a camera device) "
    "instead of videos: JSON lines of events and a summary on stdout and OUT/events.jsonl.",
)
@click.option(
    "--stall-timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="--stream: seconds without a frame that count as a stall.",
)
@click.option(
    "--reconnect",
    type=int,
    default=0,
    show_default=True,
    help="--stream: reopen attempts after a stall before stopping.",
)
@click.option("--max-seconds", type=float, help="--stream: stop after this many seconds.")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Run directory of `vadkit train` (or a one-class run), a checkpoint.pt, or a "
    "model.onnx / model.xml of `vadkit export`.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (needed for videos).")
@click.option("--threshold", type=float, help="Use this threshold instead of the calibrated one.")
@click.option(
    "--far",
    type=float,
    help="Threshold at this false-alarm rate on the model's normal validation scores.",
)
@click.option(
    "--min-length",
    type=float,
    default=0.0,
    show_default=True,
    help="Drop events shorter than this (seconds).",
)
@click.option(
    "--merge-gap",
    type=float,
    default=0.0,
    show_default=True,
    help="Merge events separated by at most this (seconds).",
)
@click.option("--fps", type=float, help="Frame rate of frame folders (default 25).")
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    help="Backbone weights file (default: the one the backbone package ships).",
)
@click.option(
    "--backbone-model",
    type=click.Path(path_type=Path),
    help="Backbone exported by `vadkit export --backbone` (.onnx/.xml): extract with ONNX "
    "Runtime / OpenVINO; with an exported --model, predict imports no PyTorch.",
)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--video-out",
    is_flag=True,
    help="Also write OUT/<id>.annotated.mp4 (score strip, threshold, events) and OUT/<id>.png.",
)
def predict(
    inputs,
    stream_source,
    stall_timeout,
    reconnect,
    max_seconds,
    model_path,
    out,
    threshold,
    far,
    min_length,
    merge_gap,
    fps,
    weights,
    backbone_model,
    device,
    video_out,
):
    """Score videos with a trained model and write per-frame scores and events."""  # fmt: skip
    import warnings

    from vadkit.deploy import load_model, predict_video
    from vadkit.deploy.outputs import write_prediction
    from vadkit.deploy.predict import load_predictor_encoder
    from vadkit.errors import VadkitError
    from vadkit.io.atomic import atomic_write_json
    from vadkit.io.inputs import list_inputs

    if (inputs is None) == (stream_source is None):
        raise click.UsageError("give VIDEO_OR_FOLDER_OR_LIST or --stream SOURCE (one of them)")
    if stream_source is None and out is None:
        raise click.UsageError("--out is needed for videos")
    items = list_inputs(inputs) if stream_source is None else []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(model_path)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    spec = model.feature_spec
    if spec is None:  # a scene detector reads frames: optical flow and its own backbone
        c = model.model.config
        click.echo(f"model scene (motion + appearance) from {model_path}; flow at height "
                   f"{c.flow_height}, {c.spatial_backbone} {c.spatial_stage} maps",
                   err=stream_source is not None)  # fmt: skip
    else:
        click.echo(f"model {model.method} ({model.kind}) from {model_path}; features "
                   f"{spec.backbone} (weights {spec.weights_sha256[:12]}), snippets of "
                   f"{spec.snippet_length} every {spec.stride} frames, {spec.crops} crop(s)",
                   err=stream_source is not None)  # stdout: JSON lines only  # fmt: skip
    if spec is None:
        encoder = None
    elif backbone_model is not None:
        from vadkit.deploy.exported_backbone import load_exported_backbone

        encoder = load_exported_backbone(backbone_model, model)
    else:
        encoder = load_predictor_encoder(model, weights, device)
    if stream_source is not None:
        from vadkit.cli.cmd_stream import run_stream

        run_stream(model, stream_source, encoder, out, threshold=threshold, far=far,
                   min_length=min_length, merge_gap=merge_gap, fps=fps,
                   stall_timeout=stall_timeout, reconnect=reconnect,
                   max_seconds=max_seconds)  # fmt: skip
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    summary, failed = {}, 0
    for item in items:
        try:
            pred = predict_video(model, item.path, threshold=threshold, far=far,
                                 min_length=min_length, merge_gap=merge_gap, encoder=encoder,
                                 video_id=item.id, fps=fps)  # fmt: skip
        except VadkitError as exc:
            failed += 1
            click.echo(f"{item.id}: FAILED: {exc}", err=True)
            summary[item.id] = {"source": str(item.path), "error": str(exc)}
            continue
        extra = {"model": str(model_path), "method": model.method}
        if fps is None and Path(item.path).is_dir():
            pred.warnings.append("frame folder without --fps: times assume 25 fps")
            extra["fps_assumed"] = True
        write_prediction(pred, out, extra)
        if video_out:
            from vadkit.deploy.annotate import write_annotated_video, write_score_figure

            write_annotated_video(pred, Path(out) / f"{item.id}.annotated.mp4")
            write_score_figure(pred, Path(out) / f"{item.id}.png")
        for w in pred.warnings:
            click.echo(f"{item.id}: warning: {w}", err=True)
        spans = ", ".join(f"{e.start_s:.1f}-{e.end_s:.1f}s (peak {e.peak_score:.3f})"
                          for e in pred.events[:5])  # fmt: skip
        more = f" (+{len(pred.events) - 5} more)" if len(pred.events) > 5 else ""
        click.echo(f"{item.id}: {pred.n_frames} frames, threshold {pred.threshold:.4f} "
                   f"[{pred.threshold_source}], {len(pred.events)} events: {spans or '-'}{more}")  # fmt: skip
        summary[item.id] = {"source": str(item.path), "events": [e.to_dict() for e in pred.events],
                            "settings": pred.settings()}  # fmt: skip
    atomic_write_json(Path(out) / "summary.json", {"videos": summary, "failed": failed})
    click.echo(f"wrote {out} ({len(items) - failed} videos, {failed} failed)")
    if failed:
        raise click.exceptions.Exit(1)
