"""`vadkit evaluate` on the real annotation files: the numbers published code would compute."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vadkit.cli.main import main
from vadkit.errors import VadkitError
from vadkit.evaluate import (
    compute_metrics,
    evaluate_scores,
    frame_data,
    load_ground_truth,
    load_scores,
)


@pytest.fixture()
def sh_scores(shared_data, tmp_path):
    """Random snippet scores for the 199 ShanghaiTech test videos, T from the S3R JSON."""
    js = json.loads(
        (shared_data / "s3r_layout/shanghaitech/shanghaitech_ground_truth.testing.json").read_text()
    )
    rng = np.random.default_rng(1)
    scores = {}
    for vid, v in js.items():
        lab = np.asarray(v["labels"]).reshape(-1, 16).max(1)
        scores[vid] = np.clip(0.4 * lab + rng.random(len(lab)), 0, None)
    path = tmp_path / "scores.npz"
    np.savez(path, **scores)
    return path, list(js), scores


def test_shanghaitech_x16_equals_rtfm_ground_truth(shared_data, sh_scores):
    path, order, scores = sh_scores
    gt = load_ground_truth(
        "shanghaitech",
        shared_data / "shanghaitech/test_frame_mask",
        split_file=shared_data / "shanghaitech/SH_Test.txt",
    )
    data = frame_data(load_scores(path), gt, convention="x16")
    gt_sh = np.load(shared_data / "rtfm_lists/gt-sh.npy")
    # RTFM concatenates labels in its test-list order: same frames, same AUC
    y = np.concatenate([data.labels[v] for v in order])
    assert np.array_equal(y, gt_sh)
    expected = roc_auc_score(gt_sh, np.concatenate([np.repeat(scores[v], 16) for v in order]))
    results = compute_metrics(data)
    assert results["frame_auc"] == pytest.approx(expected, abs=1e-12)
    assert results["n_frames"] == 142912 and results["n_abnormal_frames"] == 8028
    assert results["n_videos"] == 199 and results["n_abnormal_videos"] == 44


def test_ucf_crime_conventions_frame_totals(shared_data, tmp_path):
    gt = load_ground_truth(
        "ucf-crime",
        shared_data / "ucf_crime/Temporal_Anomaly_Annotation.txt",
        frame_counts=shared_data / "ucf_crime/Test_Annotation.txt",
    )
    rng = np.random.default_rng(0)
    scores = {v: rng.random(gt.n_frames[v] // 16) for v in gt.ids}
    x16 = compute_metrics(frame_data(scores, gt, convention="x16"))
    exact = compute_metrics(frame_data(scores, gt, convention="exact"))
    assert x16["n_frames"] == 1_109_824 and exact["n_frames"] == 1_111_808
    assert x16["n_videos"] == exact["n_videos"] == 290
    assert set(x16["per_class_auc"]) == {
        "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
        "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
    }  # fmt: skip
    assert 0.45 < x16["frame_auc"] < 0.55  # random scores


def test_cli_evaluate_writes_json(shared_data, sh_scores, tmp_path, capsys):
    path, _, _ = sh_scores
    out = tmp_path / "m.json"
    code = main([
        "evaluate", "--scores", str(path), "--dataset", "shanghaitech",
        "--annotations", str(shared_data / "shanghaitech/test_frame_mask"),
        "--split-file", str(shared_data / "shanghaitech/SH_Test.txt"), "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    table = capsys.readouterr().out
    assert "frame_auc" in table and "199 videos (44 abnormal)" in table
    assert json.loads(out.read_text())["n_frames"] == 142912


def test_cli_errors_are_one_line(shared_data, tmp_path, capsys):
    base = ["evaluate", "--dataset", "shanghaitech",
            "--annotations", str(shared_data / "shanghaitech/test_frame_mask"),
            "--split-file", str(shared_data / "shanghaitech/SH_Test.txt")]  # fmt: skip
    assert main([*base, "--scores", str(tmp_path / "nope.npz")]) == 2
    err = capsys.readouterr().err
    assert "scores file not found" in err and err.count("\n") == 1
    np.savez(tmp_path / "s.npz", not_a_video=np.zeros(3))
    assert main([*base, "--scores", str(tmp_path / "s.npz")]) == 2
    assert "'not_a_video'" in capsys.readouterr().err
    np.savez(tmp_path / "s2.npz", **{"01_0015": np.zeros(3)})
    assert main([*base, "--scores", str(tmp_path / "s2.npz")]) == 2
    assert "have no scores" in capsys.readouterr().err
    assert main([*base, "--scores", str(tmp_path / "s2.npz"), "--subset"]) == 2
    err = capsys.readouterr().err
    assert "01_0015" in err and "433" in err  # 3 snippets cannot cover 433 frames


def test_scores_must_be_finite_1d(tmp_path):
    np.savez(tmp_path / "s.npz", a=np.array([0.1, np.nan]))
    with pytest.raises(VadkitError, match="'a' contain NaN"):
        load_scores(tmp_path / "s.npz")
    np.savez(tmp_path / "t.npz", a=np.zeros((2, 2)))
    with pytest.raises(VadkitError, match=r"shape \(2, 2\)"):
        load_scores(tmp_path / "t.npz")


def test_ucf_needs_frame_counts(shared_data):
    with pytest.raises(VadkitError, match="--frame-counts"):
        load_ground_truth("ucf-crime", shared_data / "ucf_crime/Temporal_Anomaly_Annotation.txt")


def test_segment_stores_expand_by_their_rule(tmp_path):
    """Scores of a TACnet-segment store spread by array_split, Sultani ones by clip bounds."""
    from vadkit.datasets.annotations import GroundTruth
    from vadkit.evaluate.expand import expand_segments
    from vadkit.io.store import StoreInfo, StoreWriter

    n = 200
    labels = np.zeros(n, np.uint8)
    labels[120:180] = 1
    gt = GroundTruth("toy", labels={"v": labels})
    scores = {"v": np.linspace(0, 1, 32)}
    for rule, expand_rule in (("tacnet", "array_split"), ("sultani", "sultani")):
        info = StoreInfo(backbone="c3d", weights_sha256="x", dim=4, crops=1, n_segments=32,
                         padding="segments", extra={"segment_rule": rule})  # fmt: skip
        w = StoreWriter(tmp_path / rule, info)
        w.add("v", np.zeros((32, 1, 4), np.float32), n_frames=n)
        data = frame_data(scores, gt, store=w.finalize(), convention="exact")
        expected = expand_segments(scores["v"], n_frames=n, rule=expand_rule)
        assert np.array_equal(data.scores["v"], expected) and len(expected) == n
    tac = expand_segments(scores["v"], n_frames=n, rule="array_split")
    assert not np.array_equal(tac, expand_segments(scores["v"], n_frames=n, rule="sultani"))


def test_csv_one_based_and_ped2_ids(shared_data, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("video,start,end,n_frames\nv,3,5,10\n")
    zero = load_ground_truth("csv", csv)
    one = load_ground_truth("csv", csv, one_based_inclusive=True)
    assert zero.labels_for("v", 10).tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert one.labels_for("v", 10).tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    ped2 = load_ground_truth("ped2", shared_data / "ped2" / "ped2.mat", ped2_ids="Test001")
    assert "Test001" in ped2 and "01" not in ped2


def _ucf_anomalous_frames_by_hand(folder):
    """Anomalous frames of the UCF test set counted from the two text files, with plain Python:
    1-based inclusive [s, e] clipped to n frames (exact) or to the 16 * floor(n / 16) frames of
    a store (x16)."""
    n = {}
    for line in (folder / "Test_Annotation.txt").read_text().splitlines():
        if line.strip():
            name, count = line.split()[:2]
            n[name.split("/")[-1][: -len(".mp4")]] = int(count)
    exact = x16 = 0
    for line in (folder / "Temporal_Anomaly_Annotation.txt").read_text().splitlines():
        if not line.strip():
            continue
        f = line.split()
        vid, nums = f[0][: -len(".mp4")], [int(t) for t in f[2:]]
        frames = set()
        for s, e in zip(nums[::2], nums[1::2], strict=True):
            if s != -1:
                frames |= set(range(s, e + 1))
        exact += sum(1 for k in frames if k <= n[vid])
        x16 += sum(1 for k in frames if k <= 16 * (n[vid] // 16))
    return x16, exact


def test_ucf_crime_conventions_abnormal_frame_totals(shared_data):
    folder = shared_data / "ucf_crime"
    assert _ucf_anomalous_frames_by_hand(folder) == (84_316, 84_338)
    gt = load_ground_truth(
        "ucf_crime",  # the old spelling still works
        folder / "Temporal_Anomaly_Annotation.txt",
        frame_counts=folder / "Test_Annotation.txt",
    )
    scores = {v: np.linspace(0, 1, gt.n_frames[v] // 16) for v in gt.ids}
    x16 = evaluate_scores(scores, gt, convention="x16")
    exact = evaluate_scores(scores, gt, convention="exact")
    assert (x16["n_abnormal_frames"], exact["n_abnormal_frames"]) == (84_316, 84_338)
    assert x16["n_abnormal_videos"] == exact["n_abnormal_videos"] == 140
    assert x16["dataset"] == "ucf-crime" and x16["convention"] == "x16"


def _ped2_base(shared_data):
    ped2 = shared_data / "ped2"
    return ["evaluate", "--dataset", "ped2", "--annotations", str(ped2 / "ped2.mat"),
            "--frames-root", str(ped2 / "testing" / "frames"), "--convention", "exact"]  # fmt: skip


@pytest.fixture()
def ped2_frame_scores(shared_data, tmp_path):
    gt = load_ground_truth(
        "ped2", shared_data / "ped2" / "ped2.mat", frames_root=shared_data / "ped2/testing/frames"
    )
    rng = np.random.default_rng(0)
    path = tmp_path / "frames.npz"
    np.savez(path, **{v: rng.random(gt.true_length(v)) for v in gt.ids})
    return path


def test_cli_per_frame_scores_suggest_snippet_length_1(shared_data, ped2_frame_scores, capsys):
    base = [*_ped2_base(shared_data), "--scores", str(ped2_frame_scores)]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "--snippet-length 1" in err and "frame rate" not in err and err.count("\n") == 1
    assert main([*base, "--snippet-length", "1"]) == 0
    assert "12 videos (12 abnormal), 2010 frames (1648 abnormal)" in capsys.readouterr().out


def test_per_frame_scores_with_a_store_that_lacks_frame_counts(tmp_path):
    from vadkit.datasets.annotations import GroundTruth
    from vadkit.io.store import StoreInfo, StoreWriter

    lab = np.zeros(40, np.uint8)
    lab[20:30] = 1
    gt = GroundTruth("toy", labels={"v": lab, "w": np.zeros(40, np.uint8)})
    w = StoreWriter(tmp_path / "s", StoreInfo(backbone="i3d", weights_sha256="x", dim=1, crops=1))
    for vid in ("v", "w"):
        w.add(vid, np.zeros((2, 1, 1), np.float32))  # T = floor(40 / 16), n_frames unknown
    store = w.finalize()
    scores = {"v": lab * 0.8 + 0.1, "w": np.full(40, 0.2)}  # per frame: 40 values
    res = evaluate_scores(scores, gt, store=store, convention="exact")
    assert res["n_frames"] == 80 and res["frame_auc"] == 1.0
    with pytest.raises(VadkitError, match="need the 'exact' one \\(--convention exact\\)"):
        evaluate_scores(scores, gt, store=store, convention="x16")


def test_cli_messages_name_the_flags(shared_data, ped2_frame_scores, tmp_path, capsys):
    base = [*_ped2_base(shared_data), "--scores", str(ped2_frame_scores)]
    for flags, expected in (
        (["--snippet-length", "0"], "--snippet-length must be at least 1 frame, got 0"),
        (["--snippet-length", "1", "--bootstrap", "-1"], "--bootstrap must be 0"),
    ):
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err
        assert expected in err and "snippet_len" not in err and "alpha" not in err
    # a fixed-segment store in the x16 convention: the flag to change is named
    from vadkit.io.store import StoreInfo, StoreWriter

    info = StoreInfo(backbone="c3d", weights_sha256="x", dim=1, crops=1, n_segments=32,
                     padding="segments")  # fmt: skip
    w = StoreWriter(tmp_path / "seg", info)
    w.add("01", np.zeros((32, 1, 1), np.float32), n_frames=180)
    w.finalize()
    np.savez(tmp_path / "seg.npz", **{"01": np.zeros(32)})
    args = ["evaluate", "--dataset", "ped2", "--annotations", str(shared_data / "ped2/ped2.mat"),
            "--scores", str(tmp_path / "seg.npz"), "--store", str(tmp_path / "seg"), "--subset"]  # fmt: skip
    assert main(args) == 2
    assert "(--convention exact)" in capsys.readouterr().err


def test_cli_out_checked_before_work(shared_data, ped2_frame_scores, tmp_path, capsys):
    base = [*_ped2_base(shared_data), "--scores", str(ped2_frame_scores), "--snippet-length", "1"]
    # a missing folder is made
    out = tmp_path / "new" / "sub" / "m.json"
    assert main([*base, "-o", str(out)]) == 0
    assert json.loads(out.read_text())["n_frames"] == 2010
    capsys.readouterr()
    # a folder that is a file: one line before any work, no table
    (tmp_path / "afile").write_text("x")
    assert main([*base, "--out", str(tmp_path / "afile" / "m.json")]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "is a file, not a folder" in cap.err and cap.err.count("\n") == 1


def test_cli_default_out_is_not_overwritten(shared_data, ped2_frame_scores, capsys):
    base = [*_ped2_base(shared_data), "--scores", str(ped2_frame_scores), "--snippet-length", "1"]
    default = ped2_frame_scores.parent / "metrics.json"
    assert main(base) == 0 and default.is_file()
    first = default.read_text()
    capsys.readouterr()
    assert main([*base, "--bootstrap", "5"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and "already exists" in cap.err and "--overwrite" in cap.err
    assert "-o" in cap.err and default.read_text() == first
    assert main([*base, "--bootstrap", "5", "--overwrite"]) == 0
    assert "frame_auc_ci95" in json.loads(default.read_text())


def test_cli_old_spellings_still_work(shared_data, ped2_frame_scores, capsys):
    base = [*_ped2_base(shared_data), "--scores", str(ped2_frame_scores), "--snippet-length", "1"]
    masks = str(shared_data / "ped2/testing/masks")
    base[base.index("ped2")] = "ucsd_ped2"
    assert main([*base, "--masks", masks, "-o", str(ped2_frame_scores.parent / "a.json")]) == 0
    assert "ped2 (exact): 12 videos" in capsys.readouterr().out
    assert main(["evaluate", "--help"]) == 0
    helptext = capsys.readouterr().out
    assert "--masks-dir" in helptext and "--masks " not in helptext
    assert "ucf-crime|shanghaitech|xd-violence|ped2" in helptext
