"""``vadkit export``: a trained head (or a feature backbone) to ONNX or OpenVINO."""

from __future__ import annotations

from pathlib import Path

import click

from vadkit.errors import VadkitError


@click.command("export")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "openvino"]),
    default="onnx",
    show_default=True,
    help="onnx: model.onnx; openvino: model.xml + model.bin.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Exported file (.onnx or .xml); its sidecar FILE.json records the feature "
    "spec, thresholds and the parity check.",
)
@click.option(
    "--check-store",
    type=click.Path(path_type=Path),
    default=None,
    help="Feature store of the parity check (default: the run's test store).",
)
@click.option(
    "--check-videos", type=int, default=3, show_default=True, help="Videos of the parity check."
)
@click.option(
    "--backbone",
    default=None,
    help="Export this feature backbone instead of a run (e.g. efficientnet_lite0).",
)
@click.option("--weights", default=None, help="Backbone weights file (default: the shipped one).")
@click.option(
    "--check-video",
    type=click.Path(path_type=Path),
    default=None,
    help="Video or frame folder whose frames check the backbone export.",
)
def export(
    run_dir: Path | None, fmt: str, out: Path, check_store: Path | None, check_videos: int,
    backbone: str | None, weights: str | None, check_video: Path | None,
) -> None:  # fmt: skip
    """Export RUN_DIR's method head with a dynamic time axis, checked against PyTorch.

    \b
    Examples:
      vadkit export runs/rtfm --format onnx --out rtfm.onnx
      vadkit predict clip.mp4 --model rtfm.onnx --out pred/
      vadkit export --backbone efficientnet_lite0 --check-video ped2/testing/frames/01 \\
          --out effnet.onnx
    """
    from vadkit.deploy.export import backbone_inputs, export_backbone, export_run

    if (run_dir is None) == (backbone is None):
        raise VadkitError("give a RUN_DIR or --backbone NAME (one of them)")
    if backbone is not None:
        x = backbone_inputs(check_video, backbone) if check_video is not None else None
        result = export_backbone(
            backbone, out, fmt, weights=weights, check_inputs=x, source=str(check_video)
        )
    else:
        result = export_run(
            run_dir, out, fmt, check_store=str(check_store) if check_store else None,
            check_videos=check_videos,
        )  # fmt: skip
    for line in result.lines():
        click.echo(line)
