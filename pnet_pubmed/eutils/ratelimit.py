"""NCBI's request budget, shared by every process that uses the same cache folder.

A SQLite file with a file lock (pyrate-limiter's SQLiteBucket) holds the sliding window, so
two runs side by side keep to 3 requests/s (10 with a key) together, as NCBI counts them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlsplit

import requests
from pyrate_limiter import Limiter, Rate, SQLiteBucket
from requests_cache import CacheMixin
from requests_ratelimiter import LimiterMixin
from requests_ratelimiter.buckets import HostBucketFactory

RATE_LIMIT_FILE = "rate_limit.sqlite"
WINDOW_MS = 1100

_LIMITERS: dict[tuple[float, str], list] = {}  # (rate, file) -> [limiter, clients using it]
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(rate: float, path: Path) -> Limiter:
    """One limiter per process, rate and file; the file (SQLite with a file lock) is what makes
    every process that uses the same cache folder share NCBI's budget."""
    key = (rate, str(path))
    with _LIMITERS_LOCK:
        if key not in _LIMITERS:
            # Whole requests per second as NCBI counts them, in a sliding window. NCBI counts
            # arrivals and the limiter departures, so the window is 1.1 s: 100 ms for the time
            # between taking a slot and reaching the server, which varies with the load.
            per = max(1, int(rate))
            factory = HostBucketFactory(
                rates=[Rate(per, WINDOW_MS)],
                bucket_class=SQLiteBucket,
                bucket_init_kwargs={"path": str(path), "use_file_lock": True},
            )
            _LIMITERS[key] = [Limiter(factory, buffer_ms=50), 0]
        entry = _LIMITERS[key]
        entry[1] += 1
        return entry[0]


def release_limiter(limiter: Limiter) -> None:
    """The last client of a limiter closes its file and stops its clean-up thread."""
    with _LIMITERS_LOCK:
        for key, entry in list(_LIMITERS.items()):
            if entry[0] is limiter:
                entry[1] -= 1
                if entry[1] <= 0:
                    del _LIMITERS[key]
                    limiter.bucket_factory.close()
                return


class CachedLimitedSession(CacheMixin, LimiterMixin, requests.Session):
    """Cache first, then the rate limiter: answers served from the cache cost no rate budget."""

    with_key = False

    def _bucket_name(self, request) -> str:
        # NCBI counts per API key, or per address without one; the URL's user information and
        # the key itself stay out of the limiter's file.
        split = urlsplit(request.url)
        return f"{split.hostname}:{split.port or ''}:{'key' if self.with_key else 'nokey'}"
