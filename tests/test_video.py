"""Video readers, probing, input listing and atomic writes, on tiny synthetic media and real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers_media import frame_code, has_encoder, synthetic_frame, write_frame_folder, write_video
from PIL import Image

from vadkit.errors import VadkitError
from vadkit.io.atomic import (
    atomic_save_npy,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)
from vadkit.io.inputs import InputItem, list_inputs
from vadkit.io.video import (
    FrameFolderReader,
    VideoFileReader,
    VideoReader,
    natural_sort_key,
    open_video,
    probe,
)

N = 24


def _check_frames(frames: np.ndarray, size, lossless: bool, start: int = 0) -> None:
    ref = np.stack([synthetic_frame(start + i, size) for i in range(len(frames))])
    assert frames.dtype == np.uint8 and frames.shape == ref.shape
    assert [frame_code(f) for f in frames] == [(start + i) % 64 for i in range(len(frames))]
    err = np.abs(frames.astype(np.int16) - ref).mean()
    assert err == 0 if lossless else err < 12


CODECS = [
    # (extension, codec, pix_fmt, lossless)
    ("mp4", "libx264", None, False),
    ("mp4", "mpeg4", None, False),
    ("avi", "mjpeg", None, False),
    ("avi", "mpeg4", None, False),
    ("avi", "png", None, True),
    ("mkv", "libx264", None, False),
    ("mkv", "ffv1", None, True),
    ("mov", "libx264", "yuv444p", False),
    ("webm", "libvpx-vp9", None, False),
    ("mpg", "mpeg1video", None, False),
]


@pytest.mark.parametrize(
    "ext,codec,pix_fmt,lossless", CODECS, ids=[f"{c[0]}-{c[1]}" for c in CODECS]
)
def test_video_file_roundtrip(tmp_path, ext, codec, pix_fmt, lossless):
    if not has_encoder(codec):
        pytest.skip(f"this PyAV build has no {codec} encoder")
    path = write_video(
        tmp_path / f"v.{ext}", N, size=(48, 64), fps=25, codec=codec, pix_fmt=pix_fmt
    )
    with open_video(path) as reader:
        assert isinstance(reader, VideoFileReader) and isinstance(reader, VideoReader)
        m = reader.meta
        assert (m.id, m.n_frames, m.height, m.width, m.rotation) == ("v", N, 48, 64, 0)
        assert m.fps == pytest.approx(25.0) and m.duration == pytest.approx(N / 25)
        assert len(reader) == N
        frames = np.stack([f for _, f in reader.iter_frames()])
        _check_frames(frames, (48, 64), lossless)
        np.testing.assert_array_equal(reader.get_frames(range(N)), frames)


@pytest.mark.parametrize(
    "ext,codec,pix_fmt,lossless",
    [
        ("avi", "mpeg4", None, False),
        ("mov", "libx264", "yuv444p", False),
        ("mkv", "ffv1", None, True),
    ],
)
def test_odd_size(tmp_path, ext, codec, pix_fmt, lossless):
    # yuv420p x264 refuses odd sizes; mpeg4, x264 4:4:4 and ffv1 accept them.
    path = write_video(tmp_path / f"odd.{ext}", 12, size=(77, 101), codec=codec, pix_fmt=pix_fmt)
    with open_video(path) as reader:
        assert (reader.meta.height, reader.meta.width) == (77, 101)
        frames = reader.get_frames(range(12))
        assert frames.flags["C_CONTIGUOUS"]
        _check_frames(frames, (77, 101), lossless)


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_variable_frame_rate(tmp_path, ext):
    pts = [0, 40, 80, 200, 240, 400, 440, 480, 500, 520, 560, 1000, 1040, 1080, 1120, 1160]
    path = write_video(tmp_path / f"vfr.{ext}", len(pts), pts=pts)
    meta = probe(path)
    assert meta.n_frames == len(pts)
    # average rate = frames / time spanned (the last frame lasts 40 ms); Matroska's own
    # rate is the nominal 25 fps, which would make the duration wrong
    assert meta.fps == pytest.approx(len(pts) / 1.2, rel=0.01)
    assert meta.duration == pytest.approx(1.2, rel=0.01)
    with open_video(path) as reader:
        _check_frames(reader.get_frames(range(len(pts))), (48, 64), False)


@pytest.mark.parametrize("rotation", [90, 180, -90])
def test_rotation_metadata_applied(tmp_path, rotation):
    path = write_video(tmp_path / "rot.mp4", 6, size=(48, 64), rotation=rotation)
    with open_video(path) as reader:
        ccw = rotation % 360
        assert reader.meta.rotation == ccw
        expected_hw = (64, 48) if ccw in (90, 270) else (48, 64)
        assert (reader.meta.height, reader.meta.width) == expected_hw
        frames = reader.get_frames(range(6))
        assert frames.shape[1:3] == expected_hw
        # Displayed = stored image turned counter-clockwise by the rotation.
        _check_frames(np.rot90(frames, -ccw // 90, axes=(1, 2)), (48, 64), False)


def test_iter_frames_range_and_step(tmp_path):
    path = write_video(tmp_path / "v.avi", N, codec="png")
    with open_video(path) as reader:
        got = list(reader.iter_frames(3, 20, 4))
        assert [i for i, _ in got] == [3, 7, 11, 15, 19]
        assert [frame_code(f) for _, f in got] == [3, 7, 11, 15, 19]
        assert list(reader.iter_frames(5, 5)) == []
        with pytest.raises(VadkitError, match="v.avi"):
            list(reader.iter_frames(0, N + 1))
        with pytest.raises(VadkitError, match="step"):
            list(reader.iter_frames(0, None, 0))


def test_get_frames_any_order_shape_and_batches(tmp_path):
    path = write_video(tmp_path / "v.avi", N, codec="png")
    with open_video(path) as reader:
        idx = np.array([[5, 3, 3], [23, 0, 5]])
        frames = reader.get_frames(idx)
        assert frames.shape == (2, 3, 48, 64, 3)
        assert [[frame_code(f) for f in row] for row in frames] == idx.tolist()
        # sorted batches continue the same decoder; going back restarts it
        for batch in ([0, 1, 2], [2, 8], [9, 15], [4]):
            assert [frame_code(f) for f in reader.get_frames(batch)] == batch
        assert reader.get_frames([]).shape == (0, 48, 64, 3)
        for bad in ([N], [-1]):
            with pytest.raises(VadkitError, match=rf"v\.avi.*{bad[0]}"):
                reader.get_frames(bad)
        with pytest.raises(VadkitError, match="integers"):
            reader.get_frames([1.5])


def test_fewer_frames_than_meta_names_path_and_index(tmp_path):
    path = write_video(tmp_path / "short.avi", 10, codec="png")
    meta = probe(path)
    from dataclasses import replace

    reader = VideoFileReader(path, meta=replace(meta, n_frames=15))
    with pytest.raises(VadkitError, match=r"short\.avi.*frame 12"):
        reader.get_frames([2, 12])
    with pytest.raises(VadkitError, match=r"short\.avi.*frame 14"):
        list(reader.iter_frames())
    reader.close()


def _truncate(src: Path, dst: Path, frac: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * frac)])
    return dst


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: _touch(d / "empty.mp4"), id="zero-bytes"),
        pytest.param(lambda d: _random(d / "random.mp4"), id="random-bytes-mp4"),
        pytest.param(lambda d: _random(d / "random.avi"), id="random-bytes-avi"),
        pytest.param(
            lambda d: _truncate(write_video(d / "a.mp4", N), d / "cut.mp4", 0.6), id="truncated-mp4"
        ),
        pytest.param(
            lambda d: _truncate(write_video(d / "a.mp4", N), d / "cut.mp4", 0.9),
            id="truncated-mp4-late",
        ),
        pytest.param(
            lambda d: _truncate(write_video(d / "a.avi", N, codec="mpeg4"), d / "cut.avi", 0.9),
            id="truncated-avi",
        ),
        pytest.param(
            lambda d: _truncate(write_video(d / "a.mkv", N), d / "cut.mkv", 0.85),
            id="truncated-mkv",
        ),
        pytest.param(lambda d: _audio_only(d / "audio.mkv"), id="no-video-stream"),
    ],
)
def test_bad_files_raise_with_path(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(VadkitError, match=path.name.replace(".", r"\.")):
        open_video(path)


def _touch(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def _random(p: Path) -> Path:
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return p


def _audio_only(p: Path) -> Path:
    import av

    with av.open(str(p), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for pkt in list(s.encode(frame)) + list(s.encode()):
            c.mux(pkt)
    return p


def test_truncated_accepted_when_not_strict(tmp_path):
    cut = _truncate(write_video(tmp_path / "a.avi", N, codec="mpeg4"), tmp_path / "cut.avi", 0.9)
    meta = probe(cut, strict=False)
    assert 0 < meta.n_frames < N
    with open_video(cut, strict=False) as reader:
        codes = [frame_code(f) for _, f in reader.iter_frames()]
    assert codes == list(range(meta.n_frames))


def test_path_errors(tmp_path):
    with pytest.raises(VadkitError, match="nope.mp4"):
        open_video(tmp_path / "nope.mp4")
    (tmp_path / "x.xyz").write_bytes(b"abc")
    with pytest.raises(VadkitError, match=r"x\.xyz.*unsupported"):
        open_video(tmp_path / "x.xyz")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a frame")
    with pytest.raises(VadkitError, match="empty_dir.*no images"):
        open_video(empty)


def test_frame_folder_natural_order_and_ignored_files(tmp_path):
    d = tmp_path / "clip"
    write_frame_folder(d, 12, ext="png", name_pattern="img_{}")
    (d / "notes.txt").write_text("x")
    (d / ".hidden.png").write_bytes(b"junk")
    (d / "sub").mkdir()
    with open_video(d, fps=10) as reader:
        assert isinstance(reader, FrameFolderReader)
        m = reader.meta
        assert (m.id, m.n_frames, m.fps, m.duration, m.height, m.width) == (
            "clip",
            12,
            10.0,
            1.2,
            48,
            64,
        )
        assert [p.name for p in reader.files][:3] == ["img_0.png", "img_1.png", "img_2.png"]
        assert reader.files[-1].name == "img_11.png"
        _check_frames(reader.get_frames(range(12)), (48, 64), lossless=True)
        assert [i for i, _ in reader.iter_frames(1, 12, 5)] == [1, 6, 11]


def test_frame_folder_mixed_stems_and_formats(tmp_path):
    names = ["000.jpg", "frame001.bmp", "img_2.png", "img_10.tif", "IMG_3.JPEG"]
    assert sorted(names, key=natural_sort_key) == [
        "000.jpg",
        "frame001.bmp",
        "img_2.png",
        "IMG_3.JPEG",
        "img_10.tif",
    ]
    d = tmp_path / "mixed"
    d.mkdir()
    for k, name in enumerate(sorted(names, key=natural_sort_key)):
        Image.fromarray(synthetic_frame(k)).save(
            d / name, **({"quality": 95} if "jp" in name.lower() else {})
        )
    with open_video(d) as reader:
        assert reader.meta.fps is None and reader.meta.duration is None
        assert [frame_code(f) for f in reader.get_frames(range(5))] == [0, 1, 2, 3, 4]


def test_frame_folder_grayscale_and_bad_frames(tmp_path):
    d = tmp_path / "gray"
    paths = write_frame_folder(d, 4, ext="png", gray=True)
    with open_video(d) as reader:
        frames = reader.get_frames([0, 3])
        assert frames.shape == (2, 48, 64, 3)
        assert (frames[..., 0] == frames[..., 2]).all()
        np.testing.assert_array_equal(frames[1, ..., 1], synthetic_frame(3, gray=True))
    Image.new("RGB", (10, 10)).save(paths[2])
    with open_video(d) as reader, pytest.raises(VadkitError, match=r"002\.png.*10x10"):
        reader.get_frames([2])
    paths[1].write_bytes(b"not an image")
    with open_video(d) as reader, pytest.raises(VadkitError, match=r"001\.png"):
        list(reader.iter_frames())


@pytest.mark.real_data
def test_real_shanghaitech_video(shared_data):
    path = shared_data / "videos" / "shanghaitech" / "01_002.avi"
    with open_video(path) as reader:
        m = reader.meta
        assert (m.id, m.n_frames, m.height, m.width, m.fps) == ("01_002", 481, 480, 856, 24.0)
        frames = reader.get_frames([0, 240, 480])
        assert frames.shape == (3, 480, 856, 3) and frames.std() > 10


@pytest.mark.real_data
def test_real_ped2_frame_folder(shared_data):
    with open_video(shared_data / "ped2" / "testing" / "frames" / "01") as reader:
        assert (reader.meta.id, reader.meta.n_frames, reader.meta.height, reader.meta.width) == (
            "01",
            180,
            240,
            360,
        )
        assert reader.files[0].name == "000.jpg" and reader.files[-1].name == "179.jpg"
        frames = reader.get_frames([0, 179])
        assert frames.shape == (2, 240, 360, 3)
        assert (frames[..., 0] == frames[..., 1]).all()  # grayscale source, 3 equal channels


@pytest.mark.real_data
def test_list_inputs_real_ped2(shared_data):
    items = list_inputs(shared_data / "ped2" / "testing" / "frames")
    assert [it.id for it in items] == [f"{k:02d}" for k in range(1, 13)]
    assert all(it.path.is_dir() for it in items)


def test_list_inputs_folders_and_files(tmp_path):
    vids = tmp_path / "vids"
    vids.mkdir()
    for name in ("b_10", "b_2"):
        write_video(vids / f"{name}.avi", 3, codec="png")
    (vids / "README.md").write_text("ignored")
    write_frame_folder(vids / "c_1", 2, ext="png")
    assert [(it.id, it.path.name) for it in list_inputs(vids)] == [
        ("b_2", "b_2.avi"),
        ("b_10", "b_10.avi"),
        ("c_1", "c_1"),
    ]
    assert list_inputs(vids / "b_2.avi") == [InputItem("b_2", vids / "b_2.avi")]
    assert list_inputs(vids / "c_1") == [InputItem("c_1", vids / "c_1")]
    (tmp_path / "nothing").mkdir()
    with pytest.raises(VadkitError, match="nothing"):
        list_inputs(tmp_path / "nothing")
    with pytest.raises(VadkitError, match="missing"):
        list_inputs(tmp_path / "missing")


def test_list_inputs_txt_and_csv(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_video(data / "x.avi", 3, codec="png")
    write_frame_folder(data / "frames_y", 2, ext="png")
    lst = tmp_path / "lists" / "test.txt"
    lst.parent.mkdir()
    lst.write_bytes(
        b"# test videos\r\n../data/x.avi\r\n\r\n" + str(data / "frames_y").encode() + b"\r\n"
    )
    assert [(it.id, it.path.resolve()) for it in list_inputs(lst)] == [
        ("x", (data / "x.avi").resolve()),
        ("frames_y", (data / "frames_y").resolve()),
    ]
    csv = tmp_path / "inputs.csv"
    csv.write_text(
        "path,id,label,class,split,extra\ndata/x.avi,vid1,1,Abuse,test,z\ndata/frames_y,,0,,train,\n"
    )
    items = list_inputs(csv)
    assert items[0] == InputItem("vid1", tmp_path / "data" / "x.avi", "1", "Abuse", "test")
    assert items[1] == InputItem("frames_y", tmp_path / "data" / "frames_y", "0", None, "train")

    bad = tmp_path / "bad.txt"
    bad.write_text("data/x.avi\ndata/gone.avi\n")
    with pytest.raises(VadkitError, match=r"bad\.txt:2.*gone\.avi"):
        list_inputs(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("path,id\ndata/x.avi,a\ndata/frames_y,a\n")
    with pytest.raises(VadkitError, match=r"duplicate video id 'a'.*x\.avi.*frames_y"):
        list_inputs(dup)
    nopath = tmp_path / "nopath.csv"
    nopath.write_text("file,id\nx,y\n")
    with pytest.raises(VadkitError, match="no 'path' column"):
        list_inputs(nopath)


def test_list_inputs_duplicate_stems_in_folder(tmp_path):
    write_video(tmp_path / "a.avi", 2, codec="png")
    write_frame_folder(tmp_path / "a", 2, ext="png")
    with pytest.raises(VadkitError, match=r"duplicate video id 'a'"):
        list_inputs(tmp_path)


# --- atomic writes -----------------------------------------------------------------------------


def test_atomic_writers_roundtrip(tmp_path):
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "t.txt", "héllo\n")
    atomic_write_json(tmp_path / "j.json", {"a": [1, 2.5], "b": "ü"})
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    atomic_save_npy(tmp_path / "f.npy.part-free", arr)  # exact name, no suffix appended
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((tmp_path / "j.json").read_text(encoding="utf-8")) == {
        "a": [1, 2.5],
        "b": "ü",
    }
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy.part-free"), arr)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "b.bin",
        "f.npy.part-free",
        "j.json",
        "t.txt",
    ]
    mode = (tmp_path / "b.bin").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_atomic_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.npy"
    atomic_save_npy(target, np.zeros(3))

    with pytest.raises(VadkitError, match="object arrays"):
        atomic_save_npy(target, np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        atomic_write_json(target, {"x": float("nan")})

    def fail(fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    from vadkit.io.atomic import atomic_write

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, fail)
    np.testing.assert_array_equal(np.load(target), np.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]
    with pytest.raises(VadkitError, match="does not exist"):
        atomic_write_text(tmp_path / "no" / "dir.txt", "x")


def test_frame_stream_one_pass_equals_reader(tmp_path):
    """FrameStream decodes once and knows count, fps and size at the end of that pass."""
    from vadkit.io.stream import FrameStream

    path = write_video(tmp_path / "v.mp4", 21, size=(48, 64), fps=25)
    stream = FrameStream(path)
    assert stream.n_frames is None
    got = list(stream)
    with open_video(path) as reader:
        assert stream.meta == reader.meta
        expected = reader.get_frames(range(21))
    assert [i for i, _ in got] == list(range(21))
    assert np.array_equal(np.stack([f for _, f in got]), expected)
    with pytest.raises(VadkitError, match="read only once"):
        list(stream)
    arr = FrameStream(expected)  # arrays and iterators: same frames, count known when it can be
    assert arr.n_frames == 21 and np.array_equal(np.stack([f for _, f in arr]), expected)
    it = FrameStream(iter(expected), fps=25)
    assert len(list(it)) == 21 and it.meta.n_frames == 21 and it.meta.fps == 25
    with pytest.raises(VadkitError, match="uint8"):
        list(FrameStream(iter([np.zeros((4, 4, 3), np.float32)])))
