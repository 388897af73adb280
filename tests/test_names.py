"""One name per concept: dataset ids, video ids from file names, XD-Violence label codes,
the one reader of UCF-Crime annotation files; checked on the published files."""

from __future__ import annotations

from pathlib import Path

import pytest

from vadkit.datasets import DATASETS, canonical_dataset
from vadkit.datasets.annotations import (
    read_ucf_annotation_file,
    read_ucf_crime,
    read_ucf_frame_counts,
    read_xd_violence,
    xd_name_classes,
)
from vadkit.datasets.importers import read_frame_counts, xd_classes, xd_label
from vadkit.datasets.importers.common import video_id_from_name
from vadkit.datasets.importers.sultani import read_ucf_annotation_classes
from vadkit.datasets.names import parse_xd_name, xd_video_id
from vadkit.errors import VadkitError
from vadkit.io.names import ID_EXTENSIONS, video_id_from_path

# name -> id, written out by hand
VIDEO_IDS = {
    "v.mkv": "v",
    "V.MP4": "V",
    "G:\\UCF_Test\\Arson\\Arson011_x264.mp4": "Arson011_x264",
    "/Test/Abuse/Abuse028_x264.mp4": "Abuse028_x264",
    "ped2/testing/frames/01/": "01",
    "feat/01_0014.npy": "01_0014",
    "c3d/Explosion008_x264.txt": "Explosion008_x264",
    "Bad.Boys.1995__#01-11-55_01-12-40_label_A": "Bad.Boys.1995__#01-11-55_01-12-40_label_A",
    "a.b.avi": "a.b",
}


@pytest.mark.parametrize("name", sorted(VIDEO_IDS))
def test_video_id_from_path_one_rule_everywhere(name: str, tmp_path: Path) -> None:
    assert video_id_from_path(name) == VIDEO_IDS[name]
    assert video_id_from_name(name) == VIDEO_IDS[name]  # the importers' name for it
    if name.endswith((".mkv", ".MP4", ".avi", ".mp4")):  # the UCF annotation reader too
        f = tmp_path / "ann.txt"
        f.write_text(f"{name} Arson 1 2 -1 -1\n")
        assert list(read_ucf_annotation_file(f)) == [VIDEO_IDS[name]]


def test_video_extensions_are_id_extensions() -> None:
    from vadkit.io.video import VIDEO_EXTENSIONS

    assert set(VIDEO_EXTENSIONS) <= ID_EXTENSIONS


def test_canonical_dataset_ids() -> None:
    assert DATASETS == ("ucf-crime", "shanghaitech", "xd-violence", "ped2", "lad2000")
    spellings = {
        "ucf-crime": ["ucf_crime", "UCF-Crime", "UCF Crime", "ucf-crime"],
        "shanghaitech": ["ShanghaiTech", "shanghaitech", "shanghai_tech"],
        "xd-violence": ["xd_violence", "XD-Violence", "xd-violence"],
        "ped2": ["ped2", "ucsd_ped2", "UCSD-Ped2"],
    }
    for canonical, names in spellings.items():
        assert {canonical_dataset(n) for n in names} == {canonical}
    with pytest.raises(VadkitError, match="unknown dataset 'ped1'; valid: ucf-crime, "):
        canonical_dataset("ped1")


def test_xd_codes_parsed_one_way() -> None:
    # the two former parsers disagreed on label_A ([] vs ['A']) and on lower case
    assert xd_classes("A") == [] and xd_name_classes("v_label_A") == []
    assert xd_label("v_label_A") == (0, "Normal") and parse_xd_name("v_label_A").primary == "Normal"
    assert xd_label("v__#1_label_b2-g-0") == (1, "B2-G-0")
    assert xd_name_classes("v__#1_label_b2-g-0") == ["B2", "G"] == xd_classes("B2-G-0")
    assert parse_xd_name("x/RGB/v__#1_label_G-B2-B6__4.npy").video_id == "v__#1_label_G-B2-B6"
    for bad in ("v_label_", "v_label_A-B1", "v_label_B1-?"):
        with pytest.raises(VadkitError):
            parse_xd_name(bad)


def test_xd_lowercase_annotation(tmp_path: Path) -> None:
    ann = tmp_path / "annotations.txt"
    ann.write_text("v__#1_label_b1-0-0 3 9\n")
    lst = tmp_path / "test.list"
    lst.write_text("/x/v__#1_label_b1-0-0__0.npy\n/x/w__#2_label_a__0.npy\n")
    gt = read_xd_violence(ann, lst)
    assert gt.classes == {"v__#1_label_b1-0-0": "B1", "w__#2_label_a": "Normal"}
    assert gt.normal_ids == {"w__#2_label_a"}


@pytest.mark.real_data
def test_xd_names_of_the_published_lists(shared_data: Path) -> None:
    xd = shared_data / "xd_violence"
    for name, n_violent, n_normal in (("rgb.list", 1905, 2049), ("rgb_test.list", 500, 300)):
        ids = dict.fromkeys(xd_video_id(t) for t in (xd / name).read_text().split())
        labels = [parse_xd_name(v).label for v in ids]
        assert (labels.count(1), labels.count(0)) == (n_violent, n_normal)
        assert all(xd_label(v)[0] == lab for v, lab in zip(ids, labels, strict=True))
    gt = read_xd_violence(xd / "annotations.txt", xd / "rgb_test.list")
    assert all(parse_xd_name(v).label == 0 for v in gt.normal_ids)
    assert all(parse_xd_name(v).label == 1 for v in gt.intervals)
    # audio lists name one <video>__vggish.npy per video: the same 800 ids
    audio = dict.fromkeys(xd_video_id(t) for t in (xd / "audio_test.list").read_text().split())
    assert set(audio) == set(gt.ids)


@pytest.mark.real_data
def test_one_ucf_reader_for_the_three_layouts(shared_data: Path) -> None:
    d = shared_data / "ucf_crime"
    temporal = read_ucf_annotation_file(d / "Temporal_Anomaly_Annotation.txt")
    test = read_ucf_annotation_file(d / "Test_Annotation.txt")
    train = read_ucf_annotation_file(d / "Train_Annotation.txt")
    assert (len(temporal), len(test), len(train)) == (290, 290, 1610)
    # SOURCES.md: apart from the folder and the count, Test_Annotation equals the official file
    assert {v: (r.cls, r.intervals) for v, r in temporal.items()} == {
        v: (r.cls, r.intervals) for v, r in test.items()
    }
    assert sum(r.cls == "Normal" for r in temporal.values()) == 150
    assert sum(r.cls == "Normal" for r in train.values()) == 800
    assert sum(len(r.intervals) == 2 for r in temporal.values()) == 16
    assert temporal["Arrest039_x264"].intervals == ((7215, 10335),)
    assert sum(r.n_frames for r in test.values()) == 1_111_808
    assert sum(r.n_frames for r in train.values()) == 12_656_615
    # the importers' readers are this reader
    counts = read_ucf_frame_counts(d / "Test_Annotation.txt")
    assert read_frame_counts(d / "Test_Annotation.txt") == counts
    classes = read_ucf_annotation_classes(d / "Train_Annotation.txt")
    assert classes["Normal_Videos826_x264"] == ("Normal", 1657)
    assert classes["Vandalism048_x264"] == ("Vandalism", 7183)
    # and the annotation reader takes Test_Annotation.txt as the annotation too
    a = read_ucf_crime(d / "Temporal_Anomaly_Annotation.txt", d / "Test_Annotation.txt")
    b = read_ucf_crime(d / "Test_Annotation.txt", d / "Test_Annotation.txt")
    assert a.dataset == "ucf-crime" and a.labels.keys() == b.labels.keys()
    assert all((a.labels[v] == b.labels[v]).all() for v in a.labels)


@pytest.mark.parametrize(
    "package",
    ["vadkit.datasets", "vadkit.datasets.annotations", "vadkit.evaluate", "vadkit.backbones"],
)
def test_public_names_resolve(package: str) -> None:
    import importlib

    mod = importlib.import_module(package)
    missing = [name for name in mod.__all__ if getattr(mod, name, None) is None]
    assert missing == []


def test_readme_python_api_imports_run() -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md", "exec"), {})  # every listed import exists
