"""The one door to NCBI: a cached, throttled, retrying E-utilities client that validates answers.

Nothing that comes in is trusted: every answer is size- and time-capped while it is read,
validated before it is used or cached, and an EFetch answer must hold exactly the records that
were asked for. Nothing that identifies the user leaves in a cache key, a stored request, a log
line or an error message.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit
from xml.parsers import expat

import requests
from Bio import Entrez
from pyrate_limiter import Limiter, Rate, SQLiteBucket
from requests.adapters import HTTPAdapter
from requests_cache import CacheMixin, SQLiteCache
from requests_cache.policy.expiration import get_expiration_datetime
from requests_ratelimiter import LimiterMixin
from requests_ratelimiter.buckets import HostBucketFactory
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from . import logs
from .config import Settings
from .errors import NCBIError
from .pubmed import PubmedRecords, PubmedXMLError, RecordError, parse_records
from .values import Article

log = logging.getLogger(__name__)

# Parameters that identify the user, not the question: never part of a cache key, and masked in
# the stored copy of each request (with the Authorization header of a URL with a password).
PRIVATE_PARAMS = ("api_key", "email", "tool")
REDACTED_IN_CACHE = (*PRIVATE_PARAMS, "Authorization")
RETRY_STATUSES = {429, 500, 502, 503, 504}
# URLs longer than this are refused by some proxies; ECitMatch batches stay below it.
MAX_ECITMATCH_URL = 6000
# A POSTed ECitMatch batch stays well below what any front end takes in a form body.
MAX_ECITMATCH_BODY = 64 * 1024
# The HTTP cache. Answers are stored as JSON (requests-cache's JSON serializer): a cache file
# that someone else can write cannot run code. The pickled cache of earlier versions had another
# name, http_cache.sqlite, and is never opened.
CACHE_FILE = "http_cache_json.sqlite"
OLD_PICKLED_CACHE = "http_cache.sqlite"
# The request budget shared by every process that uses the same cache folder.
RATE_LIMIT_FILE = "rate_limit.sqlite"
WINDOW_MS = 1100
CHUNK = 64 * 1024


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


class _TooLarge(requests.RequestException):
    """Raised by the transport while reading an answer over the size limit."""


class _TooSlow(requests.Timeout):
    """Raised by the transport when one request has taken longer than max_request_seconds."""


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


# -- cache keys ------------------------------------------------------------------------------------
def cache_key(request: requests.PreparedRequest, **_ignored) -> str:
    """The question a request asks: method, scheme, host, port, path and its sorted parameters.

    The key, address and tool are left out altogether (requests-cache's ignored_parameters only
    replaces their values, so a request with and one without them got different keys), as are
    the user information of the URL and every header.
    """
    split = urlsplit(request.url or "")
    params = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True)
              if k not in PRIVATE_PARAMS]
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "surrogateescape")
    if body:
        ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            params += [(k, v) for k, v in parse_qsl(body, keep_blank_values=True)
                       if k not in PRIVATE_PARAMS]
        else:
            params.append(("\x00body", body))
    where = f"{split.scheme.lower()}://{(split.hostname or '').lower()}:{split.port or ''}"
    material = json.dumps([(request.method or "GET").upper(), where + split.path, sorted(params)])
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def open_cache(cache_dir: Path) -> SQLiteCache:
    """The HTTP cache of a folder, as the client opens it (JSON, never pickle)."""
    return SQLiteCache(str(Path(cache_dir) / CACHE_FILE), serializer="json")


def _cache_error(path: Path, exc: sqlite3.Error) -> EntrezError:
    """One line for a cache folder that SQLite cannot use (the HTTP cache or the rate file)."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    folder = path.parent
    if isinstance(exc, sqlite3.OperationalError) and "locked" in detail:
        return EntrezError(f"the HTTP cache folder {folder}/ is busy ({detail}); try again")
    if "readonly" in detail or "read-only" in detail:
        return EntrezError(f"the HTTP cache folder {folder}/ is not writable ({detail})",
                           resumable=False)
    return EntrezError(f"the HTTP cache folder {folder}/ cannot be read ({detail}): delete it "
                       "and run again (it holds only copies of NCBI's answers)", resumable=False)


# -- transport: size and time limits -----------------------------------------------------------
_current = threading.local()  # the connection the running request uses, for the watchdog


class _Slot:
    conn = None


def _track(conn):
    slot = getattr(_current, "slot", None)
    if slot is not None:
        slot.conn = conn
    return conn


class _TrackedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout=None):
        return _track(super()._get_conn(timeout))


class _TrackedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout=None):
        return _track(super()._get_conn(timeout))


_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _LimitedAdapter(HTTPAdapter):
    """Reads each answer itself: at most max_bytes on the wire and decompressed, and the whole
    request (connect, headers, body) within max_seconds.

    A socket read timeout restarts with every byte, so a server that trickles its answer would
    hold a request for as long as it likes; a watchdog shuts the connection down at the deadline.
    """

    def __init__(self, max_bytes: int, max_seconds: float):
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has pools of its own: no watchdog
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        slot = _Slot()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = getattr(slot.conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.max_seconds, expire)
        watchdog.daemon = True
        _current.slot = slot
        watchdog.start()
        try:
            try:
                response = super().send(request, stream=True, timeout=timeout, verify=verify,
                                        cert=cert, proxies=proxies)
            except requests.RequestException:
                if expired.is_set():
                    raise _TooSlow(self._slow_message(), request=request) from None
                raise
            try:
                self._read(response)
            except _TooLarge:
                response.close()
                raise
            except (ProtocolError, ReadTimeoutError, DecodeError, OSError) as exc:
                response.close()
                if expired.is_set():
                    raise _TooSlow(self._slow_message(), request=request) from None
                if isinstance(exc, ReadTimeoutError):
                    raise requests.exceptions.ReadTimeout(exc, request=request) from None
                if isinstance(exc, DecodeError):
                    raise requests.exceptions.ContentDecodingError(exc, request=request) from None
                raise requests.exceptions.ChunkedEncodingError(exc, request=request) from None
            if expired.is_set():
                # Cut off in the headers, a response can look complete and empty: it is not.
                response.close()
                raise _TooSlow(self._slow_message(), request=request)
            return response
        finally:
            watchdog.cancel()
            _current.slot = None

    def _slow_message(self) -> str:
        return f"no complete answer within {self.max_seconds:g} s"

    def _read(self, response: requests.Response) -> None:
        limit = self.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise _TooLarge(f"the answer is {_size(int(declared))}, over the limit of "
                            f"{_size(limit)}", response=response)
        chunks, size = [], 0
        raw = response.raw
        for chunk in raw.stream(CHUNK, decode_content=True):
            size += len(chunk)
            if size > limit or raw.tell() > limit:
                raise _TooLarge(f"the answer is over the limit of {_size(limit)}",
                                response=response)
            chunks.append(chunk)
        response._content = b"".join(chunks)
        response._content_consumed = True


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    if n >= 1000:
        return f"{n / 1000:g} kB"
    return f"{n} bytes"


# -- the shared rate limit -------------------------------------------------------------------------
_LIMITERS: dict[tuple[float, str], list] = {}  # (rate, file) -> [limiter, clients using it]
_LIMITERS_LOCK = threading.Lock()


def _shared_limiter(rate: float, path: Path) -> Limiter:
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


def _release_limiter(limiter: Limiter) -> None:
    """The last client of a limiter closes its file and stops its clean-up thread."""
    with _LIMITERS_LOCK:
        for key, entry in list(_LIMITERS.items()):
            if entry[0] is limiter:
                entry[1] -= 1
                if entry[1] <= 0:
                    del _LIMITERS[key]
                    limiter.bucket_factory.close()
                return


class _Session(CacheMixin, LimiterMixin, requests.Session):
    """Cache first, then the rate limiter: answers served from the cache cost no rate budget."""

    with_key = False

    def _bucket_name(self, request) -> str:
        # NCBI counts per API key, or per address without one; the URL's user information and
        # the key itself stay out of the limiter's file.
        split = urlsplit(request.url)
        return f"{split.hostname}:{split.port or ''}:{'key' if self.with_key else 'nokey'}"


# -- validation ------------------------------------------------------------------------------------
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


_RECORDS = {"PubmedArticle": ("MedlineCitation", "PubmedData"),
            "PubmedBookArticle": ("BookDocument", "PubmedBookData")}


def record_ids(body: bytes) -> list[tuple[str | None, str | None]]:
    """(PMID, the record's own pubmed ArticleId) of each record, read from the XML itself.

    Independent of the parser, so a record the parser could not read still counts as present.
    Only MedlineCitation/PMID and PubmedData/ArticleIdList count, not the PMIDs of comments,
    corrections or the reference list.
    """
    records: list[list[str | None]] = []
    stack: list[str] = []
    text: list[str] = []
    capture: list[int] = []  # index into the current record (0: PMID, 1: ArticleId) or empty

    def start(name: str, attrs: dict) -> None:
        stack.append(name)
        depth = len(stack)
        if depth == 2 and name in _RECORDS:
            records.append([None, None])
        elif depth in (4, 5) and records and stack[1] in _RECORDS:
            citation, data = _RECORDS[stack[1]]
            if depth == 4 and name == "PMID" and stack[2] == citation:
                capture[:] = [0]
            elif (depth == 5 and name == "ArticleId" and stack[2] == data
                  and stack[3] == "ArticleIdList" and attrs.get("IdType") == "pubmed"):
                capture[:] = [1]
            text.clear()

    def chars(data: str) -> None:
        if capture:
            text.append(data)

    def end(name: str) -> None:
        if capture and len(stack) in (4, 5):
            index = capture.pop()
            if records[-1][index] is None:
                records[-1][index] = "".join(text).strip()
        stack.pop()

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise BadAnswer(f"EFetch answer is not well-formed XML ({exc})") from None
    return [(pmid, aid) for pmid, aid in records]


def _norm_pmid(value: str | None) -> str:
    value = (value or "").strip()
    return value.lstrip("0") or value


@dataclass(frozen=True)
class EFetchAnswer:
    articles: list[Article]
    missing: frozenset[str] = frozenset()
    errors: tuple[RecordError, ...] = ()  # records asked for that could not be read


def validate_efetch_answer(body: bytes, requested: Iterable[str]) -> EFetchAnswer:
    """An EFetch answer holds only records that were asked for, each once, each under its own
    PMID; records that were asked for and are not there make it an IncompleteAnswer."""
    records = validate_efetch(body)
    wanted = {_norm_pmid(p): str(p) for p in requested}
    seen: set[str] = set()
    for pmid, own_id in record_ids(body):
        key = _norm_pmid(pmid)
        if not key:
            raise BadAnswer("EFetch answer has a record without a PMID")
        if key not in wanted:
            raise BadAnswer(f"EFetch answered PMID {pmid}, which was not asked for")
        if key in seen:
            raise BadAnswer(f"EFetch answered PMID {pmid} twice")
        if own_id is not None and _norm_pmid(own_id) != key:
            raise BadAnswer(f"EFetch record PMID {pmid} carries the ArticleId of PMID {own_id}")
        seen.add(key)
    kept, taken = [], set()
    for article in records.articles:
        key = _norm_pmid(article.pmid)
        if key in wanted and key not in taken:
            kept.append(article)
            taken.add(key)
    missing = frozenset(wanted[k] for k in wanted if k not in seen)
    errors = tuple(e for e in records.errors if not e.pmid or _norm_pmid(e.pmid) in wanted)
    answer = EFetchAnswer(kept, missing, errors)
    if missing:
        raise IncompleteAnswer(f"EFetch answer lacks {len(missing)} of the {len(wanted)} "
                               "records asked for", answer, missing)
    return answer


def _form(request: requests.PreparedRequest | None) -> dict[str, str]:
    if request is None:
        return {}
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    pairs = parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True)
    pairs += parse_qsl(body or "", keep_blank_values=True)
    return dict(pairs)


def _validate_response(response: requests.Response) -> object:
    endpoint = _endpoint(response.url)
    body = response.content
    if endpoint.startswith("esearch"):
        return validate_esearch(body)
    if endpoint.startswith("efetch"):
        ids = [i for i in _form(response.request).get("id", "").split(",") if i.strip()]
        return validate_efetch_answer(body, ids)
    if endpoint.startswith("ecitmatch"):
        expected = response.request.headers.get("X-Citation-Lines") if response.request else None
        if expected is None:
            raise BadAnswer("ECitMatch request without a line count")
        return validate_ecitmatch(body, int(expected))
    if _is_html(body) or not body.lstrip().startswith(b"<?xml"):
        raise BadAnswer("not an XML answer")
    return None


def _cacheable(response: requests.Response) -> bool:
    """requests-cache's filter: only complete answers that validate are written to the cache
    (an EFetch answer that lacks records is written by the client once a retry agrees).

    requests-cache also asks about answers it serves from the cache, and deletes those it is
    told not to keep: the client validates those itself when it uses them, so they are kept here.
    """
    if response.status_code != 200:
        return False
    if getattr(response, "from_cache", False):
        return True
    if getattr(response, "validated", None) is None:
        # Kept on the response: requests-cache calls the filter twice, the client uses it once.
        try:
            response.validated = (_validate_response(response), None)
        except BadAnswer as exc:
            response.validated = (None, exc)
    return response.validated[1] is None


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


def _public_url(url: str) -> str:
    """A URL as it may be shown: no user information, no query, no fragment."""
    try:
        split = urlsplit(url)
        host = split.hostname or ""
        netloc = f"{host}:{split.port}" if split.port else host
        return urlunsplit((split.scheme, netloc, split.path, "", ""))
    except ValueError:
        return "an unreadable address"


def _connect_failure(exc: requests.RequestException) -> str | None:
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


# -- the client ------------------------------------------------------------------------------------
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
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.cache_path = cache_dir / CACHE_FILE
        if (cache_dir / OLD_PICKLED_CACHE).exists():
            log.info("%s is the pickled cache of an earlier version; it is not opened and may be "
                     "deleted", cache_dir / OLD_PICKLED_CACHE)
        limiter = _shared_limiter(settings.rate, cache_dir / RATE_LIMIT_FILE)
        try:
            self.session = _Session(
                cache_name=str(self.cache_path),
                backend="sqlite",
                serializer="json",
                decode_content=False,  # the exact bytes (base64 in JSON), as they were validated
                expire_after=settings.cache_expire_days * 86400,
                allowable_methods=("GET", "POST"),
                allowable_codes=(200,),
                ignored_parameters=REDACTED_IN_CACHE,
                key_fn=cache_key,
                filter_fn=_cacheable,
                limiter=limiter,
                per_host=True,
            )
        except sqlite3.Error as exc:
            _release_limiter(limiter)
            raise _cache_error(self.cache_path, exc) from None
        self.session.with_key = bool(settings.api_key)
        adapter = _LimitedAdapter(settings.max_answer_bytes, settings.max_request_seconds)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"{settings.tool} (python-requests)"

    def close(self) -> None:
        self.session.close()
        if self.session.limiter is not None:
            _release_limiter(self.session.limiter)
            self.session.limiter = None

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
            raise _cache_error(self.cache_path, exc) from None

    def request(
        self,
        endpoint: str,
        params: dict[str, str],
        *,
        method: str = "GET",
        step: str | None = None,
        validate=None,
        headers: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> tuple[requests.Response, object]:
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
                why = _connect_failure(exc)
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
                     f"HTTP {response.status_code}, {_size(len(response.content))}, "
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
                self._retry(step, attempt, attempts, last_problem, _retry_after(response),
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
                             ", ".join(sorted(exc.missing, key=_norm_pmid)))
                    if not from_cache:
                        expires = get_expiration_datetime(self.settings.cache_expire_days * 86400)
                        self.session.cache.save_response(response, expires=expires)
                    return response, exc.value
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
    def _value(response: requests.Response, validate) -> object:
        if not validate:
            return None
        if hasattr(response, "validated"):
            value, error = response.validated
            if error is not None:
                raise error
            return value
        return validate(response.content)

    def _retry(self, step: str, attempt: int, attempts: int, problem: str,
               retry_after: float | None, status: int | None) -> None:
        """Wait before the next attempt, and say so on the log (the command line prints it)."""
        if attempt >= attempts:
            return
        self.stats.retries += 1
        if self.settings.offline:
            return
        delay = self._delay(attempt, retry_after, status)
        log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)", step, self._scrub(problem),
                    delay, attempt + 1, attempts)
        self._sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None, status: int | None) -> float:
        cap = self.settings.max_backoff
        delay = 0.5 * 2 ** (attempt - 1)
        delay = delay * (0.5 + random.random() / 2)  # jitter so parallel runs do not march in step
        if retry_after is not None:
            delay = max(delay, retry_after)
        elif status == 429:
            # NCBI's 429 often has no Retry-After; its window is one second, so wait at least
            # that, with jitter so that several processes do not come back together.
            delay = max(delay, 1.0 + random.random())
        return min(cap, delay)

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
                validate=lambda body, n=expected: validate_ecitmatch(body, n),
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

    def efetch_records(self, pmids: Iterable[str], *, fresh: bool = False) -> PubmedRecords:
        """Records of the ids, one validated POST per batch; sorted ids keep cache keys stable.

        Only the records asked for come back; an id NCBI has no record for is left out. A batch
        whose answer is over max_answer_bytes is fetched again in halves. fresh: from NCBI, not
        from the cache (`refresh`); the answers still go through the rate limit and validation.
        """
        ids = sorted({str(p) for p in pmids}, key=int)
        out = PubmedRecords()
        batch = max(1, self.settings.efetch_batch)
        for start in range(0, len(ids), batch):
            answer = self._efetch_batch(ids[start : start + batch], fresh)
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
                validate=lambda body, ids=tuple(chunk): validate_efetch_answer(body, ids),
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
