"""LAD2000 importer and ground truth on a generated tree in the official layout."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from vadkit.cli.main import main
from vadkit.datasets.importers.lad2000 import (
    LAD2000_CLASSES,
    import_lad2000,
    load_label_pickle,
    read_lad2000,
)
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore

# name: (split, class, T snippets, n_frames, anomalous frames [start, end))
VIDEOS = {
    "v_Crash_a_001": ("train", "Crash", 6, 96, (20, 50)),
    "v_Fire_n_002": ("train", "Fire", 4, 70, None),
    "v_Violence_a_003": ("test", "Violence", 5, 80, (0, 16)),
    "v_Crash_n_004": ("test", "Crash", 3, 48, None),
}
DIMS = {"rgb": 8, "flow": 8, "combine": 16}


def frame_labels(name: str) -> np.ndarray:
    _, _, _, n, span = VIDEOS[name]
    lab = np.zeros((1, n))  # (1, n_frames) float64, as scipy's loadmat gives it
    if span:
        lab[0, span[0] : span[1]] = 1
    return lab


def feature(name: str, modality: str) -> np.ndarray:
    T = VIDEOS[name][2]
    k = list(VIDEOS).index(name)
    return (np.arange(T * DIMS[modality], dtype=np.float32).reshape(T, -1) + 100 * k) / 7


def make_tree(root: Path, *, pickles: bool = True, mats: bool = True) -> Path:
    for split in ("train", "test"):
        names = [n for n, v in VIDEOS.items() if v[0] == split]
        (root / f"{split}_split.txt").parent.mkdir(parents=True, exist_ok=True)
        (root / f"{split}_split.txt").write_text("".join(f"{n}\n" for n in names))
    for name in VIDEOS:
        for mod in DIMS:
            d = root / "features_video" / "i3d" / mod / name
            d.mkdir(parents=True)
            np.save(d / "feature.npy", feature(name, mod))
    gt = root / "GT"
    gt.mkdir()
    if pickles:
        with open(gt / "frame_label_IET.pickle", "wb") as fh:
            pickle.dump({n: frame_labels(n) for n in VIDEOS}, fh)
        with open(gt / "video_label_IET.pickle", "wb") as fh:
            pickle.dump({n: LAD2000_CLASSES[v[1]] for n, v in VIDEOS.items()}, fh)
    if mats:
        for name, v in VIDEOS.items():
            d = gt / "GT_mat" / v[1]
            d.mkdir(parents=True, exist_ok=True)
            savemat(d / (name.replace("v_", "gt_", 1) + ".mat"), {"gt": frame_labels(name)})
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("lad") / "LAD2000")


def test_class_index_matches_published_file(shared_data):
    published = json.loads((shared_data / "lad2000" / "class_index.json").read_text())
    assert published == LAD2000_CLASSES


@pytest.mark.parametrize("modality", ["rgb", "combine"])
def test_import_with_pickles(tree, tmp_path, modality):
    store = import_lad2000(tree, tmp_path / "s", modality=modality)
    assert store.ids == list(VIDEOS)
    assert store.info.dim == DIMS[modality] and store.info.crops == 1
    assert store.info.extra["class_index"] == LAD2000_CLASSES
    assert store.info.extra["modality"] == modality
    for name, (split, cls, T, n, span) in VIDEOS.items():
        e = store.entry(name)
        assert (e.split, e.cls, e.T, e.n_frames, e.label) == (split, cls, T, n, int(bool(span)))
        np.testing.assert_array_equal(store.load(name), feature(name, modality)[:, None, :])


def test_mat_files_alone_give_the_same_store(tmp_path):
    root = make_tree(tmp_path / "LAD2000", pickles=False)
    a = import_lad2000(root, tmp_path / "a")
    assert [(e.id, e.label, e.cls, e.n_frames) for e in a.entries] == [
        (n, int(bool(v[4])), v[1], v[3]) for n, v in VIDEOS.items()
    ]


def test_ground_truth(tree):
    gt = read_lad2000(tree)
    assert set(gt.ids) == set(VIDEOS)
    lab = gt.labels_for("v_Crash_a_001")
    assert lab.shape == (96,) and lab[20:50].all() and lab.sum() == 30
    assert gt.video_label("v_Fire_n_002") == 0 and gt.true_length("v_Fire_n_002") == 70
    assert gt.classes == {
        "v_Crash_a_001": "Crash",
        "v_Fire_n_002": "Normal",
        "v_Violence_a_003": "Violence",
        "v_Crash_n_004": "Normal",
    }


def test_cli(tree, tmp_path, capsys):
    rc = main(
        ["import", "lad2000", "--root", str(tree), "--modality", "flow", "-o", str(tmp_path / "s")]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "4 videos" in out and "train 2 (1 anomalous, 1 normal)" in out
    assert FeatureStore.open(tmp_path / "s").info.dim == 8


def test_cli_error_is_one_line(tmp_path, capsys):
    rc = main(["import", "lad2000", "--root", str(tmp_path / "nowhere"), "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "train_split.txt" in err


def _copy(tree: Path, tmp_path: Path) -> Path:
    root = tmp_path / "LAD2000"
    shutil.copytree(tree, root)
    return root


def test_errors_name_the_missing_file(tree, tmp_path):
    root = _copy(tree, tmp_path)
    os.remove(root / "test_split.txt")
    with pytest.raises(VadkitError, match="split file not found: .*test_split.txt"):
        import_lad2000(root, tmp_path / "s")
    root = _copy(tree, tmp_path / "b")
    os.remove(root / "features_video/i3d/rgb/v_Crash_n_004/feature.npy")
    with pytest.raises(VadkitError, match=r"test_split.txt:2: .*v_Crash_n_004.*feature.npy"):
        import_lad2000(root, tmp_path / "s")
    assert not (tmp_path / "s").exists()  # nothing written before the plan was checked


def test_video_without_label(tree, tmp_path):
    root = _copy(tree, tmp_path)
    labels = load_label_pickle(root / "GT/frame_label_IET.pickle")
    del labels["v_Fire_n_002"]
    with open(root / "GT/frame_label_IET.pickle", "wb") as fh:
        pickle.dump(labels, fh)
    with pytest.raises(VadkitError, match="train_split.txt:2: video 'v_Fire_n_002' has no frame"):
        import_lad2000(root, tmp_path / "s")
    classes = load_label_pickle(root / "GT/video_label_IET.pickle")
    del classes["v_Crash_n_004"]
    with open(root / "GT/video_label_IET.pickle", "wb") as fh:
        pickle.dump(classes, fh)
    with pytest.raises(VadkitError, match="'v_Crash_n_004' has no class"):
        import_lad2000(root, tmp_path / "s", splits=("test",))
    for name in ("frame", "video"):  # labels and classes now from the .mat files
        os.remove(root / f"GT/{name}_label_IET.pickle")
    os.rename(root / "GT/GT_mat/Fire", root / "GT/GT_mat/unsorted")
    with pytest.raises(VadkitError, match="'v_Fire_n_002' has no class: .*<Class> folder"):
        import_lad2000(root, tmp_path / "s", splits=("train",))
    shutil.rmtree(root / "GT")
    with pytest.raises(VadkitError, match="frame_label_IET.pickle nor any .mat"):
        read_lad2000(root)


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler(tmp_path, protocol):
    data = {"v": np.arange(3.0).reshape(1, 3), "c": np.int64(4), "l": [1, "x"]}
    (tmp_path / "ok.pickle").write_bytes(pickle.dumps(data, protocol=protocol))
    back = load_label_pickle(tmp_path / "ok.pickle")
    np.testing.assert_array_equal(back["v"], data["v"])
    assert back["c"] == 4 and back["l"] == [1, "x"]
    (tmp_path / "bad.pickle").write_bytes(pickle.dumps({"v": _Evil()}, protocol=protocol))
    with pytest.raises(VadkitError, match="getcwd is not allowed"):
        load_label_pickle(tmp_path / "bad.pickle")


def test_all_or_nothing_a_bad_file_late_in_the_plan(tree, tmp_path):
    """A bad feature file of the last listed video: nothing lands, an existing store is kept."""
    root = _copy(tree, tmp_path)
    good = import_lad2000(root, tmp_path / "s", splits=("train",))
    before = (tmp_path / "s" / "manifest.json").read_bytes()
    bad = root / "features_video/i3d/rgb/v_Crash_n_004/feature.npy"
    np.save(bad, np.full((3, 8), np.nan, np.float32))
    with pytest.raises(VadkitError, match="v_Crash_n_004"):
        import_lad2000(root, tmp_path / "s", overwrite=True)
    assert (tmp_path / "s" / "manifest.json").read_bytes() == before
    assert FeatureStore.open(tmp_path / "s").ids == good.ids == ["v_Crash_a_001", "v_Fire_n_002"]
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.startswith(".import-")]
    with pytest.raises(VadkitError, match="v_Crash_n_004"):
        import_lad2000(root, tmp_path / "new")
    assert not (tmp_path / "new" / "manifest.json").exists()


def test_mat_without_gt_key_names_the_file(tmp_path):
    root = make_tree(tmp_path / "LAD2000", pickles=False)
    mat = root / "GT/GT_mat/Fire/gt_Fire_n_002.mat"
    savemat(mat, {"label": frame_labels("v_Fire_n_002")})
    with pytest.raises(VadkitError, match=r"gt_Fire_n_002.mat: no key 'gt'"):
        import_lad2000(root, tmp_path / "s")


def test_import_then_train_and_evaluate_aed_t(tree, tmp_path, capsys):
    """The LAD2000 path end to end: import, `vadkit train` (frame labels from the LAD2000 root
    through --dataset lad2000), `vadkit evaluate RUN_DIR` with class metrics."""
    store = tmp_path / "s"
    assert main(["import", "lad2000", "--root", str(tree), "-o", str(store)]) == 0
    cfg = Path(__file__).resolve().parents[1] / "configs" / "aed_t" / "lad2000.yaml"
    small = ["model.feature_dim=8", "model.hidden_channels=4", "model.fc_down=8"]
    small += ["model.head_hidden=8", "train.iterations=3", "train.batch_per_class=2"]
    args = ["train", "--config", str(cfg), "--train", str(store), "--train-split", "train"]
    args += ["--test", str(store), "--test-split", "test", "--annotations", str(tree)]
    args += ["--selection", "last", "-o", str(tmp_path / "run")]
    for s in small:
        args += ["--set", s]
    assert main(args) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["dataset"] == "lad2000" and m["n_test"] == 2 and m["labelled_videos"] == 2
    assert m["labelled_frames"] == 96 + 70
    assert np.array(m["test"]["confusion_matrix"]).shape == (14, 14)
    assert sum(map(sum, m["test"]["confusion_matrix"])) == 2
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "class_accuracy" in out and "frame_auc" in out
