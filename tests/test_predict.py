"""``vadkit predict`` on real Ped2 video: one model of each supervision level.

The stores sample 2 frames of every 16 (``--snippet-length 2 --frame-step 8 --stride 16``) so
the real EfficientNet-Lite0 extraction stays fast; predict re-extracts new video the same way
from the model's recorded StoreInfo. Ped2 ``Test004`` (id ``04``) is anomalous in frames 31-180
(1-based, ``UCSDped2.m``); it is never a training video.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.real_data

OPTS = {"snippet_length": 2, "frame_step": 8, "stride": 16, "batch_size": 8}
TEST_VIDEO = "04"
GT_04 = (30, 180)  # 0-based [start, end) of the anomaly in Test004


@pytest.fixture(scope="module", autouse=True)
def _one_thread(torch_one_thread):
    yield


def _ped2_labels(ped2: Path, store) -> dict[str, np.ndarray]:
    """Published frame labels (UCSDped2.m) of the store's abnormal videos, at their lengths."""
    gt = _ped2_gt_one(ped2)
    return {e.id: gt.labels_for(e.id, e.n_frames) for e in store.entries if e.label == 1}


@pytest.fixture(scope="module")
def ped2(shared_data) -> Path:
    return shared_data / "ped2"


@pytest.fixture(scope="module")
def stores(ped2, tmp_path_factory) -> dict[str, Path]:
    """Train: Ped2 training 01-10 (normal, ids n01..) and every test video but 04 (abnormal);
    test: 04."""
    from vadkit.extract import ExtractOptions, extract
    from vadkit.io.inputs import InputItem

    root = tmp_path_factory.mktemp("ped2-stores")
    opts = ExtractOptions(**OPTS)
    items = [
        InputItem(f"n{k:02d}", ped2 / "training" / "frames" / f"{k:02d}", "0") for k in range(1, 11)
    ]
    items += [
        InputItem(f"{k:02d}", ped2 / "testing" / "frames" / f"{k:02d}", "1")
        for k in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12)
    ]
    test = [InputItem(TEST_VIDEO, ped2 / "testing" / "frames" / TEST_VIDEO, "1")]
    for name, its in (("train", items), ("test", test)):
        res = extract(its, root / name, "efficientnet_lite0", options=opts, progress=False)
        assert res.ok, res.failed
    return {"train": root / "train", "test": root / "test", "root": root}


@pytest.fixture(scope="module")
def mp4(ped2, tmp_path_factory) -> Path:
    """Test004's 180 frames as an H.264 mp4 at 10 fps (the dataset's frame rate)."""
    import av
    from PIL import Image

    path = tmp_path_factory.mktemp("ped2-mp4") / "01.mp4"
    frames = sorted((ped2 / "testing" / "frames" / TEST_VIDEO).glob("*.jpg"))
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=10)
        first = np.asarray(Image.open(frames[0]).convert("RGB"))
        st.height, st.width = first.shape[:2]
        st.pix_fmt = "yuv420p"
        st.options = {"crf": "12"}
        for f in frames:
            img = np.asarray(Image.open(f).convert("RGB"))
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def _data(stores) -> dict:
    return {"train": str(stores["train"]), "test": str(stores["test"])}


@pytest.fixture(scope="module")
def runs(stores, ped2, tmp_path_factory) -> dict[str, Path]:
    from vadkit.deploy.oneclass_run import train_oneclass_run
    from vadkit.methods.registry import get_method
    from vadkit.train import train_run

    root = tmp_path_factory.mktemp("ped2-runs")
    quiet = lambda *_: None  # noqa: E731
    out = {"knn": root / "knn", "ur_dmu": root / "ur_dmu", "aed_t": root / "aed_t"}
    train_oneclass_run(stores["train"], out["knn"], scorer="knn", val_fraction=0.2, far=0.05)
    # the weak level: UR-DMU at the weak benchmark's 32 segments (RTFM, here before, scored
    # Test004 below its calibrated threshold after these 100 steps)
    cfg = {"method": "ur_dmu", "model": {"feature_dim": 1280, "n_crops": 1, "n_segments": 32},
           "train": {"iterations": 100, "batch_per_class": 3, "val_every": 25, "val_fraction": 0.25,
                     "seed": 0},
           "data": _data(stores)}  # fmt: skip
    train_run(cfg, get_method("ur_dmu"), out["ur_dmu"], echo=quiet)
    # AED-T learns from frame labels; with 2 frames sampled per 16 the "x16" targets of a
    # snippet are its sampled frames' labels, built here from the published ones
    from vadkit.datasets.annotations.groundtruth import GroundTruth
    from vadkit.io.store import FeatureStore

    store = FeatureStore.open(stores["train"])
    labels = _ped2_labels(ped2, store)
    gt_labels = {}
    for e in store.entries:
        if e.label == 1:
            lab = labels[e.id]
            idx = (np.arange(e.T)[:, None] * 16 + np.arange(2)[None] * 8).reshape(-1)
            gt_labels[e.id] = lab[np.minimum(idx, len(lab) - 1)].astype(np.uint8)
    gt = GroundTruth("custom", labels=gt_labels, source="UCSDped2.m sampled like the store")
    cfg = {"method": "aed_t",
           "model": {"feature_dim": 1280, "n_classes": 2, "frames_per_snippet": 2},
           "train": {"iterations": 40, "batch_per_class": 4, "val_every": 20, "val_fraction": 0.25,
                     "seed": 0},
           "data": _data(stores)}  # fmt: skip
    train_run(cfg, get_method("aed_t"), out["aed_t"], echo=quiet, ground_truth=gt)
    return out


def test_runs_record_calibrated_thresholds(runs):
    for name, path in runs.items():
        doc = json.loads((path / "threshold.json").read_text())
        assert doc["threshold"] is not None, name
        assert doc["default"] == ("far" if name == "knn" else "validation"), name


@pytest.fixture(scope="module")
def predictions(runs, ped2, mp4) -> dict:
    """Each model on Test004 as a frame folder and as an mp4 (predict_video, features re-extracted)."""
    from vadkit.deploy import load_model, predict_video
    from vadkit.deploy.predict import load_predictor_encoder

    out = {}
    folder = ped2 / "testing" / "frames" / TEST_VIDEO
    for method, path in runs.items():
        model = load_model(path)
        enc = load_predictor_encoder(model)
        out[method] = (model, {kind: predict_video(model, src, encoder=enc, fps=10.0)
                               for kind, src in (("folder", folder), ("mp4", mp4))})  # fmt: skip
    return out


@pytest.mark.parametrize(
    "method",
    ["knn", "ur_dmu", "aed_t"],
)
@pytest.mark.parametrize("kind", ["folder", "mp4"])
def test_predict_finds_the_ped2_anomaly(method, kind, predictions):
    _, preds = predictions[method]
    pred = preds[kind]
    assert pred.n_frames == 180 and len(pred.frame_scores) == 180
    assert pred.threshold_source.startswith("calibrated")
    a, b = GT_04
    assert any(e.start_frame < b and e.end_frame >= a for e in pred.events), (
        pred.threshold,
        pred.snippet_scores.round(3),
        pred.events,
    )


@pytest.mark.parametrize("method", ["knn", "ur_dmu", "aed_t"])
def test_predict_scores_equal_extract_plus_evaluate(method, predictions, stores, ped2):
    """The frame folder gives the features `vadkit extract` wrote: the same scores as the
    test store scored by the model and expanded by `vadkit evaluate --convention exact`."""
    from vadkit.evaluate.run import frame_data
    from vadkit.io.store import FeatureStore

    model, preds = predictions[method]
    test_store = FeatureStore.open(stores["test"])
    snip = model.score_features(test_store.load(TEST_VIDEO)).scores
    data = frame_data({TEST_VIDEO: snip}, _ped2_gt_one(ped2), store=test_store,
                      convention="exact", allow_subset=True)  # fmt: skip
    pred = preds["folder"]
    np.testing.assert_allclose(pred.snippet_scores, snip, rtol=0, atol=1e-6)
    np.testing.assert_allclose(pred.frame_scores, data.scores[TEST_VIDEO], rtol=0, atol=1e-6)
    # the mp4 is a lossy copy: same length, close but not equal scores
    assert len(preds["mp4"].frame_scores) == len(pred.frame_scores)


def test_cli_predict_writes_scores_and_events(runs, ped2, mp4, tmp_path, capsys):
    from vadkit.cli.main import main

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    lst = tmp_path / "videos.txt"
    lst.write_text(f"{mp4}\n{bad}\n")
    code = main(["predict", str(lst), "--model", str(runs["knn"]), "--out", str(tmp_path / "p"),
                 "--min-length", "0.5", "--merge-gap", "1.0", "--video-out"])  # fmt: skip
    cap = capsys.readouterr()
    assert code == 1, cap.err  # one video failed: reported, the other written
    assert "broken: FAILED" in cap.err
    events = json.loads((tmp_path / "p" / f"{mp4.stem}.events.json").read_text())
    assert events["settings"]["min_length_s"] == 0.5 and events["settings"]["merge_gap_s"] == 1.0
    assert events["events"]
    rows = (tmp_path / "p" / f"{mp4.stem}.frames.csv").read_text().splitlines()
    assert rows[0] == "frame,time_s,score" and len(rows) == 181
    assert rows[11].startswith("10,1.0000,")  # frame 10 at 10 fps
    assert (tmp_path / "p" / f"{mp4.stem}.events.csv").read_text().startswith("start_frame,")
    _check_annotated_video(tmp_path / "p" / f"{mp4.stem}.annotated.mp4", events["events"], 180)
    assert (tmp_path / "p" / f"{mp4.stem}.png").stat().st_size > 10_000
    assert not (tmp_path / "p" / "broken.annotated.mp4").exists()


def _check_annotated_video(path: Path, events: list[dict], n_frames: int) -> None:
    """Every frame is there, with the score strip under it and a red border exactly in events."""
    from vadkit.deploy.annotate import STRIP_HEIGHT
    from vadkit.io.stream import FrameStream

    inside = np.zeros(n_frames, bool)
    for e in events:
        inside[e["start_frame"] : e["end_frame"] + 1] = True
    seen = 0
    for i, img in FrameStream(path):
        assert img.shape[0] >= 240 + STRIP_HEIGHT - 1  # Ped2 frames are 240 x 360
        corner = img[:3, :3].reshape(-1, 3).mean(axis=0)  # the border's corner
        red = corner[0] > 150 and corner[1] < 90 and corner[2] < 90
        assert red == bool(inside[i]), f"frame {i}: border {corner} but in-event {inside[i]}"
        seen += 1
    assert seen == n_frames


def _ped2_gt_one(ped2: Path):
    from vadkit.evaluate.run import load_ground_truth

    return load_ground_truth("ped2", ped2 / "UCSDped2.m")
