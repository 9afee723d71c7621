"""The E-utilities client: ECitMatch, ESearch and EFetch through the cache, the shared rate
limit, retries and answer checks; nothing that identifies the user leaves in a cache key, a
stored request, a log line or an error message."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests
from pyrate_limiter import Limiter
from requests_cache.policy.expiration import get_expiration_datetime

from .. import logs
from ..config import Settings
from ..pubmed import PubmedRecords
from ..util import chunked
from ..values import Article
from .answers import (
    EFetchAnswer,
    norm_pmid,
    validate_ecitmatch,
    validate_efetch_answer,
    validate_esearch,
)
from .cache import CACHE_FILE, OLD_PICKLED_CACHE, cache_error, cache_options
from .errors import (
    AnswerTooLargeError,
    BadAnswer,
    EntrezError,
    IncompleteAnswer,
    NotCachedError,
    UnreachableError,
)
from .ratelimit import RATE_LIMIT_FILE, CachedLimitedSession, release_limiter, shared_limiter
from .retries import RETRY_STATUSES, backoff, connect_failure, retry_after
from .transport import LimitedAdapter, _TooLarge, _TooSlow, size_text

log = logging.getLogger(__name__)
T = TypeVar("T")

# URLs longer than this are refused by some proxies; ECitMatch batches stay below it.
MAX_ECITMATCH_URL = 6000
# A POSTed ECitMatch batch stays well below what any front end takes in a form body.
MAX_ECITMATCH_BODY = 64 * 1024


@dataclass
class RequestStats:
    """What a run cost: answers from the network and from the cache, retries, per endpoint."""

    sent: int = 0
    from_cache: int = 0
    retries: int = 0
    by_endpoint: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "requests_sent": self.sent,
            "from_cache": self.from_cache,
            "retries": self.retries,
            "by_endpoint": dict(self.by_endpoint),
            "failures": dict(self.failures),
        }


def _public_url(url: str) -> str:
    """A URL as it may be shown: no user information, no query, no fragment."""
    try:
        split = urlsplit(url)
        host = split.hostname or ""
        netloc = f"{host}:{split.port}" if split.port else host
        return urlunsplit((split.scheme, netloc, split.path, "", ""))
    except ValueError:
        return "an unreadable address"


class EntrezClient:
    """E-utilities calls that return validated answers; everything else about HTTP lives here."""

    _sleep = staticmethod(time.sleep)  # a seam for tests that must not wait

    def __init__(self, settings: Settings, stats: RequestStats | None = None):
        self.settings = settings
        self.stats = stats or RequestStats()
        # When NCBI gave the copy of each record efetch returned: now, or when a cached answer
        # was received. The store keeps it (articles.fetched_at) and never lets an older copy
        # replace a newer one.
        self.received_at: dict[str, datetime] = {}
        logs.install()
        for secret in (settings.api_key, settings.email):
            logs.register_secret(secret)
        logs.register_url(settings.eutils_url)
        split = urlsplit(settings.eutils_url)
        self._auth = None
        if split.username or split.password:
            # Credentials go in a header (masked in the cache), never in the URL that is cached,
            # logged and used to name the rate-limit bucket.
            self._auth = (unquote(split.username or ""), unquote(split.password or ""))
            host = split.hostname or ""
            netloc = f"{host}:{split.port}" if split.port else host
            self._base = urlunsplit((split.scheme, netloc, split.path, split.query, ""))
        else:
            self._base = settings.eutils_url
        self.host = urlsplit(self._base).netloc
        cache_dir = Path(settings.cache_dir)
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file of that name, no permission, a read-only disk
            why = ("it is not a folder" if cache_dir.exists() and not cache_dir.is_dir()
                   else (exc.strerror or type(exc).__name__).lower())
            raise EntrezError(f"the cache folder {cache_dir} cannot be used: {why}; give "
                              "another with --cache or PNET_PUBMED_CACHE",
                              resumable=False) from exc
        self.cache_path = cache_dir / CACHE_FILE
        if (cache_dir / OLD_PICKLED_CACHE).exists():
            log.info("%s is the pickled cache of an earlier version; it is not opened and may be "
                     "deleted", cache_dir / OLD_PICKLED_CACHE)
        limiter = shared_limiter(settings.rate, cache_dir / RATE_LIMIT_FILE)
        self._limiter: Limiter | None = limiter  # released once, by close()
        try:
            self.session = CachedLimitedSession(
                cache_name=str(self.cache_path),
                **cache_options(settings),
                limiter=limiter,
                per_host=True,
            )
        except sqlite3.Error as exc:
            release_limiter(limiter)
            raise cache_error(self.cache_path, exc) from None
        self.session.with_key = bool(settings.api_key)
        adapter = LimitedAdapter(settings.max_answer_bytes, settings.max_request_seconds)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"{settings.tool} (python-requests)"

    def close(self) -> None:
        self.session.close()
        if self._limiter is not None:
            release_limiter(self._limiter)
            self._limiter = None

    def __enter__(self) -> EntrezClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------------
    def _identity(self) -> dict[str, str]:
        params = {"tool": self.settings.tool}
        if self.settings.email:
            params["email"] = self.settings.email
        if self.settings.api_key:
            params["api_key"] = self.settings.api_key
        return params

    def _scrub(self, text: str) -> str:
        return logs.redact(text)

    def _send(self, method: str, url: str, payload: dict, headers,
              fresh: bool = False) -> requests.Response:
        kwargs = {
            "timeout": (self.settings.connect_timeout, self.settings.read_timeout),
            "headers": headers,
            "only_if_cached": self.settings.offline,
            # Past the cache to NCBI, through the same rate limit and validation; the new answer
            # replaces the cached one.
            "force_refresh": fresh,
            "allow_redirects": False,  # a redirect would carry the key and address elsewhere
            "auth": self._auth,
        }
        try:
            if method == "POST":
                return self.session.post(url, data=payload, **kwargs)
            return self.session.get(url, params=payload, **kwargs)
        except sqlite3.Error as exc:
            raise cache_error(self.cache_path, exc) from None

    def request(
        self,
        endpoint: str,
        params: dict[str, str],
        *,
        method: str = "GET",
        step: str | None = None,
        validate: Callable[[bytes], T],
        headers: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> tuple[requests.Response, T]:
        """One E-utilities request with retries: the response and its validated value.

        fresh: ask NCBI even when the cache has the answer (never with offline settings).
        """
        if fresh and self.settings.offline:
            raise NotCachedError(f"{step or endpoint}: offline, and a fresh answer was asked for")
        url = self._base + endpoint
        payload = {**params, **self._identity()}
        step = step or endpoint
        attempts = max(1, self.settings.max_attempts)
        last_problem = "no answer"
        unreachable = 0  # attempts that never got a connection
        incomplete: frozenset[str] | None = None  # what the previous attempt's answer lacked
        started = time.monotonic()
        for attempt in range(1, attempts + 1):
            sent_at = time.monotonic()
            try:
                response = self._send(method, url, payload, headers, fresh)
            except _TooLarge as exc:
                self.stats.failures["too_large"] += 1
                raise AnswerTooLargeError(self._scrub(
                    f"{step}: {exc} (setting max_answer_bytes); not used")) from None
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                why = connect_failure(exc)
                if why is not None:
                    unreachable += 1
                    last_problem = f"{why}"
                elif isinstance(exc, _TooSlow):
                    last_problem = str(exc)
                else:
                    last_problem = f"{type(exc).__name__}: no complete answer from {self.host}"
                self.stats.failures[type(exc).__name__] += 1
                self._retry(step, attempt, attempts, last_problem, None, None)
                continue
            except requests.RequestException as exc:
                raise EntrezError(self._scrub(f"{step}: request failed: {exc}")) from None
            from_cache = getattr(response, "from_cache", False)
            if self.settings.offline and response.status_code == 504:
                # requests-cache answers 504 Not Cached for only_if_cached misses.
                raise NotCachedError(f"{step}: offline and the answer is not in the cache")
            if from_cache:
                self.stats.from_cache += 1
            else:
                self.stats.sent += 1
                self.stats.by_endpoint[endpoint.split(".")[0]] += 1
            log.info("%s: %s %s: %s", step, method, endpoint,
                     "from the cache" if from_cache else
                     f"HTTP {response.status_code}, {size_text(len(response.content))}, "
                     f"{time.monotonic() - sent_at:.2f} s")
            if 300 <= response.status_code < 400:
                target = response.headers.get("Location")
                where = _public_url(requests.compat.urljoin(url, target)) if target else "nowhere"
                raise EntrezError(self._scrub(
                    f"{step}: NCBI answered with a redirect to {where} (HTTP "
                    f"{response.status_code}), which is not followed; check --eutils-url"),
                    resumable=False)
            if response.status_code in RETRY_STATUSES:
                last_problem = f"HTTP {response.status_code}"
                self.stats.failures[str(response.status_code)] += 1
                self._retry(step, attempt, attempts, last_problem, retry_after(response),
                            response.status_code)
                continue
            if response.status_code != 200:
                raise EntrezError(f"{step}: NCBI answered HTTP {response.status_code}")
            try:
                value = self._value(response, validate)
            except IncompleteAnswer as exc:
                if from_cache or exc.missing == incomplete:
                    # Cached only after a retry agreed, or two answers in a row lack the same
                    # records: NCBI has no record under those PMIDs (deleted, never existed).
                    log.info("%s: NCBI has no record for PMID %s", step,
                             ", ".join(sorted(exc.missing, key=norm_pmid)))
                    if not from_cache:
                        expires = get_expiration_datetime(self.settings.cache_expire_days * 86400)
                        self.session.cache.save_response(response, expires=expires)
                    return response, cast(T, exc.value)
                incomplete = exc.missing
                last_problem = str(exc)
                self.stats.failures["incomplete"] += 1
                self._retry(step, attempt, attempts, last_problem, None, None)
                continue
            except BadAnswer as exc:
                last_problem = str(exc)
                self.stats.failures["bad_answer"] += 1
                if from_cache:
                    # An answer cached by an older version that no longer validates: drop it.
                    self.session.cache.delete(requests=[response.request])
                self._retry(step, attempt, attempts, last_problem, None, None)
                continue
            return response, value
        seconds = time.monotonic() - started
        if unreachable == attempts:
            raise UnreachableError(self._scrub(
                f"{step}: cannot reach {self.host}: {last_problem} ({attempts} attempts in "
                f"{seconds:.0f} s); check the network connection, a proxy, or --eutils-url"))
        message = f"{step}: gave up after {attempts} attempts ({last_problem})"
        raise EntrezError(self._scrub(message))

    @staticmethod
    def _value(response: requests.Response, validate: Callable[[bytes], T]) -> T:
        if hasattr(response, "validated"):
            # Validated by the cache filter (answers.validate_response, which reads the same
            # endpoint's answer as `validate` would): once is enough.
            value, error = response.validated
            if error is not None:
                raise error
            return cast(T, value)
        return validate(response.content)

    def _retry(self, step: str, attempt: int, attempts: int, problem: str,
               server_wait: float | None, status: int | None) -> None:
        """Wait before the next attempt, and say so on the log (the command line prints it)."""
        if attempt >= attempts:
            return
        self.stats.retries += 1
        if self.settings.offline:
            return
        delay = backoff(attempt, server_wait, status, self.settings.max_backoff)
        log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)", step, self._scrub(problem),
                    delay, attempt + 1, attempts)
        self._sleep(delay)

    # -- E-utilities ---------------------------------------------------------------------------
    def ecitmatch(self, lines: Sequence[str]) -> list[str]:
        """ECitMatch answers for the lines, in order, in as few requests as it can.

        A batch whose URL stays short is a GET, as NCBI documents the service; a fuller one is
        POSTed (NCBI takes that: Biopython's Entrez.ecitmatch posts every query over 1,000
        characters), up to ecitmatch_batch lines and MAX_ECITMATCH_BODY bytes.
        """
        results: list[str] = []
        for chunk, size in self._ecitmatch_batches(lines):
            expected = len(chunk)
            _, answer = self.request(
                "ecitmatch.cgi",
                {"db": "pubmed", "retmode": "xml", "bdata": "\r".join(chunk)},
                method="GET" if size <= MAX_ECITMATCH_URL else "POST",
                step="ECitMatch",
                validate=partial(validate_ecitmatch, expected_lines=expected),
                headers={"X-Citation-Lines": str(expected)},
            )
            results.extend(answer)
        return results

    def _ecitmatch_batches(self, lines: Sequence[str]) -> Iterable[tuple[list[str], int]]:
        chunk: list[str] = []
        size = 0
        for line in lines:
            encoded = len(quote(line)) + 3
            full = len(chunk) >= self.settings.ecitmatch_batch
            if chunk and (full or size + encoded > MAX_ECITMATCH_BODY):
                yield chunk, size
                chunk, size = [], 0
            chunk.append(line)
            size += encoded
        if chunk:
            yield chunk, size

    def esearch(self, term: str, retmax: int = 10000) -> tuple[int, list[str]]:
        """Ids for a PubMed query (POST, so long OR-combined queries fit)."""
        _, answer = self.request(
            "esearch.fcgi",
            {"db": "pubmed", "term": term, "retmax": str(retmax), "retstart": "0"},
            method="POST",
            step="ESearch",
            validate=validate_esearch,
        )
        return answer.count, list(answer.ids)

    def efetch(self, pmids: Iterable[str]) -> list[Article]:
        """The readable records of the ids (efetch_records also names the unreadable ones)."""
        return self.efetch_records(pmids).articles

    def efetch_records(self, pmids: Iterable[str], *, fresh: bool = False) -> PubmedRecords:
        """Records of the ids, one validated POST per batch; sorted ids keep cache keys stable.

        Only the records asked for come back; an id NCBI has no record for is left out. A batch
        whose answer is over max_answer_bytes is fetched again in halves. fresh: from NCBI, not
        from the cache (`refresh`); the answers still go through the rate limit and validation.
        """
        ids = sorted({str(p) for p in pmids}, key=int)
        out = PubmedRecords()
        batch = max(1, self.settings.efetch_batch)
        for part in chunked(ids, batch):
            answer = self._efetch_batch(part, fresh)
            out.articles.extend(answer.articles)
            out.errors.extend(answer.errors)
        return out

    def _efetch_batch(self, chunk: list[str], fresh: bool = False) -> EFetchAnswer:
        try:
            response, answer = self.request(
                "efetch.fcgi",
                {"db": "pubmed", "id": ",".join(chunk), "retmode": "xml", "rettype": "abstract"},
                method="POST",
                step="EFetch",
                validate=partial(validate_efetch_answer, requested=tuple(chunk)),
                fresh=fresh,
            )
        except AnswerTooLargeError:
            if len(chunk) == 1:
                raise
            half = len(chunk) // 2
            log.info("EFetch: the answer for %d records is too large; asking in halves",
                     len(chunk))
            first = self._efetch_batch(chunk[:half], fresh)
            second = self._efetch_batch(chunk[half:], fresh)
            return EFetchAnswer(first.articles + second.articles, first.missing | second.missing,
                                first.errors + second.errors)
        received = getattr(response, "created_at", None) if getattr(response, "from_cache",
                                                                    False) else None
        received = received or datetime.now(UTC)
        for article in answer.articles:
            self.received_at[article.pmid] = received
        return answer
