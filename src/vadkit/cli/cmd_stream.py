"""``vadkit predict --stream``: event lines as they happen, then a summary line.

Exit codes: 0 when the source ended (a file) or ``--max-seconds`` passed, 3 when it stalled,
dropped or could not be opened and the reconnects ran out (the summary's ``stopped`` says
which), 130 on Ctrl-C.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["run_stream"]


def _exit_code(stopped: str) -> int:
    if stopped == "ended" or stopped.startswith("max-seconds"):
        return 0
    return 130 if stopped.startswith("interrupted") else 3


def run_stream(model: Any, source: str, encoder: Any, out: Path | None, **kw: Any) -> None:
    """Print each event line (and stats) as JSON; ``OUT/events.jsonl`` gets the same lines.

    The file is appended and flushed line by line, not written atomically: it is a live log
    that another program may follow while the stream runs.
    """
    from vadkit.deploy.stream import predict_stream

    log = None
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        log = (Path(out) / "events.jsonl").open("w", encoding="utf-8")

    def line(doc: dict[str, Any]) -> None:
        text = json.dumps(doc)
        click.echo(text)
        if log is not None:
            log.write(text + "\n")
            log.flush()

    click.echo(f"reading {source} (stall timeout {kw['stall_timeout']:g} s, "
               f"{kw['reconnect']} reconnects)", err=True)  # fmt: skip
    summary: dict[str, Any] = {}
    updates = predict_stream(model, source, encoder=encoder, **kw)
    try:
        for update in updates:
            for ev in update.events:
                line(ev.to_dict())
            if update.stats:
                line(update.stats)
            if update.summary:
                summary = update.summary
    except KeyboardInterrupt:  # Ctrl-C while a line was printed: stop the reader cleanly
        updates.close()
        summary = {"type": "summary", "stopped": "interrupted (Ctrl-C)"}
    finally:
        if summary:
            line(summary)
        if log is not None:
            log.close()
    stopped = str(summary.get("stopped", "interrupted"))
    click.echo(f"stopped: {stopped}; {summary.get('frames', 0)} frames", err=True)
    code = _exit_code(stopped)
    if code:
        raise click.exceptions.Exit(code)
