"""Reading the line-based text files of published releases (lists, annotations)."""

from __future__ import annotations

from pathlib import Path

from vadkit.errors import VadkitError


def read_lines(path: str | Path, what: str = "file") -> list[tuple[int, str]]:
    """Non-blank lines of a text file as ``(1-based line number, stripped text)``.

    Handles CRLF and LF endings (the RTFM UCF lists are CRLF), a UTF-8 BOM and a
    missing final newline (the ShanghaiTech split files have none). ``what`` names the
    file in error messages ("list file", "annotation file").
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise VadkitError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VadkitError(f"cannot read {what} {path}: {exc}") from exc
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
