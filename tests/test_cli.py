"""The command line: every command is listed, has an example, and imports cleanly."""

from __future__ import annotations

import click
import pytest

from vadkit.cli.main import COMMANDS, LazyGroup, cli, main


def test_help_lists_every_command_with_examples(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert "Examples:" in out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_help_has_an_example(name, capsys):
    command = LazyGroup.get_command(cli, click.Context(cli), name)
    assert command is not None
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out or all(
        "Example" in (sub.help or "") + (sub.epilog or "")
        for sub in getattr(command, "commands", {}).values()
    )


def test_usage_errors_are_one_line(capsys):
    assert main(["nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vadkit: error:") and "No such command" in err and err.count("\n") == 1
    assert main(["extract", "-b", "x"]) == 2
    err = capsys.readouterr().err
    assert "Missing option" in err and "vadkit extract --help" in err and err.count("\n") == 1


def test_probe_frame_folder_and_bad_files(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    (tmp_path / "clip").mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(tmp_path / "clip" / f"{i:03d}.png")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    assert main(["probe", str(tmp_path)]) == 3
    out = capsys.readouterr().out
    assert "clip" in out and " 3 " in out and "10x8" in out
    assert "broken" in out and "failed:" in out


def test_synth_and_probe(tmp_path, capsys):
    assert (
        main(["synth", "--out", str(tmp_path), "--train", "1", "--test", "2", "--frames", "40"])
        == 0
    )
    assert "3 videos (1 anomalous)" in capsys.readouterr().out
    assert main(["probe", str(tmp_path / "videos.csv")]) == 0
    out = capsys.readouterr().out
    assert "test_002" in out and "40" in out and "25.00" in out
