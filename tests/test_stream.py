"""``vadkit predict --stream``: the online event rule, the stream against ``predict`` on the
same frames, and a live MPEG-TS stream over UDP from a second process (send, stall, drop).

The model is a kNN one-class run on 5 Ped2 training videos, features sampled 2 frames of
every 16 (as tests/test_predict.py) so real EfficientNet-Lite0 extraction stays fast. Ped2
``Test004`` is anomalous in frames 31-180 (1-based, ``UCSDped2.m``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vadkit.deploy.events import Event, find_events
from vadkit.deploy.stream_events import EventTracker

ROOT = Path(__file__).resolve().parents[1]
GT_04 = (30, 180)  # 0-based [start, end) of the anomaly in Test004


def _feed(scores, **kw) -> list[tuple[int, str, Event]]:
    """(frame whose update emitted it, kind, event) of every line; finish() as frame -1."""
    tr = EventTracker(0.5, **kw)
    out = [(k, e.kind, e.event) for k, s in enumerate(scores) for e in tr.update(k, s)]
    return out + [(-1, e.kind, e.event) for e in tr.finish()]


def test_tracker_hand_worked():
    # runs 1-2 and 4 are 1 frame (1 s) apart: merged with merge_gap 1 into 1-4 (5 frames,
    # with the gap frame); it closes at frame 6, the second normal frame after it
    s = [0.0, 0.9, 0.7, 0.1, 0.8, 0.2, 0.3, 0.0]
    lines = _feed(s, fps=1.0, merge_gap=1.0)
    assert [(k, kind) for k, kind, _ in lines] == [(1, "start"), (6, "end")]
    assert lines[1][2] == Event(1, 4, 1.0, 5.0, 0.9, 1, 1.0)
    # min_length 4 s: the event starts once 4 frames long (frame 4, counting the gap)
    assert [(k, kind) for k, kind, _ in _feed(s, fps=1.0, merge_gap=1.0, min_length=4.0)] == [
        (4, "start"), (6, "end")]  # fmt: skip
    # no merging: 1-2 closes at frame 3, 4 at frame 5; min_length 2 s drops the 1-frame one
    assert [(k, kind, e.start_frame, e.end_frame) for k, kind, e in
            _feed(s, fps=1.0, min_length=2.0)] == [(2, "start", 1, 2), (3, "end", 1, 2)]  # fmt: skip
    # an event still open at the end is closed by finish(); 2 fps halves the times
    lines = _feed([0.0, 0.0, 0.6, 0.9], fps=2.0)
    assert lines[-1] == (-1, "end", Event(2, 3, 1.0, 2.0, 0.9, 3, 1.5))


@pytest.mark.parametrize("seed", range(4))
def test_tracker_equals_find_events(seed):
    rng = np.random.default_rng(seed)
    s = np.convolve(rng.random(400), np.ones(5) / 5, "same")  # runs of a few frames
    for fps, min_length, merge_gap in ((10.0, 0.0, 0.0), (10.0, 0.3, 0.2), (25.0, 0.5, 1.0)):
        kw = {"fps": fps, "min_length": min_length, "merge_gap": merge_gap}
        ends = [e for _, kind, e in _feed(s, **kw) if kind == "end"]
        assert ends == find_events(s, 0.5, **kw)


# ----------------------------------------------------------------------- real Ped2 video
@pytest.fixture(scope="module")
def ped2(shared_data) -> Path:
    return shared_data / "ped2"


@pytest.fixture(scope="module")
def knn_run(ped2, tmp_path_factory, torch_one_thread) -> Path:
    from vadkit.deploy.oneclass_run import train_oneclass_run
    from vadkit.extract import ExtractOptions, extract
    from vadkit.io.inputs import InputItem

    root = tmp_path_factory.mktemp("stream-knn")
    opts = ExtractOptions(snippet_length=2, frame_step=8, stride=16, batch_size=8)
    items = [InputItem(f"n{k:02d}", ped2 / "training" / "frames" / f"{k:02d}", "0")
             for k in range(1, 6)]  # fmt: skip
    assert extract(items, root / "train", "efficientnet_lite0", options=opts, progress=False).ok
    train_oneclass_run(root / "train", root / "knn", scorer="knn", val_fraction=0.4, far=0.05)
    return root / "knn"


@pytest.mark.real_data
def test_stream_equals_predict_on_the_same_frames(knn_run, ped2):
    from vadkit.deploy import load_model, predict_video
    from vadkit.deploy.stream import predict_stream
    from vadkit.io.stream import FrameStream

    model = load_model(knn_run)
    video = ped2 / "testing" / "frames" / "04"
    pred = predict_video(model, video, fps=10)
    for batch, tol in ((8, 0.0), (None, 1e-5)):  # the store's batch: bit-equal features
        frames = (img for _, img in FrameStream(video, fps=10))
        ups = list(predict_stream(model, frames, fps=10, batch_size=batch))
        idx = np.concatenate([u.frames for u in ups])
        np.testing.assert_array_equal(idx, np.arange(180))
        np.testing.assert_allclose(np.concatenate([u.scores for u in ups]), pred.frame_scores,
                                   rtol=0, atol=tol)  # fmt: skip
        ends = [e.event for u in ups for e in u.events if e.kind == "end"]
        assert [(e.start_frame, e.end_frame) for e in ends] == [
            (e.start_frame, e.end_frame) for e in pred.events]  # fmt: skip
        summary = ups[-1].summary
        assert summary["stopped"] == "ended" and summary["frames"] == 180
        assert summary["latency_ms_p50"] >= 0 and summary["fps"] > 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_live(knn_run, ped2, tmp_path, sender_args, predict_args, timeout=60.0):
    """predict --stream in one process, the sender in another; both with hard timeouts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    port, out = _free_port(), tmp_path / "live"
    err = (tmp_path / "stderr.txt").open("w+")
    cmd = [sys.executable, "-m", "vadkit", "predict", "--stream", f"udp://127.0.0.1:{port}",
           "--model", str(knn_run), "--out", str(out), *predict_args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, text=True)
    start = time.monotonic()
    try:
        while "reading udp://" not in (tmp_path / "stderr.txt").read_text():
            assert proc.poll() is None and time.monotonic() - start < 30, "predict did not start"
            time.sleep(0.1)
        time.sleep(0.5)  # the reader thread binds the port
        subprocess.run([sys.executable, str(ROOT / "tests" / "stream_sender.py"), str(port),
                        str(ped2 / "testing" / "frames" / "04"), *sender_args],
                       env=env, check=True, timeout=timeout)  # fmt: skip
        stdout, _ = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
        err.seek(0)
        stderr = err.read()
        err.close()
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    assert (out / "events.jsonl").read_text().splitlines() == [
        x for x in stdout.splitlines() if x.startswith("{")]  # fmt: skip
    return proc.returncode, lines, stderr, time.monotonic() - start


@pytest.mark.real_data
def test_udp_stream_emits_the_anomaly(knn_run, ped2, tmp_path):
    code, lines, stderr, _ = _run_live(knn_run, ped2, tmp_path, ["--fps", "40"],
                                       ["--stall-timeout", "2"])  # fmt: skip
    summary = lines[-1]
    # UDP has no end of stream: the sender's exit is a stall, and no reconnect was allowed
    assert code == 3 and summary["stopped"] == "stalled 2 s", stderr
    assert "Traceback" not in stderr
    assert summary["frames"] >= 170  # the first packets may precede the first keyframe
    ends = [x for x in lines if x["type"] == "end"]
    starts = [x for x in lines if x["type"] == "start"]
    assert ends and len(starts) == len(ends)
    hit = [e for e in ends if e["start_frame"] < GT_04[1] and e["end_frame"] >= GT_04[0]]
    assert sum(e["end_frame"] - e["start_frame"] + 1 for e in hit) >= 60, ends


@pytest.mark.real_data
def test_udp_stream_stall_then_drop_neither_hangs_nor_crashes(knn_run, ped2, tmp_path):
    # 3 s pause after frame 40 (a stall longer than the 1.5 s timeout: reconnect 1 finds the
    # stream again when it resumes), then the sender exits after 100 frames (a drop:
    # reconnect 2 sees no stream within its 6.5 s open timeout and the reader gives up)
    code, lines, stderr, seconds = _run_live(
        knn_run, ped2, tmp_path,
        ["--fps", "40", "--stall-after", "40", "--stall", "3", "--max-frames", "100"],
        ["--stall-timeout", "1.5", "--reconnect", "2"],
    )  # fmt: skip
    summary = lines[-1]
    assert code == 3, stderr
    assert "Traceback" not in stderr
    assert summary["stopped"] == (
        "stalled 1.5 s (no stream within 6.5 s of opening), gave up after 2 reconnects"
    )
    assert summary["reconnects"] == 2
    assert summary["frames"] > 60  # frames after the stall were read too
    assert seconds < 45


@pytest.mark.parametrize(("length", "stride"), [(16, 16), (2, 16), (16, 4), (5, 3)])
def test_online_frame_scores_equal_exact_expansion(length, stride):
    from vadkit.deploy.stream import _frame_score
    from vadkit.evaluate.expand import expand_snippets

    s = np.random.default_rng(0).random(7)
    n = 6 * stride + length + 3  # frames past the last snippet take its score
    want = expand_snippets(s, snippet_length=length, stride=stride, n_frames=n, convention="exact")
    got = [_frame_score(k, dict(enumerate(s)), len(s) - 1, length, stride) for k in range(n)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
