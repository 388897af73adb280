"""vadkit.viz: every figure kind checked for content (series, shaded intervals, legend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from train_helpers import TINY, make_stores, one_thread, register_tiny

from vadkit.errors import VadkitError
from vadkit.viz import (
    PublishedCurve,
    VideoFrames,
    load_run_frames,
    peak_frames,
    pr_curves,
    read_published_roc,
    read_thumbnails,
    roc_curves,
    save_figure,
    score_curve,
)

single_thread = pytest.fixture(scope="module", autouse=True)(one_thread)


def _legend(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


def _spans(ax) -> list:
    """The axvspan patches (Rectangles in data x, axes y) of an axes."""
    from matplotlib.patches import Rectangle

    return [p for p in ax.patches if isinstance(p, Rectangle)]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real run of the trainer (tiny method) on a generated store with a CSV ground truth."""
    from vadkit.cli.main import main
    from vadkit.methods.registry import unregister_method

    root = tmp_path_factory.mktemp("vizrun")
    stores = make_stores(root, n_train=16, n_test=6)
    cfg = root / "tiny.yaml"
    cfg.write_text(
        f"method: {TINY}\ndataset: csv\nmodel:\n  batch_per_class: 4\n  iterations: 20\n"
        "train:\n  val_every: 10\n"
    )
    register_tiny()
    try:
        argv = ["train", "--config", str(cfg), "--train", str(stores["train"]), "--test",
                str(stores["test"]), "--annotations", str(stores["gt"]), "-o", str(root / "run")]  # fmt: skip
        assert main(argv) == 0
    finally:
        unregister_method(TINY)
    return root / "run"


@pytest.fixture(scope="module")
def frame_folder(tmp_path_factory) -> Path:
    """A frame folder of 10 frames whose red channel is 20 x the frame index."""
    from PIL import Image

    d = tmp_path_factory.mktemp("frames") / "vid"
    d.mkdir()
    for i in range(10):
        img = np.zeros((48, 64, 3), np.uint8)
        img[..., 0] = 20 * i
        Image.fromarray(img).save(d / f"{i:03d}.png")
    return d


def test_score_curve_draws_scores_truth_threshold_and_attention():
    s = np.r_[np.zeros(20), np.ones(10), np.zeros(20), np.ones(5), np.zeros(5)]
    y = (s > 0).astype(int)  # two anomalous intervals: frames 20..29 and 50..54
    fig = score_curve(s, labels=y, threshold=0.5, attention=np.linspace(0, 1, 60), title="v")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    spans = _spans(ax)
    assert len(spans) == 2
    xs = sorted((round(p.get_x() + 0.5), round(p.get_x() + p.get_width() + 0.5)) for p in spans)
    assert xs == [(20, 30), (50, 55)]
    assert ax.get_xlabel() == "frame" and ax.get_ylabel() == "anomaly score"
    # one legend (above the plot) for both axes; the shaded intervals appear once in it
    assert _legend(ax) == ["ground truth", "score", "threshold", "attention"]
    twin = [a for a in fig.axes if a is not ax]
    assert len(twin) == 1 and twin[0].get_ylabel() == "attention"
    assert len(twin[0].lines) == 1 and len(twin[0].lines[0].get_ydata()) == 60
    score_line = [ln for ln in ax.lines if ln.get_label() == "score"][0]
    np.testing.assert_array_equal(score_line.get_ydata(), s)


def test_score_curve_thumbnail_strip_and_missing_source_note(frame_folder):
    s = np.array([0, 1, 0, 0, 0, 0, 0, 3, 0, 2], float)
    assert peak_frames(s, k=3, min_gap=2) == [1, 7, 9]
    thumbs = read_thumbnails(frame_folder, [1, 7, 12], height=24)
    assert [f for f, _ in thumbs] == [1, 7, 12]
    img = thumbs[1][1]
    assert img.dtype == np.uint8 and img.shape == (24, 32, 3)
    assert int(img[..., 0].mean()) == 140  # frame 7 (20 x 7)
    assert int(thumbs[2][1][..., 0].mean()) == 180  # past the end: the last frame (9)
    fig = score_curve(s, thumbnails=thumbs)
    assert len(fig.axes) == 4 and [a.get_title() for a in fig.axes[1:]] == [
        "frame 1", "frame 7", "frame 12",
    ]  # fmt: skip
    assert "thumbnails" in _legend(fig.axes[0])
    with pytest.raises(VadkitError, match="not found"):
        read_thumbnails(frame_folder.parent / "gone.mp4", [0])
    fig = score_curve(s, thumbnail_note="thumbnails omitted: source video not found")
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.texts] == ["thumbnails omitted: source video not found"]


def test_save_figure_writes_png_and_svg(tmp_path):
    fig = score_curve(np.arange(5.0))
    paths = save_figure(fig, tmp_path / "sub" / "curve.png", formats=("png", "svg"))
    assert [p.name for p in paths] == ["curve.png", "curve.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:400]
    assert not list((tmp_path / "sub").glob("*.tmp*"))
    with pytest.raises(VadkitError, match="format"):
        save_figure(fig, tmp_path / "x", formats=("jpg",))


def test_load_run_frames_of_a_training_run(run_dir):
    import csv

    frames = load_run_frames(run_dir)
    assert len(frames) == 6
    rows = {r["video"]: r for r in csv.DictReader(open(run_dir.parent / "test_gt.csv"))}
    for vid, vf in frames.items():
        assert isinstance(vf, VideoFrames)
        n = int(rows[vid]["n_frames"])
        assert len(vf.scores) == n and len(vf.labels) == n  # x16: 16 frames per snippet
        if rows[vid]["start"]:
            a, b = int(rows[vid]["start"]), int(rows[vid]["end"])
            assert vf.labels[a:b].all() and vf.labels.sum() == b - a
        else:
            assert vf.labels.sum() == 0
    vid = next(iter(frames))
    moved = load_run_frames(run_dir, sources={vid: "/elsewhere/v.mp4"})
    assert moved[vid].source == "/elsewhere/v.mp4"
    with pytest.raises(VadkitError, match="run directory"):
        load_run_frames(run_dir.parent / "nothing")


def test_roc_and_pr_curves_of_two_runs():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200, int), np.ones(50, int)]
    good = y + rng.normal(0, 0.5, len(y))
    bad = rng.normal(0, 1, len(y))
    published = {"toy": PublishedCurve("toy", np.array([0, 0.5, 1]), np.array([0, 1.0, 1]), 0.75)}
    fig = roc_curves({"good": (y, good), "bad": (y, bad)}, published)
    ax = fig.axes[0]
    names = _legend(ax)
    assert (
        len(names) == 3
        and names[0].startswith("good (AUC ")
        and names[2] == ("published: toy (AUC 0.750)")
    )
    assert ax.get_xlabel() == "false positive rate" and ax.get_ylabel() == "true positive rate"
    assert len(ax.lines) == 4  # chance diagonal + 2 runs + published
    fig = pr_curves({"good": (y, good)})
    assert _legend(fig.axes[0])[0].startswith("good (AP ")
    with pytest.raises(VadkitError, match="both"):
        roc_curves({"one class": (np.zeros(5), np.arange(5.0))})


@pytest.mark.real_data
def test_published_sultani_roc_overlay(shared_data):
    curves = read_published_roc(shared_data / "ucf_crime" / "sultani_paper_roc")
    # the four files and AUCs documented in ucf_crime/SOURCES.md
    aucs = {k: round(100 * c.auc, 2) for k, c in curves.items()}
    assert aucs == {
        "Binary classifier": 49.99, "Lu et al. 2013": 65.51,
        "Hasan et al. 2016": 50.66, "Sultani et al. 2018": 75.41,
    }  # fmt: skip
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    fig = roc_curves({"mine": (y, y + np.linspace(0, 1.5, 100))}, curves)
    names = _legend(fig.axes[0])
    assert names[1:] == [
        "published: Binary classifier (AUC 0.500)", "published: Lu et al. 2013 (AUC 0.655)",
        "published: Hasan et al. 2016 (AUC 0.507)", "published: Sultani et al. 2018 (AUC 0.754)",
    ]  # fmt: skip
    sultani = fig.axes[0].lines[-1]
    assert len(sultani.get_xdata()) <= 2001  # thinned for drawing
