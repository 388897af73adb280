"""Annotation readers: real published files (shared data) and synthetic error cases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vadkit.datasets.annotations import (
    NORMAL,
    GroundTruth,
    intervals_to_labels,
    labels_to_intervals,
    read_interval_csv,
    read_shanghaitech,
    read_shanghaitech_s3r_json,
    read_ucf_crime,
    read_ucf_crime_matlab,
    read_ucsd_ped2,
    read_xd_violence,
    read_xd_violence_multiclass,
    xd_video_id,
)
from vadkit.errors import VadkitError

UCF_TEST_CLASSES = {
    "Abuse": 2, "Arrest": 5, "Arson": 9, "Assault": 3, "Burglary": 13, "Explosion": 21,
    "Fighting": 5, "RoadAccidents": 23, "Robbery": 5, "Shooting": 23, "Shoplifting": 21,
    "Stealing": 5, "Vandalism": 5, NORMAL: 150,
}  # fmt: skip
XD_SEGMENTS = {1: 240, 2: 105, 3: 59, 4: 26, 5: 15, 6: 22, 7: 18, 8: 4, 9: 3, 10: 2,
               11: 1, 12: 1, 16: 1, 17: 2, 22: 1}  # fmt: skip
PED2_FRAMES = [180, 180, 150, 180, 150, 180, 180, 180, 120, 150, 180, 180]
PED2_ANOMALOUS = [120, 86, 146, 150, 129, 159, 135, 180, 120, 150, 180, 93]


def ucf(shared: Path) -> GroundTruth:
    d = shared / "ucf_crime"
    return read_ucf_crime(d / "Temporal_Anomaly_Annotation.txt", d / "Test_Annotation.txt")


# -- GroundTruth ---------------------------------------------------------------
def test_groundtruth_lazy_lengths_and_errors() -> None:
    gt = GroundTruth(
        "toy",
        labels={"a": np.array([0, 1, 1])},
        intervals={"b": [(2, 4)]},
        normal_ids={"c"},
    )
    assert gt.ids == ["a", "b", "c"] and len(gt) == 3 and "b" in gt and "z" not in gt
    assert gt.n_frames == {"a": 3}
    assert [gt.video_label(v) for v in gt.ids] == [1, 1, 0]
    assert gt.labels_for("b", 3).tolist() == [0, 0, 1]  # clipped at the length
    assert gt.labels_for("c", 2).tolist() == [0, 0]
    with pytest.raises(VadkitError, match="'c'.*does not give its length"):
        gt.labels_for("c")
    with pytest.raises(VadkitError, match="'a'.*asked for 5.*has 3"):
        gt.labels_for("a", 5)
    with pytest.raises(VadkitError, match="'z' is not in the toy ground truth"):
        gt.video_label("z")
    with pytest.raises(VadkitError, match="both normal"):
        GroundTruth("toy", labels={"a": np.zeros(2)}, normal_ids={"a"})
    with pytest.raises(VadkitError, match="0/1"):
        GroundTruth("toy", labels={"a": np.array([0, 2])})


def test_interval_label_roundtrip() -> None:
    lab = np.array([1, 1, 0, 0, 1, 0, 1], dtype=np.uint8)
    assert labels_to_intervals(lab) == [(0, 2), (4, 5), (6, 7)]
    assert np.array_equal(intervals_to_labels(labels_to_intervals(lab), lab.size), lab)


# -- UCF-Crime -----------------------------------------------------------------
def test_ucf_crime_real(shared_data: Path) -> None:
    gt = ucf(shared_data)
    assert len(gt) == 290 and len(gt.anomalous_ids()) == 140
    assert Counter(gt.classes.values()) == UCF_TEST_CLASSES
    assert sum(gt.n_frames.values()) == 1_111_808
    assert sum(16 * (n // 16) for n in gt.n_frames.values()) == 1_109_824
    assert all(not v.endswith(".mp4") for v in gt.ids)
    # Arson011: 150-420 and 680-1267 (1-based inclusive), 1266 frames: end clipped
    lab = gt.labels["Arson011_x264"]
    assert lab.size == 1266 and lab[148] == 0 and lab[149] == 1 and lab[419] == 1
    assert lab[420] == 0 and lab[678] == 0 and lab[679:].all()
    assert int(lab.sum()) == (420 - 150 + 1) + (1266 - 680 + 1)
    for vid in ("Arson016_x264", "Explosion033_x264", "Fighting003_x264", "Shooting015_x264"):
        assert gt.labels[vid][-1] == 1
    assert not gt.labels["Normal_Videos_003_x264"].any()


def test_ucf_crime_matlab_equals_text(shared_data: Path) -> None:
    txt = ucf(shared_data)
    mat = read_ucf_crime_matlab(
        shared_data / "rtfm_lists" / "Matlab_formate",
        shared_data / "ucf_crime" / "Test_Annotation.txt",
    )
    assert set(mat.ids) == set(txt.ids) and len(mat) == 290
    assert mat.classes == txt.classes
    same = [v for v in txt.ids if np.array_equal(txt.labels[v], mat.labels[v])]
    assert len(same) == 290


def test_ucf_crime_errors(tmp_path: Path) -> None:
    counts = tmp_path / "counts.txt"
    counts.write_text("A/a_x264.mp4 100 A 1 2 -1 -1\nB/b.mp4 50\n")
    ann = tmp_path / "ann.txt"
    ann.write_text("a_x264.mp4  A  10  101  -1  -1  \nb.mp4  Normal  -1  -1  -1  -1\n")
    gt = read_ucf_crime(ann, counts)
    assert gt.labels["a_x264"][9:].all() and not gt.labels["a_x264"][:9].any()
    cases = {
        "a.mp4  A  10  x  -1  -1\n": r"ann.txt:1: a frame number must be an integer, got 'x'",
        "b.mp4 Normal -1 -1\na.mp4  A  10\n": r"ann.txt:2: expected '<video>.mp4",
        "c.mp4  A  1  5  -1  -1\n": r"ann.txt:1: video 'c' has no frame count in .*counts.txt",
        "b.mp4  Normal  3  5  -1  -1\n": r"ann.txt:1: video 'b' of class 'Normal' has intervals",
        "b.mp4  Theft  -1  -1  -1  -1\n": r"ann.txt:1: video 'b' of class 'Theft' has no interval",
        "b.mp4  A  60  70  -1  -1\n": r"ann.txt:1: video 'b'.*starts after its last frame \(50\)",
        "b.mp4  A  5  -1  -1  -1\n": r"ann.txt:1: video 'b' has a half interval",
    }
    for text, msg in cases.items():
        ann.write_text(text)
        with pytest.raises(VadkitError, match=msg):
            read_ucf_crime(ann, counts)
    counts.write_text("A/a.mp4 many\n")
    with pytest.raises(
        VadkitError, match=r"counts.txt:1: expected .*got 'many' as the frame count \(2nd column\)"
    ):
        read_ucf_crime(ann, counts)


# -- ShanghaiTech --------------------------------------------------------------
def test_shanghaitech_real(shared_data: Path) -> None:
    sh = shared_data / "shanghaitech"
    all_masks = read_shanghaitech(sh / "test_frame_mask")
    assert len(all_masks) == 107 and len(all_masks.anomalous_ids()) == 107
    assert sum(v.size for v in all_masks.labels.values()) == 40791
    assert sum(int(v.sum()) for v in all_masks.labels.values()) == 17326
    test = read_shanghaitech(sh / "test_frame_mask", sh / "SH_Test.txt")
    assert len(test) == 199 and len(test.anomalous_ids()) == 44 and len(test.normal_ids) == 155
    assert "13_006" in test  # the last line, which has no final newline
    assert test.labels_for("01_001", 7).tolist() == [0] * 7
    with pytest.raises(VadkitError, match="'01_001'"):
        test.labels_for("01_001")
    train = read_shanghaitech(sh / "test_frame_mask", shared_data / "rtfm_lists" / "SH_Train.txt")
    assert len(train) == 238 and len(train.anomalous_ids()) == 63


def test_shanghaitech_s3r_json_real(shared_data: Path) -> None:
    gt = read_shanghaitech_s3r_json(
        shared_data / "s3r_layout" / "shanghaitech" / "shanghaitech_ground_truth.testing.json"
    )
    assert gt.padded_to == 16 and gt.n_frames == {} and len(gt) == 199
    assert gt.true_length("01_0015") is None and gt.labels["01_0015"].size == 448
    assert sum(v.size for v in gt.labels.values()) == 142912
    assert sum(int(v.sum()) for v in gt.labels.values()) == 8028
    assert len(gt.anomalous_ids()) == 44


def test_shanghaitech_errors(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    np.save(tmp_path / "m" / "01_0001.npy", np.array([0, 2]))
    with pytest.raises(VadkitError, match="01_0001.npy: expected a 1-D 0/1"):
        read_shanghaitech(tmp_path / "m")
    split = tmp_path / "split.txt"
    split.write_text("01_001\n01_001 x")
    with pytest.raises(VadkitError, match="split.txt:2: expected one video id"):
        read_shanghaitech(tmp_path / "m", split)
    js = tmp_path / "gt.json"
    js.write_text(json.dumps({"v": {"num_frames": 20, "labels": [0.0] * 20}}))
    with pytest.raises(VadkitError, match="'v' has 20 labels.*multiple of 16"):
        read_shanghaitech_s3r_json(js)


# -- XD-Violence ---------------------------------------------------------------
def test_xd_violence_real(shared_data: Path) -> None:
    xd = shared_data / "xd_violence"
    gt = read_xd_violence(xd / "annotations.txt", xd / "rgb_test.list")
    assert len(gt.intervals) == 500 and len(gt.normal_ids) == 300 and len(gt) == 800
    assert Counter(len(v) for v in gt.intervals.values()) == XD_SEGMENTS
    violent = {xd_video_id(ln) for ln in (xd / "rgb_test.list").read_text().split()} - gt.normal_ids
    assert violent == set(gt.intervals)  # the 14 '.mp4' names were stripped
    assert max(e for v in gt.intervals.values() for _, e in v) == 19116
    vid = "v=S-7rRLrxnVQ__#1_label_B4-0-0"
    assert gt.intervals[vid] == [(0, 1517), (1970, 3038)] and gt.classes[vid] == "B4"
    lab = gt.labels_for(vid, 16 * 100)  # [s, e) 0-based, clipped at 16 T
    assert lab[:1517].all() and lab[1517:].sum() == 0 and lab.size == 1600
    multi = read_xd_violence_multiclass(xd / "annotations_multiclasses.txt", xd / "rgb_test.list")
    assert set(multi.intervals) == set(gt.intervals) and multi.normal_ids == gt.normal_ids
    assert sum(multi.intervals[v] == gt.intervals[v] for v in gt.intervals) == 472
    assert all(len(multi.interval_classes[v]) == len(multi.intervals[v]) for v in multi.intervals)
    used = {c for v in multi.interval_classes.values() for c in v}
    assert used == {"B1", "B2", "B4", "B5", "B6", "G"}


def test_xd_violence_errors(tmp_path: Path) -> None:
    ann = tmp_path / "ann.txt"
    ann.write_text("a_label_B1-0-0 0 10\nb_label_G-0-0 5 9 12")
    with pytest.raises(VadkitError, match=r"ann.txt:2: expected '<video> <s1> <e1>"):
        read_xd_violence(ann)
    ann.write_text("a_label_B1-0-0 0 10 30 20")
    with pytest.raises(
        VadkitError, match=r"ann.txt:1: video 'a_label_B1-0-0' has interval \(30, 20\)"
    ):
        read_xd_violence(ann)
    ann.write_text("a_label_B1-0-0.mp4 0 10")
    lst = tmp_path / "rgb.list"
    lst.write_text("/x/a_label_B1-0-0__0.npy\n/x/n_label_A__0.npy\n/x/c_label_G-0-0__0.npy\n")
    with pytest.raises(VadkitError, match="violent video 'c_label_G-0-0' has no line"):
        read_xd_violence(ann, lst)
    multi = tmp_path / "multi.txt"
    multi.write_text("a_label_B1-0-0 B1 0 10 5 20 30")
    with pytest.raises(
        VadkitError, match="multi.txt:1: video 'a_label_B1-0-0': '5' is not a class"
    ):
        read_xd_violence_multiclass(multi)


# -- UCSD Ped2 -----------------------------------------------------------------
def test_ucsd_ped2_real(shared_data: Path) -> None:
    ped2 = shared_data / "ped2"
    mat = read_ucsd_ped2(ped2 / "ped2.mat", frames_root=ped2 / "testing" / "frames")
    m = read_ucsd_ped2(ped2 / "UCSDped2.m", n_frames=PED2_FRAMES)
    assert mat.ids == m.ids == [f"{k:02d}" for k in range(1, 13)]
    assert sum(np.array_equal(mat.labels[v], m.labels[v]) for v in mat.ids) == 12
    assert [mat.n_frames[v] for v in mat.ids] == PED2_FRAMES
    assert [int(mat.labels[v].sum()) for v in mat.ids] == PED2_ANOMALOUS
    assert sum(PED2_ANOMALOUS) == 1648
    assert mat.labels["01"][59] == 0 and mat.labels["01"][60:].all()  # [61:180] 1-based
    lazy = read_ucsd_ped2(ped2 / "UCSDped2.m", id_style="Test001")
    assert lazy.intervals["Test001"] == [(60, 180)] and lazy.n_frames == {}


def test_ucsd_ped2_masks_agree_with_labels(shared_data: Path) -> None:
    ped2 = shared_data / "ped2"
    gt = read_ucsd_ped2(ped2 / "ped2.mat", masks_dir=ped2 / "testing" / "masks")
    assert [gt.n_frames[v] for v in gt.ids] == PED2_FRAMES
    for vid in gt.ids:
        masks = gt.mask_loader(vid)
        assert masks.dtype == bool and masks.shape == (gt.n_frames[vid], 240, 360)
        assert np.array_equal(masks.any(axis=(1, 2)), gt.labels[vid].astype(bool)), vid


def _write_masks(folder: Path, names: list[str], on: set[int]) -> None:
    folder.mkdir(parents=True)
    for k, name in enumerate(names, 1):
        img = np.zeros((4, 6), np.uint8)
        if k - 1 in on:
            img[1, 2] = 255
        Image.fromarray(img).save(folder / name)


def test_ucsd_synthetic_layouts(tmp_path: Path) -> None:
    m = tmp_path / "UCSDped1.m"
    m.write_text(
        "TestVideoFile = {};\n% comment gt_frame\n"
        "TestVideoFile{end+1}.gt_frame = [2:3, 5 : 5];\n"
        "TestVideoFile{end+1}.gt_frame = [1:2];\n"
    )
    _write_masks(
        tmp_path / "masks" / "Test001_gt", [f"{k:03d}.bmp" for k in range(1, 7)], {1, 2, 4}
    )
    _write_masks(
        tmp_path / "masks" / "Test002_gt", [f"frame{k:03d}.png" for k in range(1, 4)], {0, 1}
    )
    with pytest.raises(TypeError, match="mask_root"):  # the pre-release name is gone
        read_ucsd_ped2(m, mask_root=tmp_path / "masks", id_style="Test001")
    gt = read_ucsd_ped2(m, masks_dir=tmp_path / "masks", id_style="Test001")
    assert gt.labels["Test001"].tolist() == [0, 1, 1, 0, 1, 0]
    assert gt.labels["Test002"].tolist() == [1, 1, 0]
    masks = gt.mask_loader("Test001")
    assert masks.shape == (6, 4, 6) and masks.any(axis=(1, 2)).tolist() == [0, 1, 1, 0, 1, 0]
    with pytest.raises(VadkitError, match="n_frames has 3 values.*2 videos"):
        read_ucsd_ped2(m, n_frames=[6, 3, 4])
    with pytest.raises(VadkitError, match="'02'.*interval \\[1, 2\\].*<= 1 frames"):
        read_ucsd_ped2(m, n_frames=[6, 1])
    with pytest.raises(VadkitError, match="'Test002': mask count is 3, but its length is 4"):
        read_ucsd_ped2(m, n_frames=[6, 4], masks_dir=tmp_path / "masks", id_style="Test001")
    bad = m.with_name("bad.m")
    bad.write_text("TestDataset.gt_frame{1} = [1:4];\nTestDataset.gt_frame{2} = [1-4];\n")
    with pytest.raises(VadkitError, match=r"bad.m:2: expected 'TestVideoFile"):
        read_ucsd_ped2(bad)
    bad.write_text("TestDataset.gt_frame{1} = [1:4];\nTestDataset.gt_frame{3} = [2:4];\n")
    with pytest.raises(VadkitError, match=r"videos \[1, 3\] are not numbered 1..2"):
        read_ucsd_ped2(bad)


def test_ucsd_mask_gap_error(tmp_path: Path) -> None:
    m = tmp_path / "gt.m"
    m.write_text("TestVideoFile{end+1}.gt_frame = [1:2];\n")
    _write_masks(tmp_path / "masks" / "Test001_gt", ["001.png", "003.png"], {0})
    with pytest.raises(VadkitError, match="Test001_gt: mask numbers must run 1..2 without gaps"):
        read_ucsd_ped2(m, masks_dir=tmp_path / "masks")


# -- generic CSV ---------------------------------------------------------------
def test_interval_csv(tmp_path: Path) -> None:
    f = tmp_path / "ann.csv"
    f.write_text(
        "video,start,end,n_frames,class\n"
        "a,2,4,6,fight\na,5,6,6,fight\nb,,,3,\nc,1,3,,theft\nd,,,,\n"
    )
    gt = read_interval_csv(f)
    assert gt.dataset == "ann" and gt.labels["a"].tolist() == [0, 0, 1, 1, 0, 1]
    assert gt.labels["b"].tolist() == [0, 0, 0] and gt.classes["b"] == NORMAL
    assert gt.intervals == {"c": [(1, 3)]} and gt.normal_ids == {"d"}
    assert gt.classes["a"] == "fight" and gt.video_label("b") == 0
    one = read_interval_csv(f, one_based_inclusive=True)
    assert one.labels["a"].tolist() == [0, 1, 1, 1, 1, 1] and one.intervals == {"c": [(0, 3)]}
    f.write_text("id,start,end,n_frames\na,2,9,6\n")
    with pytest.raises(VadkitError, match="ann.csv:2: video 'a' interval ends at 9, past its 6"):
        read_interval_csv(f)
    f.write_text("id,start,end\na,4,4\n")
    with pytest.raises(VadkitError, match="ann.csv:2: video 'a' interval invalid"):
        read_interval_csv(f)
    f.write_text("id,start,end\na,x,4\n")
    with pytest.raises(VadkitError, match="ann.csv:2: start must be an integer"):
        read_interval_csv(f)
    f.write_text("name,start\na,1\n")
    with pytest.raises(VadkitError, match="ann.csv:1: header lacks id, end"):
        read_interval_csv(f)
