"""The one door to NCBI: a cached, throttled, retrying E-utilities client that checks answers.

    errors     what callers catch (EntrezError and kinds) and answers not to use
    transport  size and time caps while an answer is read
    cache      the JSON HTTP cache: keys without secrets, only validated answers kept
    ratelimit  the request budget shared by every process using one cache folder
    retries    retryable statuses, Retry-After, back-off, unreachable hosts
    answers    ESearch, ECitMatch and EFetch answers checked before use and caching
    client     EntrezClient: the E-utilities calls, and the request loop that ties it together
"""

from __future__ import annotations

from .answers import EFetchAnswer, validate_efetch_answer
from .cache import CACHE_FILE, OLD_PICKLED_CACHE, cache_key, open_cache
from .client import EntrezClient, RequestStats
from .errors import (
    AnswerTooLargeError,
    BadAnswer,
    EntrezError,
    IncompleteAnswer,
    NotCachedError,
)

__all__ = [
    "CACHE_FILE",
    "OLD_PICKLED_CACHE",
    "AnswerTooLargeError",
    "BadAnswer",
    "EFetchAnswer",
    "EntrezClient",
    "EntrezError",
    "IncompleteAnswer",
    "NotCachedError",
    "RequestStats",
    "cache_key",
    "open_cache",
    "validate_efetch_answer",
]
