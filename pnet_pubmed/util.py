"""Small helpers several modules share: a sequence in batches, messages on one line, bulk work
without the cycle collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while the block runs, as it was after. Building a
    hundred thousand Citations (parsing, the parse cache, rows to store) creates millions of
    objects, and every few hundred of them start a collection that walks all live ones: most
    of the time goes there. What the block leaves as cyclic garbage is collected later."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
