"""Small helpers several modules share: a sequence in batches, and messages on one line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, cast

S = TypeVar("S", bound=Sequence[Any])


def chunked(items: S, size: int) -> Iterator[S]:
    """`items` in consecutive slices of `size` (at least 1); the last may be shorter."""
    step = max(1, size)
    for start in range(0, len(items), step):
        yield cast(S, items[start : start + step])


def first_line(err: BaseException) -> str:
    """The first non-blank line of an error's message, or its type's name when it has none
    (drivers append SQL, help links and tracebacks below the line that says what happened)."""
    text = str(err)
    return next((s.strip() for s in text.splitlines() if s.strip()), type(err).__name__)


def one_line(text: object, limit: int | None = 200) -> str:
    """The text with every run of white space as one space, cut to `limit` characters with "…"
    (None: not cut)."""
    flat = " ".join(str(text).split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 1] + "…"
