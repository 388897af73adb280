"""``vadkit`` command line: thin wrappers that parse, call the library and print.

Known errors (:class:`vadkit.errors.VadkitError`) become one line on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from vadkit import __version__
from vadkit.errors import VadkitError

# command name -> "module:attribute" of a click command; imported lazily so that
# `vadkit --help` does not import torch.
COMMANDS: dict[str, tuple[str, str]] = {
    "extract": (
        "vadkit.cli.cmd_extract:extract",
        "Turn videos or frame folders into a FeatureStore.",
    ),
    "import": (
        "vadkit.cli.cmd_import:import_",
        "Import published feature layouts into a FeatureStore.",
    ),
    "store": ("vadkit.cli.cmd_store:store", "Inspect, check and finalize feature stores."),
    "train": (
        "vadkit.cli.cmd_train:train",
        "Train a weakly- or fully-supervised method -> run directory.",
    ),
    "evaluate": (
        "vadkit.cli.cmd_evaluate:evaluate",
        "Score files + annotations -> metrics table and JSON.",
    ),
    "backbones": (
        "vadkit.cli.cmd_extract:backbones",
        "List feature backbones and their weights files.",
    ),
    "probe": ("vadkit.cli.cmd_extract:probe", "Print fps, frame count and duration of videos."),
    "synth": ("vadkit.cli.cmd_synth:synth", "Write a small synthetic dataset of real videos."),
    "holdout": ("vadkit.cli.cmd_holdout:holdout", "Class-holdout protocol: split, run, synth."),
    "benchmark": (
        "vadkit.cli.cmd_benchmark:benchmark",
        "Run a benchmark protocol (ucsd, weak, supervision).",
    ),
    "plot": ("vadkit.cli.cmd_plot:plot", "Figures of runs, benchmarks and holdout outputs."),
    "demo": ("vadkit.cli.cmd_demo:demo", "Generated video -> features, two detectors, report."),
    "report": ("vadkit.cli.cmd_report:report", "Runs and benchmark outputs -> one HTML report."),
    "fit-scene": (
        "vadkit.cli.cmd_fit_scene:fit_scene",
        "Fit the motion + appearance detector on a camera's normal videos.",
    ),
    "predict": (
        "vadkit.cli.cmd_predict:predict",
        "Score new videos with a trained model -> events.",
    ),
    "sweep": ("vadkit.cli.cmd_sweep:sweep", "Seeds x a grid of overrides -> runs and a summary."),
    "export": (
        "vadkit.cli.cmd_export:export",
        "Export a run's head or a backbone to ONNX/OpenVINO.",
    ),
}

EXAMPLES = """\b
Examples:
  vadkit extract --backbone efficientnet_lite0 --input ped2/testing/frames --out stores/ped2
  vadkit store check stores/ped2
  vadkit import rtfm --list ucf-i3d-test.list --root /data/UCF_Test_ten_crop_i3d --out stores/ucf
  vadkit evaluate --scores run/scores.npz --dataset ucf-crime --annotations Temporal_Anomaly_Annotation.txt \\
      --frame-counts Test_Annotation.txt
  vadkit backbones
  vadkit probe ped2/testing/frames
  vadkit synth --out data/synth
  vadkit train --config configs/rtfm/ucf_crime.yaml --train stores/ucf-train \\
      --test stores/ucf-test -o runs/rtfm
  vadkit evaluate runs/rtfm
  vadkit holdout synth --out data/actions
  vadkit benchmark ucsd --data ped2 --out runs/benchmark-ped2 --docs docs/benchmarks.md
"""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


@click.group(
    cls=LazyGroup, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="vadkit")
def cli() -> None:
    """vadkit: video anomaly detection, from raw video to scores, metrics and events."""


def _one_line_warnings() -> None:
    """Warnings as one line each, once, on stderr (:func:`vadkit.user_warnings.one_line_warnings`)."""
    from vadkit.user_warnings import one_line_warnings

    one_line_warnings(lambda text: click.echo(text, err=True))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line and exit code 2."""
    _one_line_warnings()
    try:
        # without standalone mode click returns a command's Exit code instead of raising it
        code = cli.main(args=argv, prog_name="vadkit", standalone_mode=False)
    except VadkitError as exc:
        click.echo(f"vadkit: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("vadkit: aborted", err=True)
        return 130
    except click.UsageError as exc:
        # one line, like every other user error; the help is one flag away
        where = exc.ctx.command_path if exc.ctx is not None else "vadkit"
        click.echo(f"vadkit: error: {exc.format_message()} (see '{where} --help')", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"vadkit: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        # the reader went away (`vadkit ... | head`): not an error; silence the exit-time flush
        _discard_stdout()
        return 0
    except SystemExit:
        if _stdout_broken():  # click turned the broken pipe into exit code 1
            _discard_stdout()
            return 0
        raise
    return code if isinstance(code, int) else 0


def _stdout_broken() -> bool:
    wrappers = tuple(
        w
        for w in (
            getattr(click.utils, n, None) for n in ("_PacifyFlushWrapper", "PacifyFlushWrapper")
        )
        if isinstance(w, type)
    )
    return bool(wrappers) and isinstance(sys.stdout, wrappers)


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        stdout = getattr(sys.stdout, "wrapped", sys.stdout)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. captured in tests)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
