"""Deterministic fault injection: which request fails, and how, depends only on seed + request."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

ALL_KINDS = ("429", "500", "502", "503", "html200", "truncated", "drop", "slow", "esearch_error")
ESEARCH_ONLY = frozenset({"esearch_error"})


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

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}; known: {ALL_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        object.__setattr__(self, "kinds", tuple(self.kinds))

    def kinds_for(self, endpoint: str) -> tuple[str, ...]:
        return tuple(k for k in self.kinds if k not in ESEARCH_ONLY or endpoint == "esearch.fcgi")

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
