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


def test_help_says_what_the_commands_do_today(capsys):
    assert main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # undo click's line wrapping
    # `vadkit predict` gives the events the tagline promises
    assert "from raw video to scores, metrics and events" in out and "predict" in out
    assert "weakly- or fully-supervised" in out  # train runs full supervision too (aed_t)
    assert "(ucsd, weak, supervision)" in out  # the three protocols cmd_benchmark registers


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
    captured = capsys.readouterr()
    assert "clip" in captured.out and " 3 " in captured.out and "10x8" in captured.out
    assert "broken" in captured.err and "failed:" in captured.err  # failures go to stderr
    assert "broken" not in captured.out


def test_probe_finds_a_corrupt_jpeg_in_a_frame_folder(tmp_path, capsys):
    """Defect: probe read only the first image and reported a damaged folder as fine."""
    from helpers_media import write_frame_folder

    paths = write_frame_folder(tmp_path / "clip", 5)
    data = paths[3].read_bytes()
    paths[3].write_bytes(data[: len(data) // 3])  # a JPEG cut short
    assert main(["probe", str(tmp_path / "clip")]) == 3
    captured = capsys.readouterr()
    assert "failed:" in captured.err and "003.jpg" in captured.err
    assert "failed" not in captured.out


def test_broken_pipe_exits_quietly(tmp_path):
    """Defect: `vadkit ... | head` ended with exit code 1 and a traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "vadkit.cli", "backbones"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_synth_and_probe(tmp_path, capsys):
    assert (
        main(["synth", "--out", str(tmp_path), "--train", "1", "--test", "2", "--frames", "40"])
        == 0
    )
    assert "3 videos (1 anomalous)" in capsys.readouterr().out
    assert main(["probe", str(tmp_path / "videos.csv")]) == 0
    out = capsys.readouterr().out
    assert "test_002" in out and "40" in out and "25.00" in out


def _warning_command():
    import warnings

    @click.command()
    def noisy() -> None:
        for _ in range(3):
            warnings.warn(
                "video v1 is shorter than 32 segments;\n  padded", UserWarning, stacklevel=1
            )
        warnings.warn("old keyword", DeprecationWarning, stacklevel=1)
        warnings.warn("Intel OpenMP and LLVM OpenMP are both loaded", RuntimeWarning, stacklevel=1)

    return noisy


def test_cli_says_each_warning_once_on_one_line(monkeypatch, capsys):
    import sys
    import types
    import warnings

    from vadkit.cli import main as cli_main

    mod = types.ModuleType("vadkit_test_noisy")
    mod.noisy = _warning_command()
    monkeypatch.setitem(sys.modules, "vadkit_test_noisy", mod)
    monkeypatch.setitem(cli_main.COMMANDS, "noisy", ("vadkit_test_noisy:noisy", "warns"))
    with warnings.catch_warnings():  # main() installs its filters; keep them out of other tests
        assert cli_main.main(["noisy"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["vadkit: warning: video v1 is shorter than 32 segments; padded"]
