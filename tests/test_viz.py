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


# ---------------------------------------------------------------- model views, tables, CLI


@pytest.fixture(scope="module")
def tacnet_run(run_dir) -> Path:
    """A real TACnet run (tiny sizes) on the same generated stores as ``run_dir``."""
    from vadkit.cli.main import main

    root = run_dir.parent
    cfg = root / "tacnet.yaml"
    cfg.write_text(
        "method: tacnet\ndataset: csv\nmodel:\n  feature_dim: 16\n  hidden: 16\n"
        "  attention_dim: 8\n  classifier_dims: [8]\ntrain:\n  iterations: 10\n  val_every: 5\n"
        "  batch_per_class: 4\n"
    )
    argv = ["train", "--config", str(cfg), "--train", str(root / "train"), "--test",
            str(root / "test"), "--annotations", str(root / "test_gt.csv"), "-o", str(root / "tac")]  # fmt: skip
    assert main(argv) == 0
    return root / "tac"


def test_attention_hooks_leave_scores_unchanged():
    import torch

    from vadkit.methods.registry import get_method

    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((1, 2, 40, 16)).astype(np.float32)
    for name, extra in (
        ("tacnet", {}),
        ("anm", {}),
        ("s3r", {"trunk_channels": 4, "n_atoms": 3, "norm_groups": 4}),
    ):
        m = get_method(name)
        model = m.model_cls(m.build_config({"feature_dim": 16, **extra}))
        if name == "s3r":
            model.set_dictionary(torch.randn(3, 16))
        before = model.score(x)
        att = model.attention_weights(x)
        np.testing.assert_array_equal(model.score(x), before)
        assert att.shape == (1, 40) and np.isfinite(att).all()
        if name == "anm":  # a softmax over the 40 snippets of each crop and hop
            assert att.sum() == pytest.approx(1.0, abs=1e-5)
        if name == "s3r":  # the largest of 3 softmax weights: in [1/3, 1]
            assert (att >= 1 / 3 - 1e-6).all() and (att <= 1 + 1e-6).all()


def test_tacnet_attention_clusters_and_tsne(tacnet_run):
    from vadkit.methods.mil.common import segment_of_snippet
    from vadkit.viz import run_attention, run_clusters, test_features, tsne_figure

    att = run_attention(tacnet_run, ["test_001"])["test_001"]
    feats = test_features(tacnet_run, ["test_001", "test_002"])
    t = len(feats["test_001"])
    assert att.shape == (t,)
    # one weight per segment, shared by that segment's snippets; the 32 segments sum to 1
    seg = segment_of_snippet(t, 32)
    per_segment = {int(s): float(a) for s, a in zip(seg, att, strict=True)}
    assert len(per_segment) == 32 and sum(per_segment.values()) == pytest.approx(1.0, abs=1e-5)
    clusters = run_clusters(tacnet_run, ["test_001", "test_002"])
    assert set(np.unique(clusters["test_001"])) <= {0, 1}
    scores = {v: np.linspace(0, 1, len(f)) for v, f in feats.items()}
    labels = {"test_001": np.r_[np.zeros(8 * t), np.ones(8 * t)]}  # 2nd half anomalous
    fig = tsne_figure(feats, scores, labels=labels, clusters=clusters)
    score_ax, cluster_ax = fig.axes[0], fig.axes[1]
    assert _legend(score_ax) == ["normal (truth)", "anomalous (truth)"]
    n_points = sum(len(c.get_offsets()) for c in score_ax.collections)
    assert n_points == t + len(feats["test_002"])
    anomalous = [c for c in score_ax.collections if c.get_label() == "anomalous (truth)"][0]
    assert len(anomalous.get_offsets()) == t - t // 2
    assert cluster_ax.get_title() == "coloured by k-means cluster"
    assert sum(len(c.get_offsets()) for c in cluster_ax.collections) == n_points
    assert fig.axes[2].get_ylabel() == "anomaly score"  # the colour bar


def test_learning_curves_from_log(run_dir):
    from vadkit.viz import learning_curves, read_log

    fig = learning_curves(read_log(run_dir))
    loss_ax, val_ax = fig.axes
    # the tiny run logs steps 1, 10, 20 and validates at 10 and 20 (val_every 10)
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 10, 20])
    np.testing.assert_array_equal(val_ax.lines[0].get_xdata(), [10, 20])
    assert val_ax.get_ylabel() == "validation AUC" and loss_ax.get_ylabel() == "loss"
    assert any(t.startswith("selected (step ") for t in _legend(val_ax))


def test_seed_comparison_shows_every_seed(tmp_path):
    import json

    from vadkit.viz import read_seed_results, seed_comparison

    doc = {"rows": [
        {"method": "mil", "runs": [{"micro_auc": a} for a in (0.7, 0.8, 0.9)]},
        {"method": "rtfm", "level": "weak", "runs": [{"micro_auc": a} for a in (0.6, 0.65)]},
    ]}  # fmt: skip
    (tmp_path / "results.json").write_text(json.dumps(doc))
    values = read_seed_results(tmp_path)
    assert values == {"mil": [0.7, 0.8, 0.9], "rtfm (weak)": [0.6, 0.65]}
    fig = seed_comparison(values)
    ax = fig.axes[0]
    points = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert [len(p.get_ydata()) for p in points] == [3, 2]
    np.testing.assert_allclose(sorted(points[0].get_ydata()), [0.7, 0.8, 0.9])
    flat = [c.get_segments()[0] for c in ax.collections]  # hlines (means) and vlines (range)
    means = sorted(float(a[1]) for a, b in flat if a[1] == b[1])
    assert means == pytest.approx([0.625, 0.8])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mil", "rtfm (weak)"]
    assert _legend(ax)[0] == "mil: 0.800 ± 0.100 (n=3)"  # sample std (ddof 1)


def test_error_boxplot_per_split_and_class(tmp_path):
    from vadkit.viz import error_boxplot, read_clips

    rows = ["id,split,class,label,reconstruction_error"]
    rows += [f"a{i},train,Walk,0,{0.1 + i / 100}" for i in range(4)]
    rows += [f"b{i},test,Walk,0,{0.2 + i / 100}" for i in range(3)]
    rows += [f"c{i},anomaly,Run,1,{0.9 + i / 100}" for i in range(3)]
    (tmp_path / "clips.csv").write_text("\n".join(rows) + "\n")
    fig = error_boxplot(read_clips(tmp_path))
    split_ax, class_ax = fig.axes
    assert [t.get_text() for t in split_ax.get_xticklabels()] == ["train", "test", "anomaly"]
    assert [t.get_text() for t in class_ax.get_xticklabels()] == [
        "Walk (train)", "Walk (test)", "Run (anomaly)",
    ]  # fmt: skip
    assert split_ax.get_ylabel() == "reconstruction error"
    # the median line of the anomaly box sits at the median of 0.90, 0.91, 0.92
    assert any(np.allclose(ln.get_ydata(), 0.91) for ln in split_ax.lines)


def test_plot_cli_writes_every_kind(run_dir, tacnet_run, tmp_path, capsys):
    from vadkit.cli.main import main

    out = tmp_path / "figs"
    for kind, runs in (("curve", [tacnet_run]), ("attention", [tacnet_run]),
                       ("roc", [run_dir, tacnet_run]), ("pr", [tacnet_run]),
                       ("learning", [tacnet_run]), ("tsne", [tacnet_run])):  # fmt: skip
        argv = ["plot", kind, *map(str, runs), "--out", str(out), "--video", "test_001"]
        assert main(argv) == 0, kind
    main(["plot", "learning", str(run_dir), "--out", str(out / "svg"), "--format", "svg"])
    text = capsys.readouterr().out
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["attention_test_001.png", "curve_test_001.png", "learning.png", "pr.png",
                     "roc.png", "tsne.png"]  # fmt: skip
    assert (out / "svg" / "learning.svg").is_file() and f"wrote {out / 'roc.png'}" in text
    from vadkit.methods.registry import unregister_method

    register_tiny()  # the tiny method has no attention
    try:
        assert main(["plot", "attention", str(run_dir), "--out", str(out)]) == 2
    finally:
        unregister_method(TINY)
    err = capsys.readouterr().err
    assert "has no attention" in err and err.count("\n") == 1
    assert main(["plot", "curve", str(tacnet_run), "--out", str(out), "--video", "nope"]) == 2
    assert "--video 'nope'" in capsys.readouterr().err


def test_load_run_frames_of_a_ucsd_benchmark_output(tmp_path, capsys):
    """``benchmark ucsd`` output: per-frame scores; truth and frames from the dataset folder."""
    import json

    from PIL import Image

    from vadkit.cli.main import main

    data = tmp_path / "ped"
    for vid, n in (("01", 12), ("02", 10)):
        d = data / "testing" / "frames" / vid
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((24, 32), 10 * i, np.uint8)).save(d / f"{i:03d}.jpg")
    (data / "UCSDped2.m").write_text(
        "TestVideoFile{end+1}.gt_frame = [3:5];\nTestVideoFile{end+1}.gt_frame = [8:10];\n"
    )
    out = tmp_path / "bench"
    out.mkdir()
    doc = {"dataset": str(data), "ground_truth": str(data / "UCSDped2.m"), "rows": []}
    (out / "results.json").write_text(json.dumps(doc))
    np.savez(out / "scores.npz", **{"01": np.arange(12.0), "02": np.ones(10)})
    frames = load_run_frames(out)
    # 1-based inclusive [3:5] -> 0-based frames 2, 3, 4
    np.testing.assert_array_equal(np.flatnonzero(frames["01"].labels), [2, 3, 4])
    np.testing.assert_array_equal(np.flatnonzero(frames["02"].labels), [7, 8, 9])
    assert frames["01"].source == str((data / "testing" / "frames" / "01").resolve())
    assert main(["plot", "curve", str(out), "--out", str(tmp_path / "f"), "--video", "01"]) == 0
    capsys.readouterr()
