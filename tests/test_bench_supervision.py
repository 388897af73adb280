"""``vadkit benchmark supervision`` on a generated UCSD-layout dataset: one store, the same
splits and test videos for every level, labelling costs, the docs block."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers_ucsd import write_ucsd_layout
from train_helpers import one_thread

from vadkit.bench.ucsd_layout import find_ucsd_layout
from vadkit.bench.weak import make_splits
from vadkit.cli.main import main
from vadkit.train import read_config

single_thread = pytest.fixture(scope="module", autouse=True)(one_thread)


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return write_ucsd_layout(tmp_path_factory.mktemp("sup") / "mini", n_train=3, n_test=7, n=16)


def test_command_end_to_end(mini, tmp_path):
    out, docs = tmp_path / "run", tmp_path / "bench.md"
    docs.write_text("# Benchmarks\n\nkept text\n")
    args = ["benchmark", "supervision", "--data", str(mini), "--out", str(out)]
    args += ["--docs", str(docs), "--weak", "mil", "--splits", "2", "--iterations", "4"]
    args += ["--val-every", "2", "--full-iterations", "4", "--full-val-every", "2"]
    args += ["--full-batch", "2", "--random-init"]
    assert main(args) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [(r["level"], r["method"]) for r in doc["rows"]] == [
        ("one-class", "knn"),
        ("weak", "mil"),
        ("full", "aed_t"),
    ]
    # the splits are the weak benchmark's, seeded the same way
    lay = find_ucsd_layout(mini)
    want = make_splits(lay, 2, seed=0, fraction=0.5)
    assert [s["train"] for s in doc["splits"]] == [s.train for s in want]
    # every level scores exactly the split's test videos
    for k, split in enumerate(doc["splits"]):
        for name in ("mil", "aed_t"):
            scored = set(np.load(out / f"split{k}" / name / "run" / "scores.npz").files)
            assert scored == set(split["test"])
    # the full rows train with --full-batch windows per class and step, as the table says
    cfg = read_config(out / "split0" / "aed_t" / "run")
    assert cfg["train"]["batch_per_class"] == 2 and cfg["train"]["iterations"] == 4
    assert cfg["run"]["schedule"]["batch_abnormal"] == cfg["run"]["schedule"]["batch_normal"] == 2
    # labelling cost, hand-counted: 3 normal UCSD training videos; round(0.5 * 7) = 4 test
    # videos move with every frame annotated (16 frames each)
    cost = {r["method"]: (r["labelled_videos"]["mean"], r["labelled_frames"]["mean"])
            for r in doc["rows"]}  # fmt: skip
    assert cost == {"knn": (3, 0), "mil": (7, 0), "aed_t": (7, 4 * 16)}
    for r in doc["rows"]:
        xs = [run["micro_auc"] for run in r["runs"]]
        assert len(xs) == 2 and all(0 <= x <= 1 for x in xs)
        assert r["micro_auc"]["mean"] == pytest.approx(np.mean(xs))
        assert r["micro_auc"]["std"] == pytest.approx(np.std(xs, ddof=1))
    text = docs.read_text()
    assert "kept text" in text and text.count("benchmark:supervision:mini:") == 2
    assert "| full | aed_t |" in text and "| one-class | knn |" in text


def test_bad_method_names_are_one_line(mini, tmp_path, capsys):
    base = ["benchmark", "supervision", "--data", str(mini), "--out", str(tmp_path / "o")]
    assert main([*base, "--full", "mil"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'mil' is not a full method" in err
    assert main([*base, "--one-class", "rtfm"]) == 2
    assert "'rtfm' is not a one-class method" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["weak", "supervision", "ucsd"])
def test_a_docs_path_that_cannot_be_written_fails_before_any_work(mini, tmp_path, capsys, command):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    out = tmp_path / "o"
    args = ["benchmark", command, "--data", str(mini), "--out", str(out), "--docs", str(folder)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a folder, not a file" in err
    assert not out.exists()  # nothing extracted or trained first
