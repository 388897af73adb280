"""Extraction engine end to end: videos -> FeatureStore, resume, shards, failures, backbones."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from vadkit.backbones.registry import get_config, list_backbones
from vadkit.cli.main import main
from vadkit.datasets.synthetic import render_frames, write_video
from vadkit.errors import VadkitError
from vadkit.extract.engine import ExtractOptions, extract, parse_shard
from vadkit.io.check import check_store
from vadkit.io.inputs import InputItem
from vadkit.io.store import FeatureStore


@pytest.fixture(scope="module")
def synth(synth_dataset):
    return synth_dataset


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory):
    """Two tiny videos (8 and 10 frames): plumbing tests need no more."""
    root = tmp_path_factory.mktemp("two")
    return [
        InputItem(
            "train_000",
            write_video(root / "a.mp4", render_frames(8, (48, 64))),
            label="0",
            split="train",
        ),  # fmt: skip
        InputItem(
            "test_003",
            write_video(root / "b.mp4", render_frames(10, (48, 64))),
            label="1",
            split="test",
        ),  # fmt: skip
    ]


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.mp4"
    return write_video(path, render_frames(17, (48, 64)))


def _arrays(store: FeatureStore) -> dict[str, np.ndarray]:
    return {v: np.array(store.load(v)) for v in store.ids}


@pytest.mark.parametrize("name", list_backbones())
def test_every_backbone_shape_dtype_metadata(name, tiny_video, tmp_path):
    config = get_config(name)
    res = extract(
        [InputItem("tiny", tiny_video)],
        tmp_path / "s",
        name,
        random_init=True,
        options=ExtractOptions(snippet_length=16, batch_size=4),
        progress=False,
    )
    store = res.store
    assert res.ok and store.ids == ["tiny"]
    x = store.load("tiny")
    # 17 frames, 16-frame snippets, edge padding keeps the last partial snippet
    assert x.shape == (2, 1, config.out_dim) and x.dtype == np.float32
    assert np.isfinite(x).all()
    info = store.info
    assert info.backbone == name and info.weights_sha256 == "random-init"
    assert info.dim == config.out_dim and info.crops == 1 and info.padding == "repeat_last"
    e = store.entry("tiny")
    assert e.n_frames == 17 and e.fps == pytest.approx(25.0) and e.T == 2
    assert check_store(store.path) == []


def test_real_efficientnet_labels_from_csv(synth_store):
    a = synth_store
    assert a.ids == ["train_000", "train_001", "test_002", "test_003"]
    assert a.info.weights_sha256.startswith("57934424")
    assert a.entry("test_003").label == 1 and a.entry("test_003").cls == "Dart"
    assert a.entry("train_000").split == "train" and a.entry("train_000").label == 0
    assert a.load("train_000").shape == (3, 1, 1280)  # ceil(40 / 16)


def test_resume_after_interruption_gives_identical_store(two_videos, tmp_path):
    """A run killed after one video, then resumed, equals an uninterrupted run."""
    kw = {"random_init": True, "progress": False}  # random init is seeded: reproducible
    full = extract(two_videos, tmp_path / "full", "efficientnet_lite0", **kw).store

    class Interrupted(Exception):
        pass

    def interrupt(vid, status):
        if vid == "train_000":
            raise Interrupted

    with pytest.raises(Interrupted):
        extract(two_videos, tmp_path / "part", "efficientnet_lite0", on_video=interrupt, **kw)
    assert not (tmp_path / "part" / "manifest.json").exists()
    assert not any((tmp_path / "part" / ".claims").iterdir())  # the claim was released
    res = extract(two_videos, tmp_path / "part", "efficientnet_lite0", **kw)
    assert res.skipped == ["train_000"] and res.done == ["test_003"]
    for vid, arr in _arrays(full).items():
        assert np.array_equal(arr, res.store.load(vid))
    manifest = lambda p: json.loads((p / "manifest.json").read_text())  # noqa: E731
    assert manifest(tmp_path / "part") == manifest(tmp_path / "full")


def test_resume_values_identical_with_real_weights(synth, synth_store, tmp_path):
    shutil.copytree(synth_store.path, tmp_path / "part")
    # simulate a crash after two videos: the others' files never appeared
    for vid in ("test_002", "test_003"):
        (tmp_path / "part" / "features" / f"{vid}.npy").unlink()
        (tmp_path / "part" / "features" / f"{vid}.json").unlink()
    (tmp_path / "part" / "manifest.json").unlink()
    res = extract(synth / "videos.csv", tmp_path / "part", "efficientnet_lite0", progress=False)
    assert res.skipped == ["train_000", "train_001"] and res.done == ["test_002", "test_003"]
    assert _arrays(res.store).keys() == _arrays(synth_store).keys()
    for vid, arr in _arrays(synth_store).items():
        assert np.array_equal(arr, res.store.load(vid))
    strip = lambda p: json.loads((p / "manifest.json").read_text())  # noqa: E731
    assert strip(tmp_path / "part") == strip(synth_store.path)


def test_shards_make_the_same_store(two_videos, tmp_path):
    kw = {"random_init": True, "progress": False}
    single = extract(two_videos, tmp_path / "one", "efficientnet_lite0", **kw).store
    for i in range(2):
        extract(two_videos, tmp_path / "two", "efficientnet_lite0", shard=(i, 2), **kw)
    two = FeatureStore.open(tmp_path / "two")
    assert two.ids == single.ids
    for vid in single.ids:
        assert np.array_equal(two.load(vid), single.load(vid))
    # shards written on separate machines: copy features/ together, then finalize
    for i in range(2):
        (tmp_path / f"m{i}" / "features").mkdir(parents=True)
        shutil.copy(tmp_path / "two" / "store.json", tmp_path / f"m{i}" / "store.json")
    for k, vid in enumerate(single.ids):  # shard i holds every second video from i
        for ext in (".npy", ".json"):
            f = tmp_path / "two" / "features" / f"{vid}{ext}"
            shutil.copy(f, tmp_path / f"m{k % 2}" / "features" / f.name)
    for f in (tmp_path / "m1" / "features").iterdir():
        shutil.copy(f, tmp_path / "m0" / "features" / f.name)
    assert main(["store", "finalize", str(tmp_path / "m0")]) == 0
    merged = FeatureStore.open(tmp_path / "m0")
    assert sorted(merged.ids) == sorted(single.ids) and check_store(merged.path) == []
    assert parse_shard("1/3") == (1, 3)
    with pytest.raises(VadkitError, match="need 0 <= I < N"):
        parse_shard("3/3")


def test_corrupt_and_empty_videos_are_reported_and_run_continues(synth, tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(synth / "videos" / "test_003.mp4", videos / "good.mp4")
    (videos / "broken.mp4").write_bytes(b"\x00\x01garbage" * 100)
    (videos / "empty.mp4").write_bytes(b"")
    code = main(["extract", "-b", "efficientnet_lite0", "--random-init", "-i", str(videos),
                 "-o", str(tmp_path / "s"), "-q"])  # fmt: skip
    assert code == 3
    err = capsys.readouterr().err
    assert "failed: broken" in err and "broken.mp4" in err and "failed: empty" in err
    store = FeatureStore.open(tmp_path / "s")
    assert store.ids == ["good"]
    failed = json.loads((tmp_path / "s" / "failed.json").read_text())
    assert sorted(f["id"] for f in failed) == ["broken", "empty"]
    assert check_store(tmp_path / "s") == []


def test_ten_crop_segments_and_overlap(tmp_path):
    """Crops, Sultani / TACnet segments and overlapping snippets, on a small 3-D network."""
    item = [InputItem("v", write_video(tmp_path / "v.mp4", render_frames(24, (48, 64))))]
    short = [InputItem("short", write_video(tmp_path / "short.mp4", render_frames(8, (48, 64))))]
    opts = {"snippet_length": 8}
    ten = extract(short, tmp_path / "ten", "r3d_18", random_init=True, progress=False,
                  options=ExtractOptions(crop="ten", **opts)).store  # fmt: skip
    x = ten.load("short")
    assert x.shape == (1, 10, 512) and ten.info.crop_mode == "ten"
    assert not np.array_equal(x[0, 0], x[0, 5])  # crops differ
    sul = extract(item, tmp_path / "sul", "r3d_18", random_init=True, progress=False,
                  options=ExtractOptions(n_segments=32, **opts)).store  # fmt: skip
    x = sul.load("v")
    assert x.shape == (32, 1, 512) and sul.info.n_segments == 32
    assert np.allclose(np.linalg.norm(x[:, 0], axis=1), 1, atol=1e-5)
    assert check_store(sul.path) == []
    tac = extract(item, tmp_path / "tac", "r3d_18", random_init=True, progress=False,
                  options=ExtractOptions(n_segments=3, segment_rule="tacnet",
                                         **opts)).store  # fmt: skip
    assert tac.load("v").shape == (3, 1, 512) and tac.info.n_segments == 3
    ov = extract(item, tmp_path / "ov", "efficientnet_lite0", random_init=True, progress=False,
                 options=ExtractOptions(snippet_length=8, stride=4, padding="drop")).store  # fmt: skip
    assert ov.load("v").shape == (5, 1, 1280)  # starts 0, 4, 8, 12, 16 (16 + 7 < 24)
    assert check_store(ov.path) == []


def test_missing_weights_is_one_line_error(tiny_video, tmp_path, capsys):
    code = main(["extract", "-b", "i3d_r50", "-i", str(tiny_video), "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "i3d_r50_kinetics.pth" in err and "--weights" in err
    assert not (tmp_path / "s").exists()
    code = main(["extract", "-b", "nope", "-i", str(tiny_video), "-o", str(tmp_path / "s")])
    assert code == 2 and "valid names" in capsys.readouterr().err


@pytest.mark.slow
def test_real_ped2_video_end_to_end(shared_data, tmp_path, capsys):
    frames = shared_data / "ped2" / "testing" / "frames" / "01"
    out = tmp_path / "ped2"
    assert main(["extract", "-b", "efficientnet_lite0", "-i", str(frames), "-o", str(out),
                 "-q"]) == 0  # fmt: skip
    store = FeatureStore.open(out)
    e = store.entry("01")
    assert e.n_frames == 180 and e.T == 12 and store.load("01").shape == (12, 1, 1280)
    assert main(["store", "check", str(out)]) == 0
    # the store feeds evaluate: snippet scores over its 12 snippets, exact frame labels
    gt_file = shared_data / "ped2" / "ped2.mat"
    scores = {"01": np.linspace(0, 1, 12)}
    np.savez(tmp_path / "scores.npz", **scores)
    capsys.readouterr()
    code = main(["evaluate", "--scores", str(tmp_path / "scores.npz"), "--dataset", "ped2",
                 "--annotations", str(gt_file), "--store", str(out), "--convention", "exact",
                 "--subset", "--out", str(tmp_path / "m.json")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    results = json.loads((tmp_path / "m.json").read_text())
    # Test001 is anomalous from frame 61 (1-based): rising scores rank it well
    assert results["n_frames"] == 180 and results["n_abnormal_frames"] == 120
    assert results["frame_auc"] > 0.9


@pytest.mark.slow
def test_real_shanghaitech_video_has_the_release_snippet_count(shared_data, tmp_path):
    """01_002.avi (481 frames) extracts to T = 31 snippets, the T of RTFM's released features."""
    video = shared_data / "videos" / "shanghaitech" / "01_002.avi"
    store = extract([InputItem("01_002", video)], tmp_path / "s", "efficientnet_lite0",
                    progress=False, options=ExtractOptions(batch_size=16)).store  # fmt: skip
    released = np.load(shared_data / "i3d_samples" / "shanghaitech" / "train" / "01_002_i3d.npy",
                       mmap_mode="r")  # fmt: skip
    e = store.entry("01_002")
    assert e.n_frames == 481 and e.fps == pytest.approx(24.0)
    assert e.T == released.shape[0] == 31
    assert check_store(store.path) == []


def test_extracted_features_carry_the_anomaly(synth, synth_store):
    """Quality floor: nearest-training-snippet distance on real EfficientNet features finds the
    synthetic anomaly, and a store holding train videos evaluates on its scored test videos."""
    from vadkit.datasets.annotations import read_interval_csv
    from vadkit.evaluate.run import compute_metrics, frame_data

    store = synth_store
    train = np.concatenate([np.asarray(store.load(v))[:, 0] for v in store.select(split="train")])
    scores = {}
    for vid in store.select(split="test"):
        x = np.asarray(store.load(vid))[:, 0]
        scores[vid] = ((x[:, None, :] - train[None]) ** 2).sum(-1).min(1)
    gt = read_interval_csv(synth / "annotations.csv")
    results = compute_metrics(frame_data(scores, gt, store=store, convention="exact"))
    assert results["n_videos"] == 2 and results["n_abnormal_videos"] == 1
    assert results["frame_auc"] > 0.8


def test_truncated_video_is_extracted_with_a_warning(tmp_path, capsys):
    """A file whose tail is cut decodes in part: its frames are used, and the run says so."""
    import av

    path = tmp_path / "full.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for img in render_frames(32, (48, 64)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    data = path.read_bytes()
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "cut.avi").write_bytes(data[: int(len(data) * 0.8)])
    code = main(["extract", "-b", "efficientnet_lite0", "--random-init", "-i",
                 str(tmp_path / "videos"), "-o", str(tmp_path / "s"), "-q"])  # fmt: skip
    assert code == 0
    assert "decoded only in part" in capsys.readouterr().out
    store = FeatureStore.open(tmp_path / "s")
    e = store.entry("cut")
    assert 0 < e.n_frames < 32 and check_store(store.path) == []
    (warning,) = json.loads((tmp_path / "s" / "warnings.json").read_text())
    assert warning["id"] == "cut" and "header declares 32" in warning["warning"]


def test_impossible_snippet_length_fails_before_reading_videos(tiny_video, tmp_path, capsys):
    for flag in ("--snippet-length", "--clip-len"):  # --clip-len: the old name, still accepted
        code = main(["extract", "-b", "c3d", "--random-init", flag, "8", "-i",
                     str(tiny_video), "-o", str(tmp_path / "s")])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and "--snippet-length 8" in err and err.count("\n") == 1
        assert "clip_len" not in err and "snippet_len" not in err
        assert not (tmp_path / "s").exists()


def test_same_id_from_another_file_is_not_skipped_silently(two_videos, tmp_path):
    extract(two_videos, tmp_path / "s", "efficientnet_lite0", random_init=True, progress=False)
    other = tmp_path / "other" / "test_003.mp4"
    write_video(other, render_frames(20, (48, 64)))
    res = extract(other, tmp_path / "s", "efficientnet_lite0", random_init=True, progress=False)
    (failure,) = res.failed
    assert failure[0] == "test_003" and "already in the store" in failure[1]
    assert res.store.entry("test_003").n_frames == 10  # the original is kept


def test_bad_options_fail_before_anything_is_written(tiny_video, tmp_path, capsys):
    with pytest.raises(VadkitError, match="--stride must be >= 1"):
        extract([InputItem("t", tiny_video)], tmp_path / "s", "efficientnet_lite0",
                options=ExtractOptions(stride=0), progress=False)  # fmt: skip
    assert not (tmp_path / "s").exists()
    with pytest.raises(VadkitError, match="--segments must be >= 1"):
        extract([InputItem("t", tiny_video)], tmp_path / "s", "efficientnet_lite0",
                options=ExtractOptions(n_segments=0), progress=False)  # fmt: skip
    with pytest.raises(VadkitError, match="label 'maybe'"):
        extract([InputItem("t", tiny_video, label="maybe")], tmp_path / "s",
                "efficientnet_lite0", progress=False)  # fmt: skip
    assert not (tmp_path / "s").exists()
    assert main(["extract", "-b", "efficientnet_lite0", "-i", str(tiny_video), "-o",
                 str(tmp_path / "s"), "--frame-step", "0"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("vadkit: error:") and err.count("\n") == 1 and "--frame-step" in err
    with pytest.raises(VadkitError, match="device 'nope' is not available"):
        extract([InputItem("t", tiny_video)], tmp_path / "s", "efficientnet_lite0",
                options=ExtractOptions(device="nope"), progress=False)  # fmt: skip
    assert not (tmp_path / "s").exists()


def test_overwrite_with_another_backbone_leaves_no_mixed_store(two_videos, tmp_path):
    extract(two_videos, tmp_path / "s", "efficientnet_lite0", random_init=True, progress=False)
    one = [two_videos[1]]
    store = extract(one, tmp_path / "s", "r3d_18", random_init=True, overwrite=True,
                    options=ExtractOptions(snippet_length=8), progress=False).store  # fmt: skip
    assert store.ids == ["test_003"] and store.info.backbone == "r3d_18"
    assert check_store(store.path) == []
