"""align_labels / x16_labels: real published ground truth against stores built from it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from vadkit.datasets.align import align_labels, snippet_labels, x16_labels
from vadkit.datasets.annotations import (
    GroundTruth,
    read_shanghaitech,
    read_shanghaitech_s3r_json,
    read_ucf_crime,
    read_ucsd_ped2,
    read_xd_violence,
)
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter, VideoEntry


def make_store(
    path: Path, lengths: dict[str, int], n_frames: dict[str, int] | None = None, **info: object
) -> FeatureStore:
    """A tiny (T, 1, 1) store; ``lengths`` gives each video's T, in store order."""
    meta = {"backbone": "i3d", "weights_sha256": "unknown", "dim": 1, "crops": 1, **info}
    writer = StoreWriter(path, StoreInfo(**meta))
    for vid, T in lengths.items():
        nf = None if n_frames is None else n_frames.get(vid)
        writer.add(vid, np.zeros((T, 1, 1), np.float32), n_frames=nf)
    return writer.finalize(order=list(lengths))


def entries(lengths: dict[str, int], n_frames: dict[str, int] | None = None) -> list[VideoEntry]:
    nf = n_frames or {}
    return [VideoEntry(id=v, file=f"{v}.npy", T=T, n_frames=nf.get(v)) for v, T in lengths.items()]


def test_x16_labels_pad_and_truncate() -> None:
    lab = np.array([0, 0, 1, 1, 1])
    assert x16_labels(lab, 1, 4).tolist() == [0, 0, 1, 1]
    assert x16_labels(lab, 2, 4).tolist() == [0, 0, 1, 1, 1, 1, 1, 1]
    assert x16_labels(np.array([1, 0]), 2, 2).tolist() == [1, 0, 0, 0]
    assert x16_labels(lab, 1, 5).dtype == np.uint8
    with pytest.raises(VadkitError, match="non-empty 1-D"):
        x16_labels(np.zeros((2, 2)), 1)


def test_shanghaitech_x16_equals_released_gt(shared_data: Path, tmp_path: Path) -> None:
    s3r_file = (
        shared_data / "s3r_layout" / "shanghaitech" / "shanghaitech_ground_truth.testing.json"
    )
    s3r = json.loads(s3r_file.read_text())
    lines = (shared_data / "rtfm_lists" / "shanghai-i3d-test-10crop.list").read_text().split()
    order = [Path(p).name.removesuffix("_i3d.npy") for p in lines]
    T = {vid: s3r[vid]["num_frames"] // 16 for vid in order}
    sh = shared_data / "shanghaitech"
    gt = read_shanghaitech(sh / "test_frame_mask", sh / "SH_Test.txt")
    for vid, n in gt.n_frames.items():  # the release has T = ceil(n / 16)
        assert T[vid] == math.ceil(n / 16), vid
    store = make_store(tmp_path / "sh", T)
    assert store.ids == order
    aligned = align_labels(gt, store)
    assert list(aligned) == order
    released = np.load(shared_data / "rtfm_lists" / "gt-sh.npy")
    assert np.array_equal(np.concatenate([aligned[v] for v in order]), released)
    from_json = align_labels(read_shanghaitech_s3r_json(s3r_file), store)
    assert all(np.array_equal(from_json[v], s3r[v]["labels"]) for v in order)
    # exact: masks for anomalous videos; normal ones need the store's n_frames
    with pytest.raises(VadkitError, match="'exact' labels need its frame count"):
        align_labels(gt, store, convention="exact")
    anomalous = {v: T[v] for v in order if v in gt.labels}
    exact = align_labels(gt, entries(anomalous), convention="exact")
    assert sum(v.size for v in exact.values()) == sum(gt.n_frames[v] for v in anomalous)
    padded = align_labels(
        read_shanghaitech_s3r_json(s3r_file), entries(anomalous, gt.n_frames), convention="exact"
    )
    assert all(np.array_equal(padded[v], gt.labels[v]) for v in anomalous)


def test_ucf_crime_x16_and_exact_totals(shared_data: Path, tmp_path: Path) -> None:
    d = shared_data / "ucf_crime"
    gt = read_ucf_crime(d / "Temporal_Anomaly_Annotation.txt", d / "Test_Annotation.txt")
    floor_T = {v: n // 16 for v, n in gt.n_frames.items()}
    store = make_store(tmp_path / "ucf", floor_T, gt.n_frames)
    x16 = align_labels(gt, store)
    assert len(x16) == 290 and sum(v.size for v in x16.values()) == 1_109_824
    assert all(np.array_equal(x16[v], gt.labels[v][: 16 * floor_T[v]]) for v in gt.ids)
    exact = align_labels(gt, store, convention="exact")
    assert sum(v.size for v in exact.values()) == 1_111_808
    ceil_T = {v: math.ceil(n / 16) for v, n in gt.n_frames.items()}
    padded = align_labels(gt, entries(ceil_T))
    assert sum(v.size for v in padded.values()) == 16 * sum(ceil_T.values())
    assert padded["Arson011_x264"][-20:].all()  # edge-padded with the last (anomalous) value


def test_length_mismatch_names_video_and_lengths(shared_data: Path) -> None:
    d = shared_data / "ucf_crime"
    gt = read_ucf_crime(d / "Temporal_Anomaly_Annotation.txt", d / "Test_Annotation.txt")
    n = gt.n_frames["Abuse028_x264"]
    bad = entries({"Abuse028_x264": n // 16 + 5})
    msg = (
        rf"video 'Abuse028_x264': features have T={n // 16 + 5}, "
        rf"i\.e\. {16 * (n // 16 + 5)} frames.*annotation has {n} frames"
    )
    with pytest.raises(VadkitError, match=msg):
        align_labels(gt, bad)
    with pytest.raises(VadkitError, match=msg):
        align_labels(gt, bad, convention="exact")
    with pytest.raises(VadkitError, match=rf"store says {n + 3} frames.*has {n} frames"):
        align_labels(gt, entries({"Abuse028_x264": n // 16}, {"Abuse028_x264": n + 3}), "exact")


def test_missing_videos_error_or_skip() -> None:
    gt = GroundTruth("toy", labels={"a": np.ones(32)})
    ents = entries({"a": 2, "zz": 3})
    with pytest.raises(VadkitError, match="video 'zz' of the store is not in the toy ground truth"):
        align_labels(gt, ents)
    assert list(align_labels(gt, ents, missing="skip")) == ["a"]
    with pytest.raises(VadkitError, match="missing must be"):
        align_labels(gt, ents, missing="ignore")
    with pytest.raises(VadkitError, match="convention must be"):
        align_labels(gt, ents, convention="x32")


def test_fixed_segment_store_needs_exact(tmp_path: Path) -> None:
    gt = GroundTruth("toy", labels={"a": np.array([0, 1, 1, 0, 0])})
    store = make_store(tmp_path / "seg", {"a": 32}, {"a": 5}, n_segments=32, padding="segments")
    with pytest.raises(VadkitError, match="32 fixed segments.*use convention='exact'"):
        align_labels(gt, store)
    assert align_labels(gt, store, convention="exact")["a"].tolist() == [0, 1, 1, 0, 0]


def test_store_snippet_length_and_stride(tmp_path: Path) -> None:
    gt = GroundTruth("toy", labels={"a": np.array([0] * 10 + [1] * 11)})  # 21 frames
    store = make_store(tmp_path / "s8", {"a": 3}, snippet_length=8, stride=8)
    assert align_labels(gt, store)["a"].size == 24
    assert align_labels(gt, store, snippet_length=16)["a"].size == 48  # T=3 fits the store's rule
    with pytest.raises(TypeError, match="snippet_len"):  # the pre-release name is gone
        align_labels(gt, store, snippet_len=16)
    with pytest.raises(VadkitError, match="features have T=5, i.e. 40 frames at 8 per snippet"):
        align_labels(gt, make_store(tmp_path / "s8b", {"a": 5}, snippet_length=8, stride=8))
    with pytest.raises(VadkitError, match="features have T=3, i.e. 48 frames at 16 per snippet"):
        align_labels(gt, entries({"a": 3}))
    overlap = make_store(tmp_path / "s4", {"a": 6}, snippet_length=8, stride=4)
    with pytest.raises(VadkitError, match="'x16' needs snippets that tile"):
        align_labels(gt, overlap)
    assert align_labels(gt, overlap, convention="exact")["a"].size == 21


def test_xd_violence_intervals_sized_by_store(shared_data: Path) -> None:
    xd = shared_data / "xd_violence"
    gt = read_xd_violence(xd / "annotations.txt", xd / "rgb_test.list")
    vid, normal = "v=S-7rRLrxnVQ__#1_label_B4-0-0", sorted(gt.normal_ids)[0]
    out = align_labels(gt, entries({vid: 150, normal: 7}))
    lab = out[vid]  # [0, 1517) and [1970, 3038), clipped at 16 * 150 = 2400
    assert lab.size == 2400 and lab[:1517].all() and not lab[1517:1970].any() and lab[1970:].all()
    assert out[normal].tolist() == [0] * 112
    with pytest.raises(VadkitError, match="'exact' labels need its frame count"):
        align_labels(gt, entries({vid: 150}), convention="exact")
    exact = align_labels(gt, entries({vid: 150}, {vid: 3050}), convention="exact")
    assert exact[vid].size == 3050 and int(exact[vid].sum()) == 1517 + 1068


# ---------------------------------------------------------------- per-snippet labels
def _sl(result: dict, vid: str) -> tuple[list[int], list[float]]:
    return result[vid].any.tolist(), result[vid].fraction.tolist()


def test_snippet_labels_x16_by_hand() -> None:
    # 10 frames, anomalous 3..7; snippets of 4 frames
    gt = GroundTruth("toy", labels={"a": np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 0])})
    floor = snippet_labels(gt, entries({"a": 2}), snippet_length=4)  # frames 0..7
    assert _sl(floor, "a") == ([1, 1], [0.25, 1.0])
    assert floor["a"].any.dtype == np.int8 and floor["a"].fraction.dtype == np.float32
    ceil = snippet_labels(gt, entries({"a": 3}), snippet_length=4)  # 8, 9 + 2 padded (0)
    assert _sl(ceil, "a") == ([1, 1, 0], [0.25, 1.0, 0.0])
    gt1 = GroundTruth("toy", labels={"a": np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])})
    # edge padding repeats frame 9 (anomalous) twice: 3 of the last 4 frames
    assert _sl(snippet_labels(gt1, entries({"a": 3}), snippet_length=4), "a")[1] == [0, 0, 0.75]


def test_snippet_labels_exact_by_hand(tmp_path: Path) -> None:
    gt = GroundTruth("toy", labels={"a": np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])})
    # exact: the last snippet owns only the real frames 8, 9
    got = snippet_labels(gt, entries({"a": 3}, {"a": 10}), "exact", snippet_length=4)
    assert _sl(got, "a") == ([0, 0, 1], [0.0, 0.0, 0.5])
    # overlapping snippets (8 frames every 4) of 21 frames: [0,8) [4,12) [8,16) [12,20)
    gt2 = GroundTruth("toy", labels={"b": np.array([0] * 10 + [1] * 11)})
    overlap = make_store(tmp_path / "s4", {"b": 4}, snippet_length=8, stride=4)
    got = snippet_labels(gt2, overlap, "exact")
    assert _sl(got, "b") == ([0, 1, 1, 1], [0.0, 0.25, 0.75, 1.0])
    # Sultani segments: 64 frames = 4 clips of 16; 2 segments own clips [0, 2) and [2, 3)
    gt3 = GroundTruth("toy", labels={"c": np.array([0] * 40 + [1] * 24)})
    seg = make_store(tmp_path / "seg", {"c": 2}, {"c": 64}, n_segments=2, padding="segments")
    assert _sl(snippet_labels(gt3, seg, "exact"), "c") == ([0, 1], [0.0, 0.5])


@pytest.mark.real_data
def test_snippet_labels_shanghaitech_equal_released_gt(shared_data: Path) -> None:
    # RTFM's gt-sh.npy: the x16 frame labels of the 199 test videos in list order
    released = np.load(shared_data / "rtfm_lists" / "gt-sh.npy")
    s3r_file = (
        shared_data / "s3r_layout" / "shanghaitech" / "shanghaitech_ground_truth.testing.json"
    )
    s3r = json.loads(s3r_file.read_text())
    lines = (shared_data / "rtfm_lists" / "shanghai-i3d-test-10crop.list").read_text().split()
    order = [Path(p).name.removesuffix("_i3d.npy") for p in lines]
    T = {vid: s3r[vid]["num_frames"] // 16 for vid in order}
    sh = shared_data / "shanghaitech"
    gt = read_shanghaitech(sh / "test_frame_mask", sh / "SH_Test.txt")
    got = snippet_labels(gt, entries(T))
    blocks = np.split(released.reshape(-1, 16), np.cumsum([T[v] for v in order])[:-1])
    for vid, block in zip(order, blocks, strict=True):
        assert got[vid].any.tolist() == block.max(axis=1).astype(int).tolist()
        assert np.allclose(got[vid].fraction, block.mean(axis=1))
    assert sum(int(v.any.sum()) for v in got.values()) == int(released.reshape(-1, 16).max(1).sum())


@pytest.mark.real_data
def test_snippet_labels_ped2_by_hand(shared_data: Path) -> None:
    ped2 = shared_data / "ped2"
    gt = read_ucsd_ped2(ped2 / "UCSDped2.m", frames_root=ped2 / "testing" / "frames")
    n = {v: gt.true_length(v) for v in gt.ids}
    # UCSDped2.m: Test001 gt_frame = [61:180] of 180 frames -> 0-based 60..179.
    # 11 snippets of 16 frames (floor): snippet 3 = frames 48..63 holds 4 anomalous ones.
    got = snippet_labels(gt, entries({"01": 11}, n), "exact", snippet_length=16)
    assert _sl(got, "01") == ([0, 0, 0] + [1] * 8, [0.0, 0.0, 0.0, 0.25] + [1.0] * 7)
    # one snippet per frame: the snippet labels are the frame labels, 1648 of 2010 anomalous
    per_frame = snippet_labels(gt, entries(n, n), "exact", snippet_length=1)
    assert sum(v.any.size for v in per_frame.values()) == 2010
    assert sum(int(v.any.sum()) for v in per_frame.values()) == 1648
    assert all((v.fraction == v.any).all() for v in per_frame.values())
