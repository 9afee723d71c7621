"""When to try again and how long to wait: retryable statuses, Retry-After, back-off, and
telling "never connected" from "connected, then cut off"."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

RETRY_STATUSES = {429, 500, 502, 503, 504}


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asks to wait (Retry-After in seconds or as a date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def backoff(attempt: int, retry_after: float | None, status: int | None, cap: float) -> float:
    """Seconds to wait before attempt + 1: doubling from 0.5 s with jitter, at least what the
    server asked for, at most `cap`."""
    delay = 0.5 * 2 ** (attempt - 1)
    delay = delay * (0.5 + random.random() / 2)  # jitter so parallel runs do not march in step
    if retry_after is not None:
        delay = max(delay, retry_after)
    elif status == 429:
        # NCBI's 429 often has no Retry-After; its window is one second, so wait at least
        # that, with jitter so that several processes do not come back together.
        delay = max(delay, 1.0 + random.random())
    return min(cap, delay)


def connect_failure(exc: requests.RequestException) -> str | None:
    """Why no connection was made at all, or None when one was (and then dropped)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    # urllib3's NewConnectionError is a ConnectTimeoutError too: test it first.
    if isinstance(reason, NameResolutionError):
        return "its name does not resolve"
    if isinstance(reason, NewConnectionError):
        if "refused" in str(reason).lower():
            return "the connection was refused"
        return "no connection could be made"
    if isinstance(reason, ConnectTimeoutError) or isinstance(exc, requests.ConnectTimeout):
        return "connecting timed out"
    return None
