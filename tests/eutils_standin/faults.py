"""Deterministic fault injection: which request fails, and how, depends only on seed + request."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

# The kinds a plan draws from by default (kept as they were, so seeds give the same faults).
ALL_KINDS = ("429", "500", "502", "503", "html200", "truncated", "drop", "slow", "esearch_error")
# Kinds only drawn when a plan names them: hostile or rarer answers.
EXTRA_KINDS = ("429bare", "redirect", "oversize", "gzip_bomb", "trickle",
               "foreign_record", "duplicate_record", "swapped_pmids", "missing_record")
KNOWN_KINDS = ALL_KINDS + EXTRA_KINDS
ESEARCH_ONLY = frozenset({"esearch_error"})
EFETCH_ONLY = frozenset({"foreign_record", "duplicate_record", "swapped_pmids", "missing_record"})


@dataclass(frozen=True)
class FaultPlan:
    """Fail about `rate` of requests, each identical request at most max_failures_per_request times.

    The decision for the n-th attempt of a request comes from (seed, endpoint + sorted params,
    n), so two runs with the same seed and the same requests see the same faults, and a client
    that retries an identical request eventually gets through.
    """

    seed: int
    rate: float = 0.3
    kinds: tuple[str, ...] = ALL_KINDS
    max_failures_per_request: int = 2
    slow_seconds: float = 3.0
    # Only these endpoints get faults ("efetch.fcgi", ...); None: every endpoint.
    endpoints: tuple[str, ...] | None = None
    # redirect: the base URL the 307 points to (another server's url), query string kept.
    redirect_to: str | None = None
    # oversize: bytes streamed (chunked, no Content-Length) before the server stops.
    oversize_bytes: int = 64_000_000
    # gzip_bomb: decompressed size of the gzip body (about 1/1000 of it goes over the wire).
    bomb_bytes: int = 1_000_000_000
    # trickle: seconds between two bytes of the whole answer, status line and headers included.
    trickle_interval: float = 1.0

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KNOWN_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}; known: {KNOWN_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if "redirect" in self.kinds and not self.redirect_to:
            raise ValueError("the redirect fault needs redirect_to (a base URL)")
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if self.endpoints is not None:
            object.__setattr__(self, "endpoints", tuple(self.endpoints))

    def kinds_for(self, endpoint: str) -> tuple[str, ...]:
        if self.endpoints is not None and endpoint not in self.endpoints:
            return ()
        return tuple(k for k in self.kinds
                     if (k not in ESEARCH_ONLY or endpoint == "esearch.fcgi")
                     and (k not in EFETCH_ONLY or endpoint == "efetch.fcgi"))

    def rng(self, signature: str, attempt: int) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}\x00{signature}\x00{attempt}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def decide(self, endpoint: str, signature: str, attempt: int,
               failures_so_far: int) -> tuple[str | None, random.Random]:
        """(fault kind or None, the RNG that also picks e.g. where to truncate)."""
        rng = self.rng(signature, attempt)
        kinds = self.kinds_for(endpoint)
        if not kinds or failures_so_far >= self.max_failures_per_request:
            return None, rng
        if rng.random() >= self.rate:
            return None, rng
        return rng.choice(kinds), rng
