"""The quick start's own data: configs/mil/demo.yaml is the demo's MIL, and the README's
one-at-a-time commands run as written (smaller counts) in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from helpers_demo import readme_steps, readme_synth_extract

from vadkit.cli.main import main
from vadkit.demo.run import MIL_MODEL, MIL_TRAIN

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_demo_config_is_what_the_demo_trains():
    cfg = yaml.safe_load((ROOT / "configs/mil/demo.yaml").read_text())
    assert cfg["method"] == "mil" and cfg["model"] == MIL_MODEL
    assert {k: cfg["train"][k] for k in MIL_TRAIN} == MIL_TRAIN


@pytest.mark.slow  # the shared demo_features fixture: EfficientNet-Lite0 on 18 videos
def test_readme_steps_run_as_written(demo_features, tmp_path, monkeypatch, capsys):
    steps = readme_steps()
    names = [s[0] for s in steps]
    assert names == ["synth", "extract", "train", "evaluate", "report"], names
    # synth (smaller counts) and extract ran as written in demo_features; the rest run here
    synth, extract = readme_synth_extract()
    assert extract == steps[1] and len(synth) == len(steps[0])
    assert [a for a, b in zip(synth, steps[0], strict=True) if a != b] == ["8", "6", "4", "40"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    (tmp_path / "data").symlink_to(demo_features / "data")
    # a copy: training writes its pooled-feature cache into the store
    shutil.copytree(demo_features / "stores", tmp_path / "stores", symlinks=True)
    for argv in steps[2:]:
        assert main(argv) == 0, argv
    out = capsys.readouterr().out
    assert "frame_auc" in out or "AUC" in out
    assert (tmp_path / "runs/mil-demo/metrics.json").is_file()
    assert (tmp_path / "report.html").stat().st_size > 1000
