"""The stand-in E-utilities HTTP server: NCBI's endpoints over a fixed corpus, on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import functools
import random
import re
import secrets
import socket
import threading
import time
import traceback
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import formats
from .corpus import Corpus, load_corpus
from .ecitmatch import ecitmatch_text
from .faults import FaultPlan
from .query import QuerySyntaxError, date_bound
from .query import search as run_query

BASE_PATH = "/entrez/eutils/"
MAX_RETMAX = 10000
XML = "text/xml; charset=UTF-8"
TEXT = "text/plain; charset=UTF-8"
JSON = "application/json; charset=UTF-8"
HTML = "text/html; charset=UTF-8"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; params merge the query string and the POST body."""

    method: str
    endpoint: str
    params: dict[str, str]
    status: int  # 0 when the connection was dropped without an answer
    time: float  # time.time() on arrival
    fault: str | None = None  # injected fault kind, "rate_limit" for a rate-limit 429
    client: str = ""


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    chunks: Iterable[bytes] | None = None  # streamed with chunked transfer encoding, not body
    trickle: float = 0.0  # seconds between two bytes of the whole response


_PMID = re.compile(r"<PMID(?: [^>]*)?>\s*(\d+)\s*</PMID>")


@functools.lru_cache(maxsize=4)
def _gzip_zeros(size: int) -> bytes:
    """A gzip body that inflates to `size` zero bytes (about 1/1000 of it is sent)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts, left = [], size
    while left > 0:
        parts.append(packer.compress(block[:min(left, len(block))]))
        left -= len(block)
    parts.append(packer.flush())
    return b"".join(parts)


def _filler(size: int) -> Iterable[bytes]:
    yield b'<?xml version="1.0" ?>\n<PubmedArticleSet>\n'
    block = b" " * (1 << 20)
    left = size
    while left > 0:
        yield block[:min(left, len(block))]
        left -= len(block)


def _xml(text: str, status: int = 200) -> Response:
    return Response(status, text.encode("utf-8"), XML)


def _merge(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated parameters are joined with "," (id=1&id=2 means id=1,2, as NCBI reads it)."""
    params: dict[str, str] = {}
    for key, value in pairs:
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def _split_ids(value: str) -> list[str]:
    seen: dict[str, None] = {}
    for token in re.split(r"[,\s]+", value or ""):
        if token:
            seen.setdefault(token, None)
    return list(seen)


class _Params:
    """Case-insensitive parameter access (clients send WebEnv, webenv, query_key...)."""

    def __init__(self, params: dict[str, str]):
        self._p = {k.lower(): v for k, v in params.items()}

    def get(self, key: str, default: str = "") -> str:
        return self._p.get(key.lower(), default)

    def int(self, key: str, default: int) -> int:
        raw = self.get(key).strip()
        if not raw:
            return default
        if not re.fullmatch(r"-?\d+", raw):
            raise ValueError(f"Invalid {key}: {raw}")
        return int(raw)


class StandinServer:
    """NCBI E-utilities look-alike (ESearch, EFetch, ECitMatch, EPost, ESummary, EInfo).

    `url` is the base URL ("http://127.0.0.1:PORT/entrez/eutils/"); every endpoint is under it
    and answers GET and POST. Everything the server saw is in `requests`.
    """

    def __init__(
        self,
        corpus_files: list[Path] | None = None,
        *,
        faults: FaultPlan | None = None,
        rate_limit: float | None = None,
        latency: float = 0.0,
        api_key_rate_limit: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.corpus: Corpus = load_corpus(corpus_files)
        self.faults = faults
        self.rate_limit = rate_limit
        self.api_key_rate_limit = api_key_rate_limit
        self.latency = latency
        self.host = host
        self.port = port
        self.requests: list[RequestRecord] = []
        self.rate_limited = 0
        self.faults_injected: Counter[str] = Counter()
        self.internal_errors: list[str] = []  # tracebacks of stand-in bugs (answered with 500)
        self._lock = threading.Lock()
        self._history: dict[str, list[list[str]]] = {}
        self._attempts: Counter[str] = Counter()
        self._failures: Counter[str] = Counter()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._endpoints = {
            "esearch.fcgi": self._esearch,
            "efetch.fcgi": self._efetch,
            "ecitmatch.cgi": self._ecitmatch,
            "epost.fcgi": self._epost,
            "esummary.fcgi": self._esummary,
            "einfo.fcgi": self._einfo,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> StandinServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.standin = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"eutils-standin-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    # -- observation -------------------------------------------------------------------------

    @property
    def identity_violations(self) -> int:
        """Requests lacking a non-empty tool or email parameter (NCBI asks for both)."""
        with self._lock:
            return sum(1 for r in self.requests
                       if not r.params.get("tool", "").strip()
                       or not r.params.get("email", "").strip())

    def requests_to(self, endpoint: str) -> list[RequestRecord]:
        """Logged requests to one endpoint, e.g. "esearch.fcgi"."""
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def reset_log(self) -> None:
        """Forget logged requests and counters; fault attempt counts are kept (determinism)."""
        with self._lock:
            self.requests.clear()
            self.rate_limited = 0
            self.faults_injected.clear()

    # -- request handling --------------------------------------------------------------------

    def dispatch(self, method: str, endpoint: str, pairs: list[tuple[str, str]],
                 client: str = "127.0.0.1") -> Response:
        arrival, now = time.time(), time.monotonic()
        params = _merge(pairs)
        if self.latency:
            time.sleep(self.latency)
        handler = self._endpoints.get(endpoint)
        fault, rng, limited = None, None, None
        with self._lock:
            limited = self._rate_check(_Params(params), client, now)
            if limited is None and handler is not None and self.faults is not None:
                fault, rng = self._decide_fault(endpoint, params)
        if limited is not None:
            response, tag = limited, "rate_limit"
        elif handler is None:
            response, tag = Response(404, formats.ERROR_PAGES[404].encode(), HTML), None
        else:
            response, tag = self._call(handler, params), fault
            if fault is not None:
                response = self._apply_fault(fault, rng, endpoint, response, params)
        record = RequestRecord(method, endpoint, params, 0 if response.drop else response.status,
                               arrival, tag, client)
        with self._lock:
            self.requests.append(record)
            if limited is not None:
                self.rate_limited += 1
            if fault is not None:
                self.faults_injected[fault] += 1
        return response

    def _call(self, handler, params: dict[str, str]) -> Response:
        try:
            return handler(_Params(params))
        except Exception:  # a stand-in bug must be visible, not a hung client
            trace = traceback.format_exc()
            with self._lock:
                self.internal_errors.append(trace)
            return Response(500, trace.encode(), TEXT)

    def _rate_check(self, params: _Params, client: str, now: float) -> Response | None:
        if self.rate_limit is None:
            return None
        api_key = params.get("api_key").strip()
        limit = self.api_key_rate_limit if api_key else self.rate_limit
        window = self._windows[api_key or client]
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) < limit:
            window.append(now)
            return None
        body = formats.rate_limit_json(api_key or client, len(window) + 1, limit)
        return Response(429, body.encode(), JSON, {
            "Retry-After": "1",
            "X-RateLimit-Limit": str(int(limit)),
            "X-RateLimit-Remaining": "0",
        })

    def _decide_fault(self, endpoint: str, params: dict[str, str]):
        signature = f"{endpoint}?{urlencode(sorted(params.items()))}"
        attempt = self._attempts[signature]
        self._attempts[signature] += 1
        fault, rng = self.faults.decide(endpoint, signature, attempt, self._failures[signature])
        if fault is not None:
            self._failures[signature] += 1
        return fault, rng

    def _apply_fault(self, kind: str, rng: random.Random, endpoint: str,
                     response: Response, params: dict[str, str]) -> Response:
        plan = self.faults
        if kind == "429":
            body = formats.rate_limit_json("127.0.0.1", 4, 3)
            return Response(429, body.encode(), JSON, {"Retry-After": "1"})
        if kind == "429bare":  # as NCBI often answers: no Retry-After
            return Response(429, formats.rate_limit_json("127.0.0.1", 4, 3).encode(), JSON)
        if kind == "redirect":
            target = f"{plan.redirect_to}{endpoint}?{urlencode(params)}"
            return Response(307, b"", TEXT, {"Location": target})
        if kind == "oversize":
            return Response(200, b"", XML, chunks=_filler(plan.oversize_bytes))
        if kind == "gzip_bomb":
            return Response(200, _gzip_zeros(plan.bomb_bytes), XML, {"Content-Encoding": "gzip"})
        if kind == "trickle":
            return dataclasses.replace(response, trickle=plan.trickle_interval)
        if kind in ("foreign_record", "duplicate_record", "swapped_pmids", "missing_record"):
            return self._efetch_fault(kind, rng, params, response)
        if kind in ("500", "502", "503"):
            return Response(int(kind), formats.ERROR_PAGES[int(kind)].encode(), HTML)
        if kind == "html200":
            return Response(200, formats.HTML_200_PAGE.encode(), HTML)
        if kind == "drop":
            return Response(0, b"", TEXT, drop=True)
        if kind == "slow":
            time.sleep(self.faults.slow_seconds)
            return response
        if kind == "esearch_error":
            return _xml(formats.esearch_error_xml(formats.BACKEND_FAILED))
        # truncated: a 200 whose body stops early (Content-Length matches the cut body).
        body = response.body
        if endpoint == "ecitmatch.cgi":
            lines = body.splitlines(keepends=True)
            keep = rng.randint(0, max(0, len(lines) - 1))
            cut = b"".join(lines[:keep])
        else:
            cut = body[:rng.randint(max(1, len(body) // 10), max(1, len(body) * 9 // 10))]
        return Response(200, cut, response.content_type, dict(response.headers))

    def _efetch_fault(self, kind: str, rng: random.Random, params: dict[str, str],
                      response: Response) -> Response:
        ids, problem = self._ids_or_history(_Params(params))
        if problem is not None or response.status != 200:
            return response
        records = [self.corpus.by_pmid[i] for i in ids if i in self.corpus.by_pmid]
        if kind == "foreign_record":
            asked = set(ids)
            records.append(rng.choice([r for r in self.corpus.records if r.pmid not in asked]))
        elif kind == "duplicate_record" and records:
            records.append(records[rng.randrange(len(records))])
        elif kind == "missing_record" and records:
            records.pop(rng.randrange(len(records)))
        elif kind == "swapped_pmids" and len(records) >= 2:
            # Two records carry each other's MedlineCitation/PMID (their ArticleIds stay).
            i, j = rng.sample(range(len(records)), 2)
            a, b = records[i], records[j]
            records[i] = dataclasses.replace(
                a, xml=_PMID.sub(f'<PMID Version="1">{b.pmid}</PMID>', a.xml, count=1))
            records[j] = dataclasses.replace(
                b, xml=_PMID.sub(f'<PMID Version="1">{a.pmid}</PMID>', b.xml, count=1))
        return _xml(formats.efetch_xml(records))

    # -- history server ----------------------------------------------------------------------

    def _store(self, webenv: str, ids: list[str]) -> tuple[str, int]:
        with self._lock:
            if not webenv or webenv not in self._history:
                webenv = "MCID_" + secrets.token_hex(12)
                self._history[webenv] = []
            self._history[webenv].append(list(ids))
            return webenv, len(self._history[webenv])

    def _recall(self, webenv: str, query_key: str) -> list[str] | None:
        with self._lock:
            sets = self._history.get(webenv)
            if not sets or not query_key.strip().isdigit():
                return None
            k = int(query_key)
            return list(sets[k - 1]) if 1 <= k <= len(sets) else None

    # -- endpoints ---------------------------------------------------------------------------

    @staticmethod
    def _db_error(p: _Params) -> str | None:
        db = p.get("db", "pubmed").strip().lower() or "pubmed"
        return None if db == "pubmed" else f"Invalid db name specified: {p.get('db')}"

    def _esearch(self, p: _Params) -> Response:
        as_json = p.get("retmode").lower() == "json"

        def error(message: str) -> Response:
            if as_json:
                return Response(200, formats.esearch_error_json(message).encode(), JSON)
            return _xml(formats.esearch_error_xml(message))

        if (db_error := self._db_error(p)) is not None:
            return error(db_error)
        try:
            retstart = max(0, p.int("retstart", 0))
            retmax = min(MAX_RETMAX, max(0, p.int("retmax", 20)))
        except ValueError as exc:
            return error(str(exc))
        term = p.get("term")
        if not term.strip():
            return error("Empty term and query_key - nothing todo")
        try:
            outcome = run_query(self.corpus, term, p.get("field") or None)
        except QuerySyntaxError as exc:
            # NCBI reports a query it cannot parse in an HTTP 200 body, as an <ERROR>.
            return error(f"Invalid query syntax: {exc}")
        bits = outcome.bits
        if p.get("mindate") or p.get("maxdate"):
            # Only the publication date is indexed, so every datetype filters on it.
            try:
                lo = date_bound(p.get("mindate") or "1000", False)
                hi = date_bound(p.get("maxdate") or "3000", True)
            except ValueError:
                return error("Invalid mindate/maxdate")
            for rec in self.corpus.iter_bits(bits):
                span = rec.date_range
                if not span or span[0] > hi or span[1] < lo:
                    bits &= ~(1 << rec.index)
        ids = self.corpus.ids(bits)
        query_key = webenv = None
        if p.get("usehistory").lower() == "y":
            webenv, query_key = self._store(p.get("WebEnv"), ids)
        fields = dict(
            count=len(ids), retstart=retstart, ids=ids[retstart:retstart + retmax],
            translation=outcome.translation, query_key=query_key, webenv=webenv,
            phrases_not_found=outcome.phrases_not_found,
            fields_not_found=outcome.fields_not_found,
            phrases_ignored=outcome.phrases_ignored,
            quoted_not_found=outcome.quoted_not_found,
            output_messages=[] if ids else ["No items found."],
        )
        if as_json:
            return Response(200, formats.esearch_json(**fields).encode(), JSON)
        return _xml(formats.esearch_xml(**fields))

    def _ids_or_history(self, p: _Params) -> tuple[list[str] | None, str | None]:
        """The ids a request names (id=, or WebEnv + query_key with retstart/retmax)."""
        ids = _split_ids(p.get("id"))
        if ids:
            return ids, None
        webenv, query_key = p.get("WebEnv").strip(), p.get("query_key").strip()
        if not webenv:
            return None, "Empty id list - nothing todo"
        stored = self._recall(webenv, query_key or "1")
        if stored is None:
            return None, "Cannot retrieve query from history"
        try:
            retstart = max(0, p.int("retstart", 0))
            retmax = min(MAX_RETMAX, max(0, p.int("retmax", MAX_RETMAX)))
        except ValueError as exc:
            return None, str(exc)
        return stored[retstart:retstart + retmax], None

    def _efetch(self, p: _Params) -> Response:
        if (db_error := self._db_error(p)) is not None:
            return _xml(formats.efetch_error_xml(db_error))
        retmode = p.get("retmode", "xml").strip().lower() or "xml"
        rettype = p.get("rettype").strip().lower()
        if retmode != "xml" or rettype not in ("", "abstract", "xml", "full"):
            message = f"stand-in serves only retmode=xml, rettype=abstract; not {retmode}/{rettype}"
            return Response(400, message.encode(), TEXT)
        ids, problem = self._ids_or_history(p)
        if problem is not None:
            return _xml(formats.efetch_error_xml(problem))
        records = [self.corpus.by_pmid[i] for i in ids if i in self.corpus.by_pmid]
        return _xml(formats.efetch_xml(records))

    def _ecitmatch(self, p: _Params) -> Response:
        if self._db_error(p) is not None:
            return Response(400, b"Invalid db name\n", TEXT)
        return Response(200, ecitmatch_text(self.corpus, p.get("bdata")).encode("utf-8"), TEXT)

    def _epost(self, p: _Params) -> Response:
        if (db_error := self._db_error(p)) is not None:
            return _xml(formats.epost_error_xml(db_error))
        ids = _split_ids(p.get("id"))
        valid = [i for i in ids if i.isdigit() and len(i) <= 19]
        invalid = [i for i in ids if i not in valid]
        if not valid:
            messages = ["Empty ID list; Nothing to store"]
            if invalid:
                messages.append("Some IDs have invalid value and were omitted. "
                                "Maximum ID value 18446744073709551615")
            return _xml(formats.epost_error_xml(*messages))
        webenv, query_key = self._store(p.get("WebEnv").strip(), valid)
        return _xml(formats.epost_xml(query_key, webenv, invalid))

    def _esummary(self, p: _Params) -> Response:
        if (db_error := self._db_error(p)) is not None:
            return _xml(formats.esummary_error_xml(db_error))
        ids, problem = self._ids_or_history(p)
        if problem is not None:
            return _xml(formats.esummary_error_xml(problem))
        parts = [formats.docsum(self.corpus.by_pmid[i]) if i in self.corpus.by_pmid
                 else formats.missing_docsum(i) for i in ids]
        return _xml(formats.esummary_xml(parts))

    def _einfo(self, p: _Params) -> Response:
        db = p.get("db").strip().lower()
        if db and db != "pubmed":
            return _xml(formats.einfo_error_xml(f"Invalid db name specified: {p.get('db')}"))
        return _xml(formats.einfo_xml(db or None, len(self.corpus.records)))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    standin: StandinServer

    def __init__(self, *args, **kwargs):
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._open_lock:
            (self._open.add if alive else self._open.discard)(conn)

    def close_open_connections(self) -> None:
        """A stopped server must not keep answering on kept-alive connections."""
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or hang up (slow/drop faults) are expected; stay quiet.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as NCBI's front end allows
    server_version = "eutils-standin/1.0"
    timeout = 60  # idle kept-alive connections end eventually
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the request log is server.requests

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            ctype = self.headers.get("Content-Type", "")
            if raw and (not ctype or "x-www-form-urlencoded" in ctype):
                pairs += parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        endpoint = split.path.rstrip("/").rsplit("/", 1)[-1]
        response = self.server.standin.dispatch(method, endpoint, pairs, self.client_address[0])
        if response.drop:
            self.close_connection = True  # nothing is written: the client sees a hang-up
            return
        if response.trickle:
            self._trickle(response)
            return
        if response.chunks is not None:
            self._stream(response)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _trickle(self, response: Response) -> None:
        """The whole response, status line first, one byte at a time."""
        self.close_connection = True
        reason = HTTPStatus(response.status).phrase
        head = [f"HTTP/1.1 {response.status} {reason}", f"Content-Type: {response.content_type}",
                f"Content-Length: {len(response.body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body
        for i in range(len(data)):
            if self.server.standin._httpd is None:  # the server is stopping
                return
            try:
                self.wfile.write(data[i:i + 1])
            except OSError:
                return  # the client gave up
            time.sleep(response.trickle)

    def _stream(self, response: Response) -> None:
        """A body of unannounced length, in chunks, until it ends or the client hangs up."""
        self.close_connection = True
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for chunk in response.chunks:
                if self.server.standin._httpd is None:
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return  # the client stopped reading
