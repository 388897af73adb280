"""``vadkit train``: train a weakly- or fully-supervised method on feature stores -> a run dir."""

from __future__ import annotations

from pathlib import Path

import click

from vadkit.methods.registry import list_methods

EXAMPLES = """\b
Examples:
  vadkit train --config configs/rtfm/ucf_crime.yaml --train stores/ucf-train --test stores/ucf-test \\
      --annotations Temporal_Anomaly_Annotation.txt --frame-counts Test_Annotation.txt -o runs/rtfm-ucf
  vadkit train --config configs/mil/ucf_crime.yaml --train stores/ucf-train --test stores/ucf-test \\
      -o runs/mil --set model.lr=0.005 --set train.iterations=2000 --seed 3
  vadkit train --config runs/rtfm-ucf/config.yaml -o runs/rtfm-ucf-again   # re-run a run
  vadkit train --config configs/aed_t/lad2000.yaml --train stores/lad2000 --train-split train \\
      --test stores/lad2000 --test-split test --annotations /data/LAD2000 -o runs/aed_t-lad

\b
Methods: {methods} (weak: video labels); {full} (full: frame labels + classes)
(configs/<method>/<dataset>.yaml).
Guide: docs/training.md (config sections, selection, the run directory).
"""

#: CLI flag -> (section, key) of the run config; a flag given replaces the config's value
FLAGS = {
    "train": ("data", "train"),
    "test": ("data", "test"),
    "train_split": ("data", "train_split"),
    "test_split": ("data", "test_split"),
    "annotations": ("data", "annotations"),
    "frame_counts": ("data", "frame_counts"),
    "split_file": ("data", "split_file"),
    "list_file": ("data", "list_file"),
    "convention": ("data", "convention"),
    "seed": ("train", "seed"),
    "selection": ("train", "selection"),
    "val_fraction": ("train", "val_fraction"),
    "device": ("train", "device"),
}

EXAMPLES = EXAMPLES.format(
    methods=", ".join(list_methods("weak")), full=", ".join(list_methods("full"))
)
TRAINED = ("weak", "full")  # kinds `vadkit train` trains (one-class scorers have their own fit)


@click.command(epilog=EXAMPLES)
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Run config YAML (configs/<method>/<dataset>.yaml or a run's config.yaml).",
)
@click.option("--train", type=click.Path(path_type=Path), help="FeatureStore of training videos.")
@click.option("--test", type=click.Path(path_type=Path), help="FeatureStore of test videos.")
@click.option("--train-split", help="Use only store entries of this split for training.")
@click.option("--test-split", help="Use only store entries of this split for testing.")
@click.option(
    "--dataset",
    help="Annotation format: ucf-crime, shanghaitech, xd-violence, ped2, lad2000, csv.",
)
@click.option(
    "--annotations",
    type=click.Path(path_type=Path),
    help="Ground truth in the dataset's published format: test frame metrics; full "
    "supervision also reads the training videos' frame labels from it (LAD2000: its root).",
)
@click.option(
    "--frame-counts", type=click.Path(path_type=Path), help="UCF-Crime: Test_Annotation.txt."
)
@click.option("--split-file", type=click.Path(path_type=Path), help="ShanghaiTech: SH_Test.txt.")
@click.option(
    "--list", "list_file", type=click.Path(path_type=Path), help="XD-Violence: the test list."
)
@click.option(
    "--convention",
    type=click.Choice(["x16", "exact"]),
    help="Frame labels: x16 (published numbers) or exact frame counts [x16].",
)
@click.option(
    "-o", "--out", required=True, type=click.Path(path_type=Path), help="Run directory to create."
)
@click.option("--seed", type=int, help="Seed of the split, the batches and the weights.")
@click.option(
    "--selection",
    type=click.Choice(["validation", "oracle", "last"]),
    help="Checkpoint selection: held-out training videos [validation]; oracle = "
    "on the TEST set as the reference code (marked in every output); last step.",
)
@click.option(
    "--val-fraction",
    type=float,
    help="Share of each label's training videos held out for validation [0.2].",
)
@click.option("--device", help="cpu, cuda or cuda:N [cpu].")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override one config value, e.g. --set model.lr=0.0005 (repeatable).",
)
def train(
    config_file: Path, out: Path, overwrite: bool, overrides: tuple[str, ...], **flags
) -> None:
    """Train a weakly- or fully-supervised method; writes config.yaml, checkpoint.pt, scores.npz,
    metrics.json and log.jsonl into the run directory."""
    from vadkit.datasets.names import canonical_dataset
    from vadkit.errors import VadkitError
    from vadkit.methods.registry import get_method
    from vadkit.train.config import (
        apply_overrides,
        check_override_keys,
        load_yaml,
        section_fields,
    )
    from vadkit.train.runner import train_run

    cfg = load_yaml(config_file)
    dataset = flags.pop("dataset")
    if dataset is not None:
        cfg["dataset"] = dataset
    for name, value in flags.items():
        if value is not None:
            section, key = FLAGS[name]
            # absolute, so that evaluate/report can read the run from any directory
            cfg[section][key] = str(value.absolute()) if isinstance(value, Path) else value
    cfg = apply_overrides(cfg, overrides)
    if cfg.get("dataset") and str(cfg["dataset"]).lower() != "csv":
        cfg["dataset"] = canonical_dataset(cfg["dataset"])
    if not cfg.get("method"):
        raise VadkitError(f"{config_file}: no 'method:' key; choose one of {', '.join(_trained())}")
    method = get_method(cfg["method"])
    if method.kind not in TRAINED:
        raise VadkitError(
            f"{config_file}: method {method.name!r} is {method.kind}; `vadkit train` trains "
            f"{', '.join(_trained())} (one-class scorers: vadkit benchmark ucsd)"
        )
    check_override_keys(overrides, section_fields(getattr(method, "config_cls", None)))
    train_run(cfg, method, out, overwrite=overwrite, where=str(config_file), echo=click.echo)


def _trained() -> list[str]:
    return [m for kind in TRAINED for m in list_methods(kind)]
