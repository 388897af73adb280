"""Importers on the real published lists (with small generated arrays) and real feature files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from vadkit.datasets.importers import (
    Labeller,
    import_generic,
    import_per_crop,
    import_rtfm_list,
    import_s3r,
    import_sultani_c3d,
    read_frame_counts,
    read_s3r_csv,
    rtfm_video_id,
    summary_line,
    xd_classes,
    xd_label,
)
from vadkit.datasets.importers.common import read_lines, split_listed
from vadkit.errors import VadkitError
from vadkit.io.check import check_store
from vadkit.io.store import FeatureStore

UCF_TRAIN_CLASSES = {
    "Abuse": 48, "Arrest": 45, "Arson": 41, "Assault": 47, "Burglary": 87, "Explosion": 29,
    "Fighting": 45, "RoadAccidents": 127, "Robbery": 145, "Shooting": 27, "Shoplifting": 29,
    "Stealing": 95, "Vandalism": 45, "Normal": 800,
}  # fmt: skip
UCF_TEST_CLASSES = {
    "Abuse": 2, "Arrest": 5, "Arson": 9, "Assault": 3, "Burglary": 13, "Explosion": 21,
    "Fighting": 5, "RoadAccidents": 23, "Robbery": 5, "Shooting": 23, "Shoplifting": 21,
    "Stealing": 5, "Vandalism": 5, "Normal": 150,
}  # fmt: skip


@pytest.fixture(scope="module")
def ten_crop(tmp_path_factory) -> list[Path]:
    """Three distinct (T, 10, 2048) float32 arrays, T = 1, 2, 3."""
    folder = tmp_path_factory.mktemp("arrays")
    paths = []
    for T in (1, 2, 3):
        p = folder / f"T{T}.npy"
        np.save(p, np.full((T, 10, 2048), T, np.float32))
        paths.append(p)
    return paths


def link_listed(list_file: Path, root: Path, arrays: list[Path], *, lastdir=False) -> list[str]:
    """Symlink every file a list names under root (root/<basename> or root/<dir>/<basename>)."""
    names = []
    for i, (_, text) in enumerate(read_lines(list_file)):
        last, base = split_listed(text)
        dest = root / last / base if lastdir else root / base
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(arrays[i % len(arrays)])
        names.append(base)
    return names


def class_counts(store, split):
    return dict(Counter(store.entry(v).cls for v in store.select(split=split)))


# -- RTFM -------------------------------------------------------------------------------


def test_rtfm_ucf_lists_windows_crlf(shared_data, ten_crop, tmp_path):
    lists = shared_data / "rtfm_lists"
    train, test = lists / "ucf-i3d.list", lists / "ucf-i3d-test.list"
    assert b"\r\n" in train.read_bytes()[:200] and b"G:\\" in train.read_bytes()[:10]
    root = tmp_path / "root"
    listed = [link_listed(train, root, ten_crop)]
    listed.append(link_listed(test, root, ten_crop, lastdir=True))  # root/<last dir>/<base>
    real = {
        **read_frame_counts(shared_data / "ucf_crime" / "Train_Annotation.txt"),
        **read_frame_counts(shared_data / "ucf_crime" / "Test_Annotation.txt"),
    }
    # the stand-in arrays have T = 1, 2, 3: the real counts do not fit them, and the import
    # says so before anything lands
    with pytest.raises(VadkitError, match=r"'Abuse001_x264' .*ucf-i3d.list:1\): T=1 does not fit"):
        import_rtfm_list([train, test], tmp_path / "s", root=root, frame_counts=real)
    assert not (tmp_path / "s").exists()
    # counts that fit the stand-ins: 16 frames per snippet
    counts = {rtfm_video_id(n): 16 * (i % 3 + 1) for ns in listed for i, n in enumerate(ns)}
    assert set(counts) == set(real)
    store = import_rtfm_list([train, test], tmp_path / "s", root=root, frame_counts=counts)

    assert len(store) == 1900
    expected_ids = [rtfm_video_id(t) for lst in (train, test) for _, t in read_lines(lst)]
    assert store.ids == expected_ids  # list order kept
    assert store.ids[0] == "Abuse001_x264" and all("\r" not in v for v in store.ids)
    assert len(store.select(split="train", label=1)) == 810
    assert len(store.select(split="train", label=0)) == 800
    assert len(store.select(split="test", label=1)) == 140
    assert len(store.select(split="test", label=0)) == 150
    assert class_counts(store, "train") == UCF_TRAIN_CLASSES
    assert class_counts(store, "test") == UCF_TEST_CLASSES
    assert store.entry("RoadAccidents123_x264").cls == "RoadAccidents"
    assert store.entry("Arson022_x264").n_frames == counts["Arson022_x264"]
    assert all(e.n_frames is not None for e in store.entries)
    # symlinked, and each id carries the array its listed file points to
    assert store.file("Abuse001_x264").is_symlink()
    assert store.load("Abuse002_x264").shape == (2, 10, 2048)
    info = store.info
    assert (info.backbone, info.dim, info.crops, info.snippet_length, info.stride) == (
        "i3d_r50", 2048, 10, 16, 16,
    )  # fmt: skip
    assert (info.weights_sha256, info.padding, info.source) == ("unknown", "unknown", "import:rtfm")
    assert info.dataset == "ucf-crime" and info.crop_mode == "ten"
    assert "train 1610 (810 anomalous, 800 normal), test 290 (140 anomalous, 150 normal)" in (
        summary_line(store)
    )


def test_rtfm_labels_ignore_positions(ten_crop, tmp_path):
    # anomalous after normal, shuffled: labels still follow the names
    lst = tmp_path / "mixed-test.list"
    names = ["Normal_Videos_003_x264", "Arson011_x264", "Normal_Videos001_x264", "Abuse028_x264"]
    lst.write_bytes(b"".join(f"G:\\X\\{n}_i3d.npy\r\n".encode() for n in names))
    link_listed(lst, tmp_path / "r", ten_crop)
    store = import_rtfm_list(lst, tmp_path / "s", root=tmp_path / "r")
    assert [store.entry(n).label for n in names] == [0, 1, 0, 1]
    assert store.select(split="test") == names
    # a second import into the same store appends in its own list order
    lst2 = tmp_path / "more-train.list"
    lst2.write_text("/a/Vandalism007_x264_i3d.npy\n/a/Burglary001_x264_i3d.npy\n")
    link_listed(lst2, tmp_path / "r", ten_crop)
    store = import_rtfm_list(lst2, tmp_path / "s", root=tmp_path / "r")
    assert store.ids == [*names, "Vandalism007_x264", "Burglary001_x264"]
    assert store.select(split="train") == ["Vandalism007_x264", "Burglary001_x264"]


def test_rtfm_missing_file_names_list_line_and_path(ten_crop, tmp_path):
    lst = tmp_path / "ucf-i3d-test.list"
    lst.write_bytes(
        b"G:\\UCF_Test_ten_crop_i3d\\Abuse028_x264_i3d.npy\r\n"
        b"G:\\UCF_Test_ten_crop_i3d\\Abuse030_x264_i3d.npy\r\n"
    )
    root = tmp_path / "root"
    root.mkdir()
    (root / "Abuse028_x264_i3d.npy").symlink_to(ten_crop[0])
    with pytest.raises(VadkitError) as err:
        import_rtfm_list(lst, tmp_path / "s", root=root)
    msg = str(err.value)
    assert f"{lst}:2:" in msg and str(root / "Abuse030_x264_i3d.npy") in msg
    assert "\n" not in msg
    assert not (tmp_path / "s" / "manifest.json").exists()  # nothing written


def test_rtfm_windows_list_without_root_says_so(shared_data, tmp_path):
    with pytest.raises(VadkitError, match=r"ucf-i3d-test.list:1: .*Windows paths.*--root"):
        import_rtfm_list(shared_data / "rtfm_lists" / "ucf-i3d-test.list", tmp_path / "s")


def test_rtfm_shanghaitech_labels_from_masks(shared_data, ten_crop, tmp_path):
    lists = shared_data / "rtfm_lists"
    train = lists / "shanghai-i3d-train-10crop.list"
    test = lists / "shanghai-i3d-test-10crop.list"
    with pytest.raises(VadkitError, match="ShanghaiTech labels need --masks"):
        import_rtfm_list([train, test], tmp_path / "s")
    root = tmp_path / "root"
    link_listed(train, root, ten_crop)
    link_listed(test, root, ten_crop)
    masks = shared_data / "shanghaitech"
    store = import_rtfm_list([train, test], tmp_path / "s", root=root, masks_dir=masks)
    assert len(store.select(split="train")) == 238 and len(store.select(split="test")) == 199
    assert len(store.select(split="train", label=1)) == 63
    assert len(store.select(split="test", label=1)) == 44
    mask_ids = {p.stem for p in (masks / "test_frame_mask").glob("*.npy")}
    assert set(store.select(label=1)) == mask_ids
    assert store.info.dataset == "shanghaitech"
    assert store.info.extra["t_rule"] == "ceil(n_frames/16)"


def test_rtfm_real_shanghaitech_features(shared_data, tmp_path):
    src = shared_data / "i3d_samples" / "shanghaitech"
    test_list = tmp_path / "shanghai-test.list"
    test_list.write_text(
        "".join(
            f"/home/yu/yu_ssd/SH_Test_ten_crop_i3d/{v}_i3d.npy\n"
            for v in ("01_001", "01_004", "01_006")
        )
    )
    train_list = tmp_path / "shanghai-train.list"
    train_list.write_text("/home/yu/yu_ssd/SH_Train_ten_crop_i3d/01_002_i3d.npy")
    store = import_rtfm_list(
        [train_list, test_list],
        tmp_path / "s",
        root=[src, src / "train"],
        masks_dir=shared_data / "shanghaitech",
    )
    shapes = {v: store.load(v).shape for v in store}
    assert shapes == {
        "01_002": (31, 10, 2048),
        "01_001": (48, 10, 2048),
        "01_004": (49, 10, 2048),
        "01_006": (32, 10, 2048),
    }
    assert store.select(label=0) == ["01_002", "01_001", "01_004", "01_006"]
    assert store.select(split="train") == ["01_002"]
    np.testing.assert_array_equal(store.load("01_004"), np.load(src / "01_004_i3d.npy"))
    assert store.file("01_001").is_symlink()
    assert check_store(store.path) == []  # imported stores pass the same check

    copied = import_rtfm_list(
        test_list, tmp_path / "c", root=src, masks_dir=shared_data / "shanghaitech", copy=True
    )
    assert not copied.file("01_006").is_symlink()
    np.testing.assert_array_equal(copied.load("01_006"), np.load(src / "01_006_i3d.npy"))


# -- S3R --------------------------------------------------------------------------------


def test_s3r_csvs_match_rtfm_lists(shared_data, ten_crop, tmp_path):
    s3r = shared_data / "s3r_layout"
    for csv_name, list_name in [
        ("ucf-crime/ucf-crime.training.csv", "ucf-i3d.list"),
        ("ucf-crime/ucf-crime.testing.csv", "ucf-i3d-test.list"),
        ("shanghaitech/shanghaitech.training.csv", "shanghai-i3d-train-10crop.list"),
        ("shanghaitech/shanghaitech.testing.csv", "shanghai-i3d-test-10crop.list"),
    ]:
        ids = [v for _, v in read_s3r_csv(s3r / csv_name)]
        listed = [rtfm_video_id(t) for _, t in read_lines(shared_data / "rtfm_lists" / list_name)]
        assert ids == listed

    csvs = [
        s3r / "ucf-crime" / "ucf-crime.training.csv",
        s3r / "ucf-crime" / "ucf-crime.testing.csv",
    ]
    i3d = tmp_path / "i3d"
    for csv_file, split in zip(csvs, ("train", "test"), strict=True):
        (i3d / split).mkdir(parents=True)
        for k, (_, vid) in enumerate(read_s3r_csv(csv_file)):
            (i3d / split / f"{vid}_i3d.npy").symlink_to(ten_crop[k % 3])
    store = import_s3r(csvs, i3d, tmp_path / "s")
    assert len(store) == 1900 and store.info.source == "import:s3r"
    assert len(store.select(split="train", label=1)) == 810
    assert len(store.select(split="test", label=0)) == 150
    assert class_counts(store, "test") == UCF_TEST_CLASSES


def test_s3r_shanghaitech_needs_masks(shared_data, ten_crop, tmp_path):
    csv_file = shared_data / "s3r_layout" / "shanghaitech" / "shanghaitech.testing.csv"
    for _, vid in read_s3r_csv(csv_file):
        (tmp_path / f"{vid}_i3d.npy").symlink_to(ten_crop[0])
    with pytest.raises(VadkitError, match="--masks"):
        import_s3r(csv_file, tmp_path, tmp_path / "s")
    store = import_s3r(csv_file, tmp_path, tmp_path / "s", masks_dir=shared_data / "shanghaitech")
    assert len(store.select(split="test", label=1)) == 44 and len(store) == 199


def test_s3r_bad_header(tmp_path):
    bad = tmp_path / "x.testing.csv"
    bad.write_text("id\nAbuse001_x264\n")
    with pytest.raises(VadkitError, match="video-id"):
        read_s3r_csv(bad)


# -- per-crop (Wu et al. / XD-Violence / VadCLIP) ----------------------------------------


@pytest.fixture(scope="module")
def crop_arrays(tmp_path_factory) -> dict[tuple[int, int], Path]:
    """(T, k) -> a (T, 1024) array filled with 10 * T + k."""
    folder = tmp_path_factory.mktemp("crops")
    out = {}
    for T in (1, 2):
        for k in range(10):
            p = folder / f"T{T}_k{k}.npy"
            np.save(p, np.full((T, 1024), 10 * T + k, np.float32))
            out[T, k] = p
    return out


def test_per_crop_xd_test_list(shared_data, crop_arrays, tmp_path):
    lst = shared_data / "xd_violence" / "rgb_test.list"
    root = tmp_path / "RGBTest"
    root.mkdir()
    for i, (_, text) in enumerate(read_lines(lst)):
        base = split_listed(text)[1]
        (root / base).symlink_to(crop_arrays[1 + (i // 5) % 2, int(base[-5])])
    store = import_per_crop(lst, tmp_path / "s", root=root, n_crops=5, backbone="i3d_rgb")
    assert len(store) == 800
    assert len(store.select(split="test", label=1)) == 500
    assert len(store.select(split="test", label=0)) == 300
    vid = "Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6"
    assert store.ids[0] == vid
    assert store.entry(vid).cls == "G-B2-B6" and xd_classes("G-B2-B6") == ["G", "B2", "B6"]
    x = store.load(vid)
    assert x.shape == (1, 5, 1024) and x.dtype == np.float32
    assert [float(x[0, k, 0]) for k in range(5)] == [10.0 + k for k in range(5)]  # crop order
    assert store.load(store.ids[1]).shape == (2, 5, 1024)
    info = store.info
    assert (info.backbone, info.crops, info.dim, info.source) == (
        "i3d_rgb",
        5,
        1024,
        "import:per-crop",
    )
    assert info.crop_mode == "five" and info.extra["crop_indices"] == [0, 1, 2, 3, 4]
    assert not store.file(vid).is_symlink()  # stacked: a copy


def test_xd_train_list_labels_from_names(shared_data):
    names = {
        split_listed(t)[1].rsplit("__", 1)[0]
        for _, t in read_lines(shared_data / "xd_violence" / "rgb.list")
    }
    labels = Counter(xd_label(n)[0] for n in names)
    assert labels == {1: 1905, 0: 2049}


def write_crops(folder: Path, name: str, shapes: list[tuple[int, int]]) -> list[Path]:
    paths = []
    for k, shape in enumerate(shapes):
        p = folder / f"{name}__{k}.npy"
        np.save(p, np.full(shape, k, np.float32))
        paths.append(p)
    return paths


def test_per_crop_unequal_T_names_video(tmp_path):
    a = write_crops(tmp_path, "v=a__#1_label_A", [(3, 8)] * 5)
    b = write_crops(tmp_path, "v=b__#1_label_B1-0-0", [(3, 8)] * 3 + [(4, 8)] + [(3, 8)])
    lst = tmp_path / "rgb_test.list"
    lst.write_text("\n".join(str(p) for p in a + b) + "\n")
    with pytest.raises(VadkitError, match=r"video 'v=b__#1_label_B1-0-0'.*equal T"):
        import_per_crop(lst, tmp_path / "s")


def test_per_crop_missing_crop_and_non_consecutive(tmp_path):
    a = write_crops(tmp_path, "v=a__#1_label_A", [(2, 8)] * 5)
    b = write_crops(tmp_path, "v=b__#1_label_A", [(2, 8)] * 5)
    lst = tmp_path / "x.list"
    lst.write_text("\n".join(str(p) for p in a + b[:4]))
    with pytest.raises(
        VadkitError, match=r"x.list:6: video 'v=b__#1_label_A' lists crops \[0, 1, 2, 3\]"
    ):
        import_per_crop(lst, tmp_path / "s")
    lst.write_text("\n".join(str(p) for p in a[:2] + b + a[2:]))
    with pytest.raises(VadkitError, match="already listed at .*must be consecutive"):
        import_per_crop(lst, tmp_path / "s")


def test_per_crop_vadclip_csv_and_folder_scan(tmp_path):
    feats = tmp_path / "UCFClipFeatures"
    (feats / "Abuse").mkdir(parents=True)
    (feats / "Normal").mkdir()
    rows = ["path,label"]
    for folder, name, label in [
        ("Abuse", "Abuse001_x264", "Abuse"),
        ("Normal", "Normal_Videos001_x264", "Normal"),
    ]:
        for p in write_crops(feats / folder, name, [(2, 512)] * 10):
            rows.append(f"/home/x/UCFClipFeatures/{folder}/{p.name},{label}")
    csv_file = tmp_path / "ucf_CLIP_rgb.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    store = import_per_crop(csv_file, tmp_path / "s", root=feats, n_crops=10)
    assert store.ids == ["Abuse001_x264", "Normal_Videos001_x264"]
    assert [(e.label, e.cls, e.split) for e in store.entries] == [
        (1, "Abuse", "train"),
        (0, "Normal", "train"),
    ]
    assert store.load("Abuse001_x264").shape == (2, 10, 512)
    # the test CSV lists one crop (__5) per video: a one-crop store
    test_csv = tmp_path / "ucf_CLIP_rgbtest.csv"
    test_csv.write_text("path,label\n/x/Abuse/Abuse001_x264__5.npy,Abuse\n")
    one = import_per_crop(test_csv, tmp_path / "t", root=feats)
    assert one.info.crops == 1 and one.info.extra["crop_indices"] == [5]
    assert one.info.crop_mode is None
    assert float(one.load("Abuse001_x264")[0, 0, 0]) == 5.0 and one.entries[0].split == "test"
    # a folder scan finds both videos, labels from the UCF names
    scanned = import_per_crop(feats, tmp_path / "d", split="train")
    assert sorted(scanned.ids) == ["Abuse001_x264", "Normal_Videos001_x264"]
    assert scanned.entry("Normal_Videos001_x264").label == 0


# -- Sultani C3D -----------------------------------------------------------------------------


def test_sultani_real_files(shared_data, tmp_path):
    folder = shared_data / "ucf_crime" / "c3d_32seg_samples"
    store = import_sultani_c3d(
        folder,
        tmp_path / "s",
        annotations=shared_data / "ucf_crime" / "Temporal_Anomaly_Annotation.txt",
        frame_counts=read_frame_counts(folder / "videos.csv"),
    )
    assert len(store) == 10
    assert len(store.select(label=1)) == 8 and len(store.select(label=0)) == 2
    assert store.select(split="test") == store.ids
    assert store.entry("RoadAccidents002_x264").n_frames == 347
    info = store.info
    assert (info.backbone, info.crops, info.dim, info.n_segments, info.padding) == (
        "c3d", 1, 4096, 32, "segments",
    )  # fmt: skip
    for vid in store:
        x = np.asarray(store.load(vid))
        assert x.shape == (32, 1, 4096)
        np.testing.assert_allclose(np.linalg.norm(x[:, 0], axis=1), 1.0, atol=2e-3)
    rows = np.asarray(store.load("RoadAccidents002_x264"))[:, 0]
    repeats = sum(np.array_equal(rows[i], rows[i + 1]) for i in range(31))
    assert repeats == 12
    assert store.entry("Normal_Videos_006_x264").cls == "Normal"
    assert check_store(store.path) == []


def test_sultani_wrong_count_names_file(tmp_path):
    bad = tmp_path / "Arson001_x264.txt"
    bad.write_text("\n".join(" ".join(["0.1"] * 4095) for _ in range(32)) + "\n")
    with pytest.raises(VadkitError, match=r"Arson001_x264.txt: 131040 values, expected 32 x 4096"):
        import_sultani_c3d(bad, tmp_path / "s")


# -- generic ---------------------------------------------------------------------------------


def test_generic_layout(tmp_path):
    feats = tmp_path / "features"
    feats.mkdir()
    np.save(feats / "a.npy", np.ones((4, 16), np.float32))
    np.save(feats / "b.npy", np.zeros((2, 16), np.float64))
    np.save(feats / "other_c.npy", np.ones((3, 16), np.float32))
    csv_file = tmp_path / "videos.csv"
    csv_file.write_text(
        "id,label,class,split,n_frames,file\n"
        "a,0,Normal,train,64,\n"
        "b,abnormal,Fight,test,,\n"
        "c,,,test,48,other_c.npy\n"
    )
    store = import_generic(feats, csv_file, tmp_path / "s", backbone="mine")
    assert store.ids == ["a", "b", "c"]
    assert [(e.label, e.cls, e.split, e.n_frames) for e in store.entries] == [
        (0, "Normal", "train", 64),
        (1, "Fight", "test", None),
        (None, None, "test", 48),
    ]
    assert store.load("b").shape == (2, 1, 16) and store.load("b").dtype == np.float32
    assert (store.info.backbone, store.info.crops, store.info.dim) == ("mine", 1, 16)

    csv_file.write_text("id,label\na,maybe\n")
    with pytest.raises(VadkitError, match=r"videos.csv:2: label 'maybe'"):
        import_generic(feats, csv_file, tmp_path / "t")


def test_generic_three_d_files_are_linked(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 3, 8), np.float32))
    (tmp_path / "v.csv").write_text("id,label,class,split\nx,1,Theft,test\n")
    store = import_generic(tmp_path, tmp_path / "v.csv", tmp_path / "s")
    assert store.file("x").is_symlink() and store.info.crops == 3
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["videos"][0]["class"] == "Theft"


# -- labels and frame counts -------------------------------------------------------------------


def test_labeller_detection_and_errors():
    assert Labeller("auto", ["Abuse001_x264"]).dataset == "ucf-crime"
    with pytest.raises(VadkitError, match="cannot tell the dataset"):
        Labeller("auto", ["cam1_video"])
    with pytest.raises(VadkitError, match="does not look like ucf-crime"):
        Labeller("auto", ["Abuse001_x264", "01_0014"])


def test_read_frame_counts(shared_data):
    test = read_frame_counts(shared_data / "ucf_crime" / "Test_Annotation.txt")
    train = read_frame_counts(shared_data / "ucf_crime" / "Train_Annotation.txt")
    assert len(test) == 290 and len(train) == 1610
    assert test["Arson022_x264"] == 8640 and sum(test.values()) == 1_111_808
    with pytest.raises(VadkitError, match="Temporal_Anomaly_Annotation.txt:1: expected"):
        read_frame_counts(shared_data / "ucf_crime" / "Temporal_Anomaly_Annotation.txt")


def test_failed_import_lands_nothing(tmp_path):
    feats = tmp_path / "f"
    feats.mkdir()
    np.save(feats / "ok.npy", np.zeros((3, 8), np.float32))
    np.save(feats / "bad.npy", np.zeros((3, 5), np.float32))
    csv = tmp_path / "v.csv"
    csv.write_text("id,label\nok,0\nbad,1\n")
    with pytest.raises(VadkitError, match="bad"):
        import_generic(feats, csv, tmp_path / "s")
    assert not (tmp_path / "s").exists()  # a new store is not even created


# -- import semantics: all or nothing, never a silent replacement ------------------------------


def generic_files(folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    """``folder/<id>.npy`` per array and a ``v.csv`` listing them (label 0); returns the CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    for vid, arr in arrays.items():
        np.save(folder / f"{vid}.npy", arr)
    csv = folder / "v.csv"
    csv.write_text("id,label\n" + "".join(f"{vid},0\n" for vid in arrays))
    return csv


def test_import_never_replaces_a_video_silently(tmp_path):
    one = np.ones((2, 1, 4), np.float32)
    first = generic_files(tmp_path / "a", {"x": one, "y": one})
    import_generic(tmp_path / "a", first, tmp_path / "s")
    again = generic_files(tmp_path / "b", {"y": 2 * one, "z": 2 * one})
    with pytest.raises(VadkitError, match=r"already holds 1 of these videos \('y'\).*--overwrite"):
        import_generic(tmp_path / "b", again, tmp_path / "s")
    store = FeatureStore.open(tmp_path / "s")
    assert store.ids == ["x", "y"] and float(store.load("y")[0, 0, 0]) == 1.0  # untouched
    assert [p.name for p in (tmp_path / "s").iterdir() if p.name.startswith(".import")] == []
    store = import_generic(tmp_path / "b", again, tmp_path / "s", overwrite=True)
    assert store.ids == ["x", "y", "z"] and float(store.load("y")[0, 0, 0]) == 2.0


def test_failed_import_leaves_an_existing_store_as_it_was(tmp_path):
    one = np.ones((2, 1, 4), np.float32)
    import_generic(tmp_path / "a", generic_files(tmp_path / "a", {"x": one}), tmp_path / "s")
    before = sorted(p.name for p in (tmp_path / "s" / "features").iterdir())
    bad = one.copy()
    bad[1, 0, 2] = np.nan
    csv = generic_files(tmp_path / "b", {"n1": one, "n2": one, "n3": bad})
    with pytest.raises(VadkitError, match=r"video 'n3' \(.*v.csv:4\): features hold 1 NaN"):
        import_generic(tmp_path / "b", csv, tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s" / "features").iterdir()) == before
    assert FeatureStore.open(tmp_path / "s").ids == ["x"]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        ".manifest.lock", "features", "manifest.json", "store.json",
    ]  # fmt: skip


def test_import_catches_inf_and_T_against_frame_counts(tmp_path):
    arr = np.zeros((3, 1, 4), np.float32)
    arr[0, 0, 0] = np.inf
    csv = generic_files(tmp_path / "f", {"a": arr})
    with pytest.raises(VadkitError, match="0 NaN and 1 Inf"):
        import_generic(tmp_path / "f", csv, tmp_path / "s")
    csv = generic_files(tmp_path / "g", {"a": np.zeros((3, 1, 4), np.float32)})
    csv.write_text("id,label,n_frames\na,0,100\n")  # 16-frame snippets: T 6 or 7, not 3
    with pytest.raises(VadkitError, match=r"T=3 does not fit n_frames=100 .*T in \[6, 7\]"):
        import_generic(tmp_path / "g", csv, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_import_of_an_empty_npy_is_a_one_line_error(tmp_path):
    csv = generic_files(tmp_path / "f", {"a": np.zeros((3, 1, 4), np.float32)})
    (tmp_path / "f" / "b.npy").write_bytes(b"")
    csv.write_text("id,label\na,0\nb,0\n")
    with pytest.raises(VadkitError, match=r"b.npy: empty file"):
        import_generic(tmp_path / "f", csv, tmp_path / "s")


def test_import_into_a_path_under_a_file_fails_before_work(tmp_path):
    csv = generic_files(tmp_path / "f", {"a": np.zeros((3, 1, 4), np.float32)})
    (tmp_path / "file").write_text("x")
    with pytest.raises(VadkitError, match=r"cannot create store .*file is a file.*--out"):
        import_generic(tmp_path / "f", csv, tmp_path / "file" / "s")
    with pytest.raises(VadkitError, match=r"store .*file is a file, not a directory"):
        import_generic(tmp_path / "f", csv, tmp_path / "file")
