"""What can go wrong at the door to NCBI: the errors callers see and the answers not to use."""

from __future__ import annotations

from ..errors import NCBIError


class EntrezError(NCBIError):
    """An E-utilities step failed for good; the message is one line, without secrets.

    `resumable` says whether running the same command again later may get further (NCBI was
    busy or failing) or cannot until something is fixed (no network, a redirect, a bad cache).
    """

    resumable = True

    def __init__(self, message: str, *, resumable: bool | None = None):
        super().__init__(message)
        if resumable is not None:
            self.resumable = resumable


class NotCachedError(EntrezError):
    """Offline mode and the answer is not in the cache."""


class UnreachableError(EntrezError):
    """No attempt reached the E-utilities host at all (name lookup, refused, connect timeout)."""

    resumable = False


class AnswerTooLargeError(EntrezError):
    """An answer larger than max_answer_bytes (on the wire or decompressed)."""

    resumable = False


class BadAnswer(ValueError):
    """An answer that arrived but must not be used (HTML page, truncated XML, wrong line count)."""


class IncompleteAnswer(BadAnswer):
    """A well-formed answer that lacks some of what was asked; usable once a retry agrees."""

    def __init__(self, message: str, value: object, missing: frozenset[str]):
        super().__init__(message)
        self.value = value
        self.missing = missing
