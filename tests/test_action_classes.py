"""The action-class layout (UCF Sports Action), its grouping rule and the class-holdout split.

Datasets are generated as real encoded videos by ``vadkit.datasets.action_synth``; expected
counts are worked out by hand from the rule in the module docstring.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vadkit.cli.main import main
from vadkit.datasets.action_classes import (
    augment_frames,
    class_of_folder,
    make_holdout_splits,
    scan_action_classes,
)
from vadkit.datasets.action_synth import make_action_dataset, render_motion
from vadkit.datasets.synthetic import write_video
from vadkit.errors import VadkitError
from vadkit.io.inputs import list_inputs

FOLDERS = {
    "Slide-Front": "left-right",
    "Slide-Side": "left-right",
    "Bounce": "up-down",
    "Expand": "expanding",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("actions") / "videos"
    # 4 clips per folder (16 frames at 8 fps = 2 s) + one 4-frame clip (0.5 s) in Slide-Front
    make_action_dataset(root, clips_per_folder=4, folders=FOLDERS)
    return root


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_ucf_sports_folders_group_into_its_ten_classes():
    folders = [
        "Diving-Side", "Golf-Swing-Back", "Golf-Swing-Front", "Golf-Swing-Side", "Kicking-Front",
        "Kicking-Side", "Lifting", "Riding-Horse", "Run-Side", "SkateBoarding-Front",
        "Swing-Bench", "Swing-SideAngle", "Walk-Front",
    ]  # fmt: skip
    expected = {
        "Diving", "Golf-Swing", "Kicking", "Lifting", "Riding-Horse", "Run", "SkateBoarding",
        "Swing-Bench", "Swing-SideAngle", "Walk",
    }  # fmt: skip
    assert {class_of_folder(f) for f in folders} == expected
    assert class_of_folder("Golf-Swing-Back", group=False) == "Golf-Swing-Back"


def test_scan_reads_the_layout(dataset):
    clips = scan_action_classes(dataset)
    assert len(clips) == 17
    slide = [c for c in clips if c.cls == "Slide"]
    assert sorted(c.id for c in slide)[:2] == ["Slide-Front_001", "Slide-Front_002"]
    assert {c.folder for c in slide} == {"Slide-Front", "Slide-Side"}
    short = next(c for c in clips if c.id == "Slide-Front_005")
    assert (short.n_frames, short.fps, short.duration) == (4, 8.0, 0.5)


@pytest.fixture(scope="module")
def splits(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("splits")
    result = make_holdout_splits(dataset, out, ["Expand"], val=0.25, test=0.25, seed=7)
    return out, result


def test_split_counts_and_dropped_clip(splits):
    out, result = splits
    # Slide: 8 clips of >= 1 s -> val round(2.0)=2, test 2, train 4; Bounce: 4 -> 1, 1, 2
    assert result.counts() == {
        "train": {"Bounce": 2, "Slide": 4},
        "val": {"Bounce": 1, "Slide": 2},
        "test": {"Bounce": 1, "Slide": 2},
        "anomaly": {"Expand": 4},
    }
    assert [d["id"] for d in result.dropped] == ["Slide-Front_005"]
    assert "0.50 s < 1.0 s" in result.dropped[0]["reason"]
    summary = json.loads((out / "splits.json").read_text())
    assert summary["groups"]["Slide-Side"] == "Slide" and summary["anomaly_classes"] == ["Expand"]


def test_csvs_have_the_extract_columns(splits):
    out, _ = splits
    ids = []
    for split in ("train", "val", "test", "anomaly"):
        text = (out / f"{split}.csv").read_text()
        assert text.splitlines()[0] == "path,id,label,class,split"
        rows = _read(out / f"{split}.csv")
        assert {r["split"] for r in rows} == {split}
        assert {r["label"] for r in rows} == ({"1"} if split == "anomaly" else {"0"})
        ids += [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 16 and "Slide-Front_005" not in ids
    items = list_inputs(out / "all.csv")  # what `vadkit extract --input all.csv` reads
    assert [it.id for it in items] == ids
    assert all(it.path.is_file() for it in items)
    assert {it.cls for it in items if it.split == "anomaly"} == {"Expand"}


def test_same_seed_same_splits_other_seed_differs(dataset, splits, tmp_path):
    out, _ = splits
    make_holdout_splits(dataset, tmp_path / "a", ["Expand"], val=0.25, test=0.25, seed=7)
    assert (tmp_path / "a" / "all.csv").read_bytes() == (out / "all.csv").read_bytes()
    assignments = set()
    for seed in range(4):
        make_holdout_splits(dataset, tmp_path / "b", ["Expand"], val=0.25, test=0.25, seed=seed)
        assignments.add(tuple((r["id"], r["split"]) for r in _read(tmp_path / "b" / "all.csv")))
    assert len(assignments) > 1


def test_anomaly_by_folder_name_and_no_grouping(dataset, tmp_path):
    r = make_holdout_splits(dataset, tmp_path / "a", ["slide-side"], val=0.25, test=0.25)
    assert set(r.counts()["anomaly"]) == {"Slide"}  # the folder's whole class
    r = make_holdout_splits(dataset, tmp_path / "b", ["Expand"], val=0.25, test=0.25, group=False)
    assert set(r.counts()["train"]) == {"Bounce", "Slide-Front", "Slide-Side"}


def test_augmentation_tops_up_train_with_real_videos(dataset, tmp_path):
    from vadkit.io.video import probe

    r = make_holdout_splits(dataset, tmp_path, ["Expand"], val=0.25, test=0.25, augment_to=5)
    assert r.counts()["train"] == {"Bounce": 5, "Slide": 5}
    assert r.counts()["val"] == {"Bounce": 1, "Slide": 2}  # only train by default
    aug = [row for row in r.rows["train"] if "_aug" in row["id"]]
    assert len(aug) == 4 and all(row["path"].startswith("augmented/") for row in aug)
    meta = probe(tmp_path / aug[0]["path"])
    assert (meta.n_frames, meta.width, meta.height) == (16, 32, 32)
    assert len(list_inputs(tmp_path / "train.csv")) == 10


def test_augment_frames_applies_one_transform_to_every_frame():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (1, 24, 20, 3), dtype=np.uint8)
    out = augment_frames(np.repeat(frame, 5, axis=0), np.random.default_rng(3))
    assert out.shape == (5, 24, 20, 3) and out.dtype == np.uint8
    assert all(np.array_equal(out[0], out[i]) for i in range(5))
    assert not np.array_equal(out[0], frame[0])


def test_frame_folders_and_flat_layout(tmp_path):
    from PIL import Image

    root = tmp_path / "root"
    seq = root / "Lifting" / "001"
    seq.mkdir(parents=True)
    for i, img in enumerate(render_motion("up-down", 12)):  # 12 frames at 10 fps: 1.2 s
        Image.fromarray(img).save(seq / f"frame_{i:04d}.jpg")
    (root / "Lifting" / "001" / "gt").mkdir()
    write_video(root / "Walk-Front" / "clip_a.mp4", render_motion("left-right", 16), fps=8)
    clips = scan_action_classes(root)
    assert [(c.id, c.cls, c.n_frames, c.fps) for c in clips] == [
        ("Lifting_001", "Lifting", 12, 10.0),
        ("Walk-Front_clip_a", "Walk", 16, 8.0),
    ]
    assert clips[0].path == seq


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing", "does not exist"),
        ("empty_class", "holds no clips"),
        ("unknown", "anomaly class 'Jump' is not in the dataset; classes: Bounce, Expand, Slide"),
        ("all_anomalies", "keep one normal"),
        ("fractions", r"val \+ test < 1"),
        ("too_few", "too few"),
    ],
)
def test_bad_input_is_one_line(dataset, tmp_path, case, match):
    root, anomaly, kw = dataset, ["Expand"], {}
    if case == "missing":
        root = tmp_path / "nowhere"
    elif case == "empty_class":
        root = tmp_path / "copy"
        shutil.copytree(dataset, root)
        (root / "Kicking-Side" / "001").mkdir(parents=True)
    elif case == "unknown":
        anomaly = ["Jump"]
    elif case == "all_anomalies":
        anomaly = ["Expand", "Slide", "Bounce"]
    elif case == "fractions":
        kw = {"val": 0.5, "test": 0.5}
    elif case == "too_few":
        kw = {"val": 0.45, "test": 0.45}
    with pytest.raises(VadkitError, match=match) as info:
        make_holdout_splits(root, tmp_path / "out", anomaly, **kw)
    assert "\n" not in str(info.value)


def test_cli_split(dataset, tmp_path, capsys):
    code = main(["holdout", "split", str(dataset), "-o", str(tmp_path), "-a", "Expand"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "anomaly     4  Expand 4" in printed and "dropped     1" in printed
    assert (tmp_path / "all.csv").is_file()
    code = main(["holdout", "split", str(tmp_path / "none"), "-o", str(tmp_path), "-a", "X"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("vadkit: error: dataset folder")
