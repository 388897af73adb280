"""`vadkit evaluate` on the real annotation files: the numbers published code would compute."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vadkit.cli.main import main
from vadkit.errors import VadkitError
from vadkit.evaluate.run import compute_metrics, frame_data, load_ground_truth, load_scores


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
