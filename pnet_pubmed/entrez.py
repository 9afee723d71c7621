"""The one door to NCBI: a cached, throttled, retrying E-utilities client that validates answers."""

from __future__ import annotations

import io
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import requests
from Bio import Entrez
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate
from requests_cache import CacheMixin
from requests_ratelimiter import LimiterMixin
from requests_ratelimiter.buckets import HostBucketFactory

from .config import Settings
from .pubmed import PubmedRecords, PubmedXMLError, parse_records
from .values import Article

log = logging.getLogger(__name__)

# Parameters that identify the user, not the question: kept out of cache keys and stored requests.
PRIVATE_PARAMS = ("api_key", "email", "tool")
RETRY_STATUSES = {429, 500, 502, 503, 504}
# URLs longer than this are refused by some proxies; ECitMatch batches stay below it.
MAX_ECITMATCH_URL = 6000


class EntrezError(RuntimeError):
    """An E-utilities step failed for good; the message is one line, without secrets."""


class NotCachedError(EntrezError):
    """Offline mode and the answer is not in the cache."""


class BadAnswer(ValueError):
    """An answer that arrived but must not be used (HTML page, truncated XML, wrong line count)."""


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


class _RedactSecrets(logging.Filter):
    """urllib3 and the rate limiter log request URLs, which carry the API key and the address."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [x for x in secrets if x]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


# Loggers of the libraries under entrez.py that print request URLs or bodies.
URL_LOGGERS = ("urllib3.connectionpool", "requests_ratelimiter", "requests_cache", __name__)


class _Session(CacheMixin, LimiterMixin, requests.Session):
    """Cache first, then the rate limiter: answers served from the cache cost no rate budget."""


# One limiter per process and rate, so several clients in one process share NCBI's budget.
_LIMITERS: dict[float, Limiter] = {}
_LIMITERS_LOCK = threading.Lock()


def _shared_limiter(rate: float) -> Limiter:
    with _LIMITERS_LOCK:
        if rate not in _LIMITERS:
            # Whole requests per second as NCBI counts them; 1.0 s windows with a small margin.
            per = max(1, int(rate))
            factory = HostBucketFactory(
                rates=[Rate(per, Duration.SECOND)], bucket_class=InMemoryBucket
            )
            _LIMITERS[rate] = Limiter(factory, buffer_ms=60)
        return _LIMITERS[rate]


def _endpoint(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


def _is_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head


def validate_esearch(body: bytes) -> dict:
    """Parse an ESearch answer; a backend error or a non-XML page is a BadAnswer."""
    if not body.strip() or _is_html(body):
        raise BadAnswer("ESearch answered with an HTML page or nothing")
    try:
        record = Entrez.read(io.BytesIO(body), validate=False)
    except Exception as exc:  # Bio.Entrez raises several unrelated types for bad XML
        raise BadAnswer(f"ESearch answer is not valid XML ({type(exc).__name__})") from exc
    if not isinstance(record, dict) or "IdList" not in record:
        # NCBI's backend failures arrive as <eSearchResult><ERROR>...</ERROR>: retry those.
        message = record.get("ERROR") if isinstance(record, dict) else None
        raise BadAnswer(f"ESearch error: {str(message or 'no IdList')[:120]}")
    return record


def validate_ecitmatch(body: bytes, expected_lines: int) -> list[str]:
    """ECitMatch answers one line per citation; anything else is truncated or an error page."""
    if _is_html(body):
        raise BadAnswer("ECitMatch answered with an HTML page")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadAnswer("ECitMatch answer is not text") from exc
    lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if len(lines) != expected_lines:
        raise BadAnswer(f"ECitMatch answered {len(lines)} lines for {expected_lines} citations")
    if any(line.count("|") < 6 for line in lines):
        raise BadAnswer("ECitMatch answer lines are malformed")
    return lines


def validate_efetch(body: bytes) -> PubmedRecords:
    """The records of an EFetch answer; parsing is the validation, so it is done once.

    A record that cannot be read is in .errors, and the answer is still good (and cached): asking
    again would bring the same record back. Only a broken document is a BadAnswer.
    """
    if _is_html(body):
        raise BadAnswer("EFetch answered with an HTML page")
    try:
        return parse_records(body)
    except PubmedXMLError as exc:
        raise BadAnswer(f"EFetch answer unusable: {exc}") from exc


def _validate_response(response: requests.Response) -> object:
    endpoint = _endpoint(response.url)
    body = response.content
    if endpoint.startswith("esearch"):
        return validate_esearch(body)
    if endpoint.startswith("efetch"):
        return validate_efetch(body)
    if endpoint.startswith("ecitmatch"):
        expected = response.request.headers.get("X-Citation-Lines") if response.request else None
        if expected is None:
            raise BadAnswer("ECitMatch request without a line count")
        return validate_ecitmatch(body, int(expected))
    if _is_html(body) or not body.lstrip().startswith(b"<?xml"):
        raise BadAnswer("not an XML answer")
    return None


def _cacheable(response: requests.Response) -> bool:
    """requests-cache's filter: only answers that validate are ever written to the cache."""
    if response.status_code != 200:
        return False
    try:
        # Kept on the response so the caller does not parse the same answer again.
        response.validated_value = _validate_response(response)
    except BadAnswer:
        return False
    return True


def _retry_after(response: requests.Response) -> float | None:
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


class EntrezClient:
    """E-utilities calls that return validated answers; everything else about HTTP lives here."""

    def __init__(self, settings: Settings, stats: RequestStats | None = None):
        self.settings = settings
        self.stats = stats or RequestStats()
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        self.session = _Session(
            cache_name=str(settings.cache_dir / "http_cache.sqlite"),
            backend="sqlite",
            expire_after=settings.cache_expire_days * 86400,
            allowable_methods=("GET", "POST"),
            allowable_codes=(200,),
            ignored_parameters=PRIVATE_PARAMS,
            filter_fn=_cacheable,
            limiter=_shared_limiter(settings.rate),
            per_host=True,
        )
        self.session.headers["User-Agent"] = f"{settings.tool} (python-requests)"
        self._sleep = time.sleep
        self._redactor = _RedactSecrets([settings.api_key or "", settings.email or ""])
        for name in URL_LOGGERS:
            logging.getLogger(name).addFilter(self._redactor)

    def close(self) -> None:
        self.session.close()
        for name in URL_LOGGERS:
            logging.getLogger(name).removeFilter(self._redactor)

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
        for secret in (self.settings.api_key, self.settings.email):
            if secret:
                text = text.replace(secret, "***")
        return text

    def request(
        self,
        endpoint: str,
        params: dict[str, str],
        *,
        method: str = "GET",
        step: str | None = None,
        validate=None,
        headers: dict[str, str] | None = None,
    ) -> tuple[requests.Response, object]:
        """One E-utilities request with retries: the response and its validated value."""
        url = self.settings.eutils_url + endpoint
        payload = {**params, **self._identity()}
        step = step or endpoint
        attempts = max(1, self.settings.max_attempts)
        last_problem = "no answer"
        for attempt in range(1, attempts + 1):
            try:
                kwargs = {
                    "timeout": (self.settings.connect_timeout, self.settings.read_timeout),
                    "headers": headers,
                    "only_if_cached": self.settings.offline,
                }
                if method == "POST":
                    response = self.session.post(url, data=payload, **kwargs)
                else:
                    response = self.session.get(url, params=payload, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                host = urlsplit(url).netloc
                last_problem = f"{type(exc).__name__}: no answer from {host}"
                self.stats.failures[type(exc).__name__] += 1
                self._backoff(attempt, None, attempts)
                continue
            except requests.RequestException as exc:
                raise EntrezError(self._scrub(f"{step}: request failed: {exc}")) from exc
            from_cache = getattr(response, "from_cache", False)
            if self.settings.offline and response.status_code == 504:
                # requests-cache answers 504 Not Cached for only_if_cached misses.
                raise NotCachedError(f"{step}: offline and the answer is not in the cache")
            if from_cache:
                self.stats.from_cache += 1
            else:
                self.stats.sent += 1
                self.stats.by_endpoint[endpoint.split(".")[0]] += 1
            if response.status_code in RETRY_STATUSES:
                last_problem = f"HTTP {response.status_code}"
                self.stats.failures[str(response.status_code)] += 1
                self._backoff(attempt, _retry_after(response), attempts)
                continue
            if response.status_code != 200:
                raise EntrezError(f"{step}: NCBI answered HTTP {response.status_code}")
            try:
                if not validate:
                    value = None
                elif hasattr(response, "validated_value"):
                    value = response.validated_value
                else:
                    value = validate(response.content)
            except BadAnswer as exc:
                last_problem = str(exc)
                self.stats.failures["bad_answer"] += 1
                if from_cache:
                    # An answer cached by an older version that no longer validates: drop it.
                    self.session.cache.delete(requests=[response.request])
                self._backoff(attempt, None, attempts)
                continue
            return response, value
        message = f"{step}: gave up after {attempts} attempts ({last_problem})"
        raise EntrezError(self._scrub(message))

    def _backoff(self, attempt: int, retry_after: float | None, attempts: int) -> None:
        if attempt >= attempts:
            return
        self.stats.retries += 1
        if self.settings.offline:
            return
        delay = min(self.settings.max_backoff, 0.5 * 2 ** (attempt - 1))
        delay = delay * (0.5 + random.random() / 2)  # jitter so parallel runs do not march in step
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.max_backoff))
        self._sleep(delay)

    # -- E-utilities ---------------------------------------------------------------------------
    def ecitmatch(self, lines: Sequence[str]) -> list[str]:
        """ECitMatch answers for the lines, in order, as few GET requests as URLs allow.

        NCBI documents ECitMatch as a GET service, so batches are cut by URL length as well as
        by count.
        """
        results: list[str] = []
        for chunk in self._ecitmatch_batches(lines):
            expected = len(chunk)
            _, answer = self.request(
                "ecitmatch.cgi",
                {"db": "pubmed", "retmode": "xml", "bdata": "\r".join(chunk)},
                step="ECitMatch",
                validate=lambda body, n=expected: validate_ecitmatch(body, n),
                headers={"X-Citation-Lines": str(expected)},
            )
            results.extend(answer)
        return results

    def _ecitmatch_batches(self, lines: Sequence[str]) -> Iterable[list[str]]:
        chunk: list[str] = []
        size = 0
        for line in lines:
            encoded = len(quote(line)) + 3
            full = len(chunk) >= self.settings.ecitmatch_batch
            if chunk and (full or size + encoded > MAX_ECITMATCH_URL):
                yield chunk
                chunk, size = [], 0
            chunk.append(line)
            size += encoded
        if chunk:
            yield chunk

    def esearch(self, term: str, retmax: int = 10000) -> tuple[int, list[str]]:
        """Ids for a PubMed query (POST, so long OR-combined queries fit)."""
        _, record = self.request(
            "esearch.fcgi",
            {"db": "pubmed", "term": term, "retmax": str(retmax), "retstart": "0"},
            method="POST",
            step="ESearch",
            validate=validate_esearch,
        )
        ids = [str(i) for i in record["IdList"]]
        return int(record.get("Count", len(ids))), ids

    def efetch(self, pmids: Iterable[str]) -> list[Article]:
        """The readable records of the ids (efetch_records also names the unreadable ones)."""
        return self.efetch_records(pmids).articles

    def efetch_records(self, pmids: Iterable[str]) -> PubmedRecords:
        """Records of the ids, one validated POST per batch; sorted ids keep cache keys stable."""
        ids = sorted({str(p) for p in pmids}, key=int)
        out = PubmedRecords()
        batch = max(1, self.settings.efetch_batch)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            _, records = self.request(
                "efetch.fcgi",
                {"db": "pubmed", "id": ",".join(chunk), "retmode": "xml", "rettype": "abstract"},
                method="POST",
                step="EFetch",
                validate=validate_efetch,
            )
            out.articles.extend(records.articles)
            out.errors.extend(records.errors)
        return out
