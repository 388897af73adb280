"""Every ``vadkit`` command written in a code block of README.md or docs/ parses with the real CLI.

A renamed option or subcommand breaks a documented command silently; here each one goes
through the click parser of ``vadkit`` (no command runs: most need data a user downloads).
The README's one-at-a-time quick-start steps also *run* on the quick start's own data in
tests/test_demo.py, and the one-class steps run below on the same kind of data.
"""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from vadkit.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _commands(path: Path) -> list[tuple[int, str]]:
    """``(line number, command)`` of the ``vadkit`` lines in fenced blocks (``$`` prompts and
    ``\\`` continuations handled; output lines ignored)."""
    out: list[tuple[int, str]] = []
    fenced, pending, start = False, "", 0
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced, pending = not fenced, ""
            continue
        if not fenced:
            continue
        text = line.strip()
        if pending:
            pending += " " + text.rstrip("\\").strip()
        elif text.startswith(("vadkit ", "$ vadkit ")):
            pending, start = text.removeprefix("$ ").rstrip("\\").strip(), i
        else:
            continue
        if not text.endswith("\\"):
            out.append((start, pending.split(" # ")[0].split(" && ")[0].split(" | ")[0]))
            pending = ""
    return out


CASES = [(f"{p.relative_to(ROOT)}:{n}", c) for p in FILES for n, c in _commands(p)]


def test_the_docs_hold_commands():
    assert len(CASES) > 40  # a broken extractor would make every test below vacuous
    assert {c.split()[1] for _, c in CASES} >= {"extract", "train", "predict", "fit-scene"}


def _parse(argv: list[str]) -> None:
    ctx = cli.make_context("vadkit", list(argv), resilient_parsing=False)
    cmd: click.Command = cli
    while isinstance(cmd, click.Group):
        with warnings.catch_warnings():  # click 8.2 deprecates protected_args; 9.0 folds it
            warnings.simplefilter("ignore", DeprecationWarning)
            args = [*ctx.protected_args, *ctx.args]
        if not args:
            return
        name, rest = args[0], args[1:]
        sub = cmd.get_command(ctx, name)
        assert sub is not None, f"no command {name!r}"
        cmd, ctx = sub, sub.make_context(name, rest, parent=ctx, resilient_parsing=False)


def test_the_checker_rejects_a_wrong_command():
    with pytest.raises(click.UsageError):
        _parse(["predict", "x.mp4", "--model", "runs/a", "--no-such-option"])
    with pytest.raises(AssertionError, match="no command"):
        _parse(["no-such-command"])
    with pytest.raises(click.UsageError):
        _parse(["benchmark", "ucsd"])  # --data is required


@pytest.mark.parametrize(("where", "command"), CASES, ids=[w for w, _ in CASES])
def test_documented_command_parses(where: str, command: str):
    argv = shlex.split(command)[1:]
    try:
        _parse(argv)
    except click.exceptions.Exit:  # --help and the like
        pass
    except click.UsageError as exc:
        pytest.fail(f"{where}: `{command}` does not parse: {exc.format_message()}")


def test_one_class_quick_start_steps_run(tmp_path, monkeypatch, capsys):
    """README: `vadkit fit-scene data/demo/videos.csv ...` then `vadkit predict ...`, on a
    smaller `vadkit synth` scene of the same kind."""
    from vadkit.cli.main import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    steps = [
        shlex.split(c)[1:] for c in re.findall(r"`(vadkit (?:fit-scene|predict) [^`]+)`", readme)
    ]
    fit = next(s for s in steps if s[0] == "fit-scene")
    pred = next(s for s in steps if s[0] == "predict" and "runs/scene-demo" in s)
    monkeypatch.chdir(tmp_path)
    synth = ["synth", "--out", "data/demo", "--scene", "walkers", "--train", "4", "--test", "4",
             "--frames", "48", "--abnormal-train", "0"]  # fmt: skip
    assert main(synth) == 0
    assert main(fit + ["--workers", "1"]) in (0, None)
    video = pred[1]
    if not Path(video).exists():  # the README's video id at this smaller size
        video = str(sorted(Path("data/demo/videos").glob("test_*.mp4"))[-1])
    assert main([pred[0], video, *pred[2:]]) in (0, None)
    out = capsys.readouterr().out
    assert "fitting the scene detector on 4 normal videos" in out
    assert (tmp_path / "pred" / "summary.json").is_file()
