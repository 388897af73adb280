"""Atomic file writes: a file either has its final name and full content, or does not exist.

Each writer creates a temporary file in the destination's directory (so the final
``os.replace`` is a same-filesystem rename), writes, flushes, fsyncs, then renames.
On any failure the temporary file is removed and the previous file, if any, is left as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from vadkit.errors import VadkitError

__all__ = [
    "atomic_save_npy",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_writable_dir",
    "check_writable_file",
]


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, not per write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(fh)`` on a temporary binary file, then move it to ``path``.

    Parameters
    ----------
    path : destination; its parent directory must exist.
    write : writes the whole content to the open binary file handle it is given.

    Returns
    -------
    Path : the destination path.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise VadkitError(f"cannot write {path}: directory {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(parent)
    return path


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not supported on every platform/filesystem.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """Serialise ``obj`` as JSON (UTF-8, trailing newline) and write it atomically.

    The object is serialised before anything touches the disk, so an unserialisable
    object leaves no file behind.
    """
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Save ``array`` in ``.npy`` format to exactly ``path`` (no suffix added), atomically.

    Object arrays are refused: they would need pickling, which the stores never use.
    """
    array = np.asanyarray(array)
    if array.dtype.hasobject:
        raise VadkitError(
            f"cannot save {path}: object arrays are not supported (dtype {array.dtype})"
        )

    def write(fh: IO[bytes]) -> None:
        np.save(fh, array, allow_pickle=False)

    return atomic_write(path, write)


def check_writable_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Fail early, in one line, when ``path`` cannot be a folder this process writes into.

    ``path`` may not exist yet: then its nearest existing ancestor must be a writable folder
    (it is created later). Checked by creating and removing a temporary file, which also
    catches read-only mounts and permission rules that ``os.access`` misses.

    Parameters
    ----------
    path : the folder that will be written.
    what : what it is, for the message (``"store"``, ``"run folder"``).

    Returns
    -------
    Path : ``path``.
    """
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():  # dangling link: mkdir through it would fail
            raise VadkitError(f"{what} {path}: {probe} is a broken symbolic link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        where = "" if probe == path else f" ({probe} is a file)"
        raise VadkitError(f"{what} {path} is not a folder{where}; choose another path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vadkit-write-check.", dir=probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise VadkitError(
            f"{what} {path} cannot be written ({probe}: {reason}); "
            "choose another path or fix its permissions"
        ) from None
    os.close(fd)
    os.unlink(tmp)
    return path


def check_writable_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Fail early, in one line, when the file ``path`` cannot be (re)written atomically.

    The file is written by :func:`atomic_write` (a temporary file in its folder, then a rename),
    so what matters is that ``path`` is not a folder and that its folder is writable.
    """
    path = Path(path)
    if path.is_dir():
        raise VadkitError(f"{what} {path} is a folder, not a file; choose a file name")
    parent = path.parent if str(path.parent) else Path(".")
    check_writable_dir(parent, f"folder of {what} {path}:")
    return path
