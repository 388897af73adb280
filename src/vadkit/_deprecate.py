"""Old keyword names kept working for a while, with a DeprecationWarning."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from vadkit.errors import VadkitError

__all__ = ["renamed_kwargs"]

F = TypeVar("F", bound=Callable[..., Any])


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Accept old keyword names (``old="new"``): they warn and are passed on as the new name.

    >>> @renamed_kwargs(snippet_len="snippet_length")
    ... def f(snippet_length=16):
    ...     return snippet_length
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     f(snippet_len=8)
    8
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise VadkitError(f"{fn.__name__}: pass {new}= only ({old}= is its old name)")
                warnings.warn(
                    f"{fn.__name__}: {old}= is deprecated, use {new}=",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
