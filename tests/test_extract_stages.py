"""Extraction stages: encode_video, windows, options from a store, planning, claims, resume."""

from __future__ import annotations

import json
import os
import shutil
import socket

import numpy as np
import pytest
import torch

from vadkit.cli.main import main
from vadkit.datasets.synthetic import render_frames, write_video
from vadkit.errors import VadkitError
from vadkit.extract import (
    ExtractOptions,
    clip_batches,
    encode_video,
    extract,
    iter_features,
    load_encoder,
    options_from_store,
    plan_extraction,
    read_frames,
)
from vadkit.extract.plan import claim_video
from vadkit.io.inputs import list_inputs
from vadkit.io.store import StoreInfo


@pytest.fixture(scope="module")
def lite0_random():
    return load_encoder("efficientnet_lite0", random_init=True)


@pytest.fixture(scope="module")
def r3d_random():
    return load_encoder("r3d_18", random_init=True)


@pytest.fixture
def tiny_input(tmp_path):
    return write_video(tmp_path / "tiny.mp4", render_frames(8, (48, 64)))


@pytest.fixture(scope="module")
def clip12(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip12") / "v.mp4"
    return write_video(path, render_frames(12, (48, 64)))


def test_encode_video_equals_vadkit_extract(synth_dataset, synth_store):
    """The store written by `vadkit extract` and encode_video(store.info) agree bit for bit."""
    video = synth_dataset / "videos" / "test_003.mp4"
    encoder = load_encoder("efficientnet_lite0")
    x = encode_video(video, synth_store.info, encoder)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, np.asarray(synth_store.load("test_003")))


@pytest.mark.parametrize(
    "options",
    [
        ExtractOptions(snippet_length=4, stride=3, padding="loop", batch_size=8),
        ExtractOptions(snippet_length=5, frame_step=2, padding="repeat_last"),
        ExtractOptions(snippet_length=4, padding="drop", batch_size=2),
    ],
    ids=["loop-overlap", "frame-step", "drop"],
)
def test_windows_of_a_stream_equal_the_whole_video(clip12, lite0_random, options):
    frames = np.stack([f for _, f in read_frames(clip12)])
    whole = encode_video(frames, options, lite0_random)
    windows = list(iter_features((f for f in frames), options, lite0_random, window=1))
    assert len(windows) > 1
    assert [t0 for t0, _ in windows] == list(np.cumsum([0] + [len(w) for _, w in windows[:-1]]))
    np.testing.assert_array_equal(np.concatenate([w for _, w in windows]), whole)
    # the frame-index rule is the sampling module's, whatever the source
    assert len(whole) == {"loop": 4, "repeat_last": 3, "drop": 3}[options.padding]


def test_windows_equal_whole_for_a_clip_network(clip12, r3d_random):
    options = ExtractOptions(snippet_length=4, stride=4, batch_size=3, crop="five")
    whole = encode_video(clip12, options, r3d_random)
    parts = [w for _, w in iter_features(read_frames(clip12), options, r3d_random, window=2)]
    assert whole.shape == (3, 5, 512) and len(parts) == 2
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-6)


def test_clip_batches_fixed_boundaries_and_frames(clip12, lite0_random):
    """Batch k holds snippets [k*per, (k+1)*per); each batch carries exactly the frames it uses."""
    from vadkit.sampling import SnippetSpec, snippet_indices

    options = ExtractOptions(snippet_length=4, stride=3, padding="loop", batch_size=8)
    batches = list(clip_batches(read_frames(clip12), lite0_random.config, options))
    expected = snippet_indices(12, SnippetSpec(4, 3, 1, "loop"))  # per = 8 // 1 // 4 = 2
    assert [b.start for b in batches] == list(range(0, len(expected), 2))
    np.testing.assert_array_equal(np.concatenate([b.index for b in batches]), expected)
    for b in batches:
        np.testing.assert_array_equal(b.frames, np.unique(b.index))
        assert b.crops.dtype == torch.uint8 and b.crops.shape[:2] == (1, len(b.frames))


def test_options_from_store_round_trip(synth_store):
    options = options_from_store(synth_store.info)
    assert options.crop == "center" and options.snippet_length == 16 and options.stride == 16
    assert options.padding == "repeat_last" and options.n_segments is None
    from vadkit.extract import store_info
    from vadkit.extract.encoder import weights_identity

    config, sha = weights_identity("efficientnet_lite0")
    assert store_info(config, options, sha).same_recipe(synth_store.info) == []
    imported = StoreInfo(backbone="i3d", weights_sha256="unknown", dim=2048, crops=10,
                         source="rtfm")  # fmt: skip
    with pytest.raises(VadkitError, match="not made by `vadkit extract`"):
        options_from_store(imported)
    with pytest.raises(VadkitError, match="not the store's"):
        encode_video(np.zeros((4, 48, 64, 3), np.uint8), synth_store.info,
                     load_encoder("efficientnet_lite0", random_init=True))  # fmt: skip


def test_old_option_name_clip_len_is_accepted():
    assert ExtractOptions(clip_len=8).snippet_length == 8
    with pytest.raises(VadkitError, match="old name"):
        ExtractOptions(clip_len=8, snippet_length=16)


def test_resume_from_another_folder_and_absolute_path(tiny_input, tmp_path, monkeypatch):
    """Defect: the manifest kept the path as typed, so the same video given another way
    counted as "already in the store from another file"."""
    (tmp_path / "a").mkdir()
    shutil.copy(tiny_input, tmp_path / "a" / "v.mp4")
    monkeypatch.chdir(tmp_path)
    kw = {"random_init": True, "progress": False}
    extract("a/v.mp4", "s", "efficientnet_lite0", **kw)
    monkeypatch.chdir(tmp_path / "a")
    res = extract("v.mp4", tmp_path / "s", "efficientnet_lite0", **kw)
    assert res.ok and res.skipped == ["v"]
    res = extract(tmp_path / "a" / "v.mp4", tmp_path / "s", "efficientnet_lite0", **kw)
    assert res.ok and res.skipped == ["v"]


def test_nothing_to_do_builds_no_model(synth_dataset, synth_store, tmp_path, monkeypatch):
    shutil.copytree(synth_store.path, tmp_path / "s")

    def no_model(*a, **k):
        raise AssertionError("the model was built for nothing")

    monkeypatch.setattr("vadkit.extract.engine.load_encoder", no_model)
    res = extract(synth_dataset / "videos.csv", tmp_path / "s", "efficientnet_lite0",
                  progress=False)  # fmt: skip
    assert res.ok and res.done == [] and len(res.skipped) == 4 and len(res.store) == 4
    plan = plan_extraction(synth_dataset / "videos.csv", tmp_path / "s", "efficientnet_lite0")
    assert plan.todo == [] and len(plan.skipped) == 4


@pytest.mark.parametrize("kind", ["file-in-the-way", "under-a-file", "read-only"])
def test_unwritable_store_is_one_line_error_before_work(tiny_input, tmp_path, capsys, kind,
                                                        monkeypatch):  # fmt: skip
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = {"file-in-the-way": blocker, "under-a-file": blocker / "store"}.get(kind)
    if kind == "read-only":
        out = tmp_path / "ro" / "store"
        (tmp_path / "ro").mkdir()
        real = __import__("tempfile").mkstemp

        def refuse(*a, dir=None, **k):
            if str(dir).startswith(str(tmp_path / "ro")):
                raise PermissionError(13, "Permission denied")
            return real(*a, dir=dir, **k)

        monkeypatch.setattr("tempfile.mkstemp", refuse)
    code = main(["extract", "-b", "efficientnet_lite0", "-i", str(tiny_input), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vadkit: error: store") and err.count("\n") == 1
    assert "Traceback" not in err and str(out) in err


def test_claimed_video_is_left_to_its_owner_and_stale_claims_are_taken(tiny_input, tmp_path):
    """Defect: two processes on one store both extracted every video."""
    store = tmp_path / "s"
    kw = {"random_init": True, "progress": False}
    busy = claim_video(store, "tiny")  # held by this process: as another live extractor would
    assert busy is not None and claim_video(store, "tiny") is None
    data = json.loads(busy.path.read_text())
    data["pid"] = os.getppid()  # a live process that is not this one
    busy.path.write_text(json.dumps(data))
    res = extract(tiny_input, store, "efficientnet_lite0", **kw)
    assert res.claimed == ["tiny"] and res.done == [] and len(res.store) == 0
    # the owner died: same host, no such process -> the claim is stale and taken over
    data["pid"], data["host"] = 2**22 + 12345, socket.gethostname()
    busy.path.write_text(json.dumps(data))
    res = extract(tiny_input, store, "efficientnet_lite0", **kw)
    assert res.done == ["tiny"] and not busy.path.exists()
    # an old claim from another host is stale after the timeout
    other = claim_video(store, "x")
    other.path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "time": 0}))
    os.utime(other.path, (0, 0))
    assert claim_video(store, "x") is not None


def test_failed_video_releases_its_claim(tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "bad.mp4").write_bytes(b"garbage" * 50)
    res = extract(tmp_path / "v", tmp_path / "s", "efficientnet_lite0", random_init=True,
                  progress=False)  # fmt: skip
    assert [f[0] for f in res.failed] == ["bad"]
    assert list((tmp_path / "s" / ".claims").iterdir()) == []


def test_txt_list_with_windows_paths_and_crlf(tmp_path, tiny_input):
    """Defect: an extract list written on Windows failed with "does not exist"."""
    (tmp_path / "videos").mkdir()
    shutil.copy(tiny_input, tmp_path / "videos" / "a.mp4")
    shutil.copy(tiny_input, tmp_path / "videos" / "b.mp4")
    lst = tmp_path / "list.txt"
    lst.write_bytes(b"videos\\a.mp4\r\nD:\\data\\videos\\b.mp4\r\n")
    items = list_inputs(lst)
    assert [i.id for i in items] == ["a", "b"]
    assert [i.path for i in items] == [tmp_path / "videos" / "a.mp4", tmp_path / "videos" / "b.mp4"]
    csv = tmp_path / "list.csv"
    csv.write_bytes(b"path,label\r\nvideos\\a.mp4,1\r\n")
    assert list_inputs(csv)[0].path == tmp_path / "videos" / "a.mp4"
    lst.write_bytes(b"C:\\elsewhere\\zzz.mp4\r\n")
    with pytest.raises(VadkitError, match="Windows path"):
        list_inputs(lst)


def test_check_writable_helpers(tmp_path):
    from vadkit.io.atomic import check_writable_dir, check_writable_file

    assert check_writable_dir(tmp_path / "new" / "deeper", "store") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    (tmp_path / "f").write_text("x")
    with pytest.raises(VadkitError, match="is not a folder"):
        check_writable_dir(tmp_path / "f" / "sub", "store")
    with pytest.raises(VadkitError, match="is a folder"):
        check_writable_file(tmp_path, "scores file")
    assert check_writable_file(tmp_path / "out.json") == tmp_path / "out.json"


def test_too_short_video_message_names_the_flags(tiny_input, tmp_path):
    res = extract(tiny_input, tmp_path / "s", "efficientnet_lite0", random_init=True,
                  options=ExtractOptions(snippet_length=6, frame_step=2, padding="drop"),
                  progress=False)  # fmt: skip
    ((vid, msg),) = res.failed
    assert "--snippet-length 6" in msg and "--frame-step 2" in msg and "--padding drop" in msg
    assert "clip_len" not in msg and "frame_step=" not in msg and str(tiny_input) in msg
