"""``vadkit train`` and ``vadkit.train.rundir.evaluate_run`` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import TINY, make_stores, one_thread, register_tiny

from vadkit.cli.main import main
from vadkit.methods.registry import unregister_method
from vadkit.train import evaluate_run, read_config, read_metrics
from vadkit.train.rundir import format_run_results

single_thread = pytest.fixture(scope="module", autouse=True)(one_thread)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    return make_stores(tmp_path_factory.mktemp("gen"), n_train=16, n_test=6)


@pytest.fixture()
def setup(monkeypatch, stores, tmp_path):
    register_tiny()
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        f"method: {TINY}\ndataset: csv\nmodel:\n  batch_per_class: 4\n  iterations: 20\n"
        "train:\n  val_every: 10\n"
    )
    args = [
        "train",
        "--config",
        str(cfg),
        "--train",
        str(stores["train"]),
        "--test",
        str(stores["test"]),
        "--annotations",
        str(stores["gt"]),
    ]
    yield cfg, args
    unregister_method(TINY)


def test_train_command_writes_a_run_and_takes_overrides(setup, tmp_path, capsys):
    _, args = setup
    out = tmp_path / "run"
    assert (
        main(
            [
                *args,
                "-o",
                str(out),
                "--seed",
                "4",
                "--set",
                "train.iterations=12",
                "--set",
                "model.lr=5e-3",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "test frame AUC" in text and f"wrote {out}" in text
    cfg = read_config(out)
    assert cfg["train"]["iterations"] == 12 and cfg["train"]["seed"] == 4
    assert cfg["model"]["lr"] == 0.005 and cfg["dataset"] == "csv"
    assert Path(cfg["data"]["train"]).is_absolute()
    metrics = read_metrics(out)
    assert metrics["steps_run"] == 12
    # evaluate RUN_DIR: the same numbers from the run directory alone
    again = evaluate_run(out)
    assert again["frame_auc"] == metrics["test"]["frame_auc"]
    assert again["selection"] == "validation" and "oracle" not in again


def test_evaluate_run_of_an_oracle_run_says_oracle(setup, tmp_path, capsys):
    _, args = setup
    out = tmp_path / "o"
    assert main([*args, "-o", str(out), "--selection", "oracle"]) == 0
    assert "ORACLE" in capsys.readouterr().out
    res = evaluate_run(out)
    assert res["selection"] == "oracle" and "oracle" in res["oracle"]
    table = format_run_results(res)
    assert table.splitlines()[0].startswith(f"run {out} ({TINY}, selection: ORACLE")
    assert "frame_auc" in table


def test_help_lists_the_methods(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Methods: mil, rtfm, s3r, anm, tacnet" in out and "--selection" in out


def _one_line_error(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vadkit: error:") and err.count("\n") == 1, err
    return err


def test_user_errors(setup, tmp_path, capsys, stores):
    cfg, args = setup
    err = _one_line_error([*args, "-o", str(tmp_path / "r"), "--set", "model.nope=1"], capsys)
    assert "unknown key 'nope'" in err and "feature_dim" in err
    err = _one_line_error([*args, "-o", str(tmp_path / "r"), "--set", "model.lrr=1"], capsys)
    assert "--set model.lrr=1: unknown key 'lrr'; did you mean lr?" in err, err
    err = _one_line_error([*args, "-o", str(tmp_path / "r"), "--set", "nope.x=1"], capsys)
    assert "unknown key 'nope'" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"method: {TINY}\nmodle: {{}}\n")
    err = _one_line_error(["train", "--config", str(bad), "-o", str(tmp_path / "r")], capsys)
    assert "unknown key 'modle'" in err and "model" in err
    bad.write_text("method: nosuch\n")
    err = _one_line_error(["train", "--config", str(bad), "-o", str(tmp_path / "r")], capsys)
    assert "unknown method 'nosuch'" in err and "rtfm" in err
    err = _one_line_error(
        [*args[:4], str(tmp_path / "none"), *args[5:], "-o", str(tmp_path / "r")], capsys
    )
    assert "--train" in err and "does not exist" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    err = _one_line_error([*args, "-o", str(blocker / "run")], capsys)
    assert "cannot create run directory" in err
    err = _one_line_error(
        [*args, "-o", str(tmp_path / "r"), "--set", "model.batch_per_class=9"], capsys
    )
    assert "normal videos, at least 9 needed" in err
    err = _one_line_error([*args, "-o", str(tmp_path / "r"), "--device", "cuda:3"], capsys)
    assert "--device cuda:3" in err
    assert not (tmp_path / "r").exists()


def test_vadkit_evaluate_run_dir_cli(setup, tmp_path, capsys):
    _, args = setup
    out = tmp_path / "run"
    assert main([*args, "-o", str(out), "--seed", "2"]) == 0
    trained = read_metrics(out)["test"]["frame_auc"]
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    import json

    written = json.loads((out / "evaluation.json").read_text())
    assert written["frame_auc"] == trained and "selection: validation" in text
    # the training's own metrics.json is untouched; a second evaluation needs --overwrite
    assert read_metrics(out)["test"]["frame_auc"] == trained
    assert main(["evaluate", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2  # not a run directory: one line
