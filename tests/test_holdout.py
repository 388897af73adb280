"""The class-holdout protocol end to end on a generated action-class dataset.

Tiny 32x32 videos of moving squares (motion = class), a random-init registered backbone
(``efficientnet_lite0``, one frame per clip: the cheapest registered network on CPU) and a
small autoencoder. Values are checked against the store's arrays read with numpy and against
counts recomputed from ``clips.csv``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from vadkit.cli.main import main
from vadkit.datasets.action_classes import make_holdout_splits
from vadkit.datasets.action_synth import make_action_dataset
from vadkit.errors import VadkitError
from vadkit.extract.engine import ExtractOptions
from vadkit.io.store import FeatureStore
from vadkit.methods.autoencoder import AutoencoderConfig, AutoencoderScorer
from vadkit.protocols.holdout import run_holdout
from vadkit.protocols.holdout_report import threshold_table

FOLDERS = {
    "Slide-Front": "left-right",
    "Slide-Side": "left-right",
    "Bounce": "up-down",
    "Expand": "expanding",
}
CONFIG = AutoencoderConfig(hidden=(16, 4), epochs=5)
ARTEFACTS = [
    "config.yaml",
    "autoencoder.pt",
    "clips.csv",
    "centroids.json",
    "centroid_distances.csv",
    "centroid_distances.json",
    "anomaly_class_distances.csv",
    "thresholds.csv",
    "thresholds.md",
    "metrics.json",
    "figures/reconstruction_error_boxplot.png",
    "figures/tsne_embeddings.png",
    "figures/tsne_latents.png",
]


@pytest.fixture(scope="module")
def protocol(tmp_path_factory):
    base = tmp_path_factory.mktemp("holdout")
    make_action_dataset(base / "videos", clips_per_folder=3, folders=FOLDERS)
    make_holdout_splits(base / "videos", base / "splits", ["Expand"], val=0.2, test=0.2)
    result = run_holdout(
        base / "splits",
        base / "run",
        backbone="efficientnet_lite0",
        random_init=True,
        options=ExtractOptions(clip_len=1, stride=16, padding="drop"),
        config=CONFIG,
    )
    return base, result


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_artefact_is_written(protocol):
    base, result = protocol
    for name in ARTEFACTS:
        path = base / "run" / name
        assert path.is_file() and path.stat().st_size > 0, name
    from PIL import Image

    for name in ARTEFACTS[-3:]:
        with Image.open(base / "run" / name) as img:
            assert img.format == "PNG" and img.size[0] > 100


def test_clips_and_counts(protocol):
    base, result = protocol
    rows = _rows(base / "run" / "clips.csv")
    # Slide 6 clips -> train 4 / val 1 / test 1, Bounce 3 -> 1/1/1, Expand 3 -> anomaly
    count = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test", "anomaly")}
    assert count == {"train": 5, "val": 2, "test": 2, "anomaly": 3}
    assert result.metrics["counts"] == count
    assert result.scorer.classes_ == ["Bounce", "Slide"]
    anomaly = [r for r in rows if r["split"] == "anomaly"]
    assert all(r["latent_dist_own"] == "nan" for r in anomaly)  # no Expand centroid


def test_scores_come_from_the_clip_mean_of_the_store(protocol):
    base, _ = protocol
    store = FeatureStore.open(base / "run" / "store")
    rows = _rows(base / "run" / "clips.csv")
    # embedding = mean over snippets and crops of each clip's (T, C, D) array
    x = np.stack([np.load(store.file(r["id"])).mean(axis=(0, 1)) for r in rows])
    scorer = AutoencoderScorer.load(base / "run" / "autoencoder.pt")
    err = scorer.reconstruction_error(x)
    np.testing.assert_allclose([float(r["reconstruction_error"]) for r in rows], err, rtol=1e-4)
    cfg = yaml.safe_load((base / "run" / "config.yaml").read_text())
    assert cfg["backbone"] == "efficientnet_lite0" and cfg["weights_sha256"] == "random-init"
    assert cfg["embedding"].startswith("mean of the clip's snippet features")
    assert cfg["autoencoder"]["hidden"] == [16, 4]


def test_centroid_tables(protocol):
    base, result = protocol
    cent = json.loads((base / "run" / "centroids.json").read_text())
    assert sorted(cent["latent"]) == ["Bounce", "Slide"] and len(cent["latent"]["Slide"]) == 4
    table = _rows(base / "run" / "centroid_distances.csv")
    slide_test = next(
        r for r in table if (r["split"], r["class"], r["space"]) == ("test", "Slide", "latent")
    )
    clips = [r for r in _rows(base / "run" / "clips.csv") if r["split"] == "test"]
    own = [float(r["latent_dist_own"]) for r in clips if r["class"] == "Slide"]
    assert int(slide_test["n"]) == len(own) == 1
    assert float(slide_test["mean"]) == pytest.approx(own[0], rel=1e-4)
    anom = _rows(base / "run" / "anomaly_class_distances.csv")
    assert len(anom) == 3 * 2 and set(anom[0]) == {"id", "class", "space", "Bounce", "Slide"}


def test_threshold_table_matches_clips(protocol):
    base, _ = protocol
    clips = _rows(base / "run" / "clips.csv")
    table = _rows(base / "run" / "thresholds.csv")
    assert [r["criterion"] for r in table].count("error") == 6
    for r in table:
        if r["criterion"] != "error":
            continue
        t = float(r["error_threshold"])
        for s in ("train", "val", "test", "anomaly"):
            flagged = sum(
                float(c["reconstruction_error"]) > t * (1 + 1e-5) for c in clips if c["split"] == s
            )
            assert abs(int(r[f"{s}_anomalous"]) - flagged) <= 1  # csv rounds to 6 digits
    md = (base / "run" / "thresholds.md").read_text()
    assert (
        "| criterion | val quantile | error > | distance > | train | val | test | anomaly |" in md
    )


def test_threshold_table_hand_worked():
    clips = [
        {"split": "train", "reconstruction_error": 0.1, "distance": 1.0},
        {"split": "val", "reconstruction_error": 0.2, "distance": 2.0},
        {"split": "test", "reconstruction_error": 0.3, "distance": 0.5},
        {"split": "anomaly", "reconstruction_error": 0.9, "distance": 9.0},
        {"split": "anomaly", "reconstruction_error": 0.15, "distance": 3.0},
    ]
    rows = threshold_table(clips, [0.25], [2.5])
    got = {r["criterion"]: [r[f"{s}_anomalous"] for s in ("train", "val", "test", "anomaly")]
           for r in rows}  # fmt: skip
    assert got == {
        "error": [0, 0, 1, 1],
        "distance": [0, 0, 0, 2],
        "error_or_distance": [0, 0, 1, 2],
        "error_and_distance": [0, 0, 0, 1],
    }


def test_cli_run_on_the_store_repeats_the_run(protocol, tmp_path, capsys):
    base, _ = protocol
    args = ["holdout", "run", "--splits", str(base / "splits"), "-o", str(tmp_path / "run")]
    args += ["--store", str(base / "run" / "store"), "--layers", "16,4", "--epochs", "5", "-q"]
    assert main(args) == 0
    assert "best epoch" in capsys.readouterr().out
    for name in ARTEFACTS:
        assert (tmp_path / "run" / name).is_file(), name
    same = (tmp_path / "run" / "clips.csv").read_bytes()
    assert same == (base / "run" / "clips.csv").read_bytes()  # seeded: the same scores


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--splits", "{tmp}/nothing"], "no all.csv"),
        (["--store", "{tmp}/nostore"], "feature store not found"),
        (["--layers", "16,x"], "--layers"),
        (["--error-threshold", "0.1"], "give both"),
    ],
)
def test_cli_run_errors_are_one_line(protocol, tmp_path, capsys, args, match):
    base, _ = protocol
    full = ["holdout", "run", "--splits", str(base / "splits"), "-o", str(tmp_path / "r"), "-q"]
    full += [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(full) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_store_missing_clips_and_bad_split(protocol, tmp_path):
    base, _ = protocol
    (tmp_path / "s").mkdir()
    lines = (base / "splits" / "all.csv").read_text().splitlines()
    cells = lines[1].split(",")
    extra = ",".join([cells[0], "ghost", *cells[2:]])  # a clip the store never saw
    (tmp_path / "s" / "all.csv").write_text("\n".join([*lines, extra]) + "\n")
    with pytest.raises(VadkitError, match="lacks 1 clip"):
        run_holdout(tmp_path / "s", tmp_path / "r", store=base / "run" / "store", config=CONFIG)
    (tmp_path / "s" / "all.csv").write_text(lines[0] + "\n" + lines[1].rsplit(",", 1)[0] + ",x\n")
    with pytest.raises(VadkitError, match="has split 'x'"):
        run_holdout(tmp_path / "s", tmp_path / "r", store=base / "run" / "store")


def test_cli_config_file_and_choices_follow_the_config(protocol, tmp_path):
    from vadkit.cli.cmd_holdout import run
    from vadkit.methods.autoencoder import SCHEDULERS

    base, _ = protocol
    choices = next(p for p in run.params if p.name == "scheduler").type.choices
    assert tuple(choices) == SCHEDULERS
    cfg = tmp_path / "ae.yaml"
    cfg.write_text("autoencoder:\n  hidden: [16, 4]\n  epochs: 5\n")
    args = ["holdout", "run", "--splits", str(base / "splits"), "-o", str(tmp_path / "run")]
    args += ["--store", str(base / "run" / "store"), "--config", str(cfg), "-q"]
    assert main(args) == 0
    assert (tmp_path / "run" / "clips.csv").read_bytes() == (
        base / "run" / "clips.csv"
    ).read_bytes()
    cfg.write_text("autoencoder:\n  hiden: [16, 4]\n")
    assert main([*args[:-3], "--config", str(cfg), "-q"]) == 2
