"""The one exception type for errors a user can cause."""

from __future__ import annotations


class VadkitError(Exception):
    """A user-caused error: bad input, missing file, wrong shape, unknown video.

    The message is one line that says what went wrong and where (path or video id),
    and, when it helps, what was expected and what to do. The CLI prints it and
    exits non-zero; any other exception is a bug.
    """
