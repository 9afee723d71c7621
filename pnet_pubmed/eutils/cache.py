"""The HTTP cache: JSON on disk, keys without secrets, and only validated answers kept.

Answers are stored as JSON (requests-cache's JSON serializer): a cache file that someone else
can write cannot run code. The pickled cache of earlier versions had another name,
http_cache.sqlite, and is never opened.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from requests_cache import SQLiteCache

from ..config import Settings
from ..util import first_line
from .answers import request_body, validate_response
from .errors import BadAnswer, EntrezError

# Parameters that identify the user, not the question: never part of a cache key, and masked in
# the stored copy of each request (with the Authorization header of a URL with a password).
PRIVATE_PARAMS = ("api_key", "email", "tool")
REDACTED_IN_CACHE = (*PRIVATE_PARAMS, "Authorization")
CACHE_FILE = "http_cache_json.sqlite"
OLD_PICKLED_CACHE = "http_cache.sqlite"


def cache_key(request: requests.PreparedRequest, **_ignored) -> str:
    """The question a request asks: method, scheme, host, port, path and its sorted parameters.

    The key, address and tool are left out altogether (requests-cache's ignored_parameters only
    replaces their values, so a request with and one without them got different keys), as are
    the user information of the URL and every header.
    """
    split = urlsplit(request.url or "")
    params = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True)
              if k not in PRIVATE_PARAMS]
    body = request_body(request, "surrogateescape")
    if body:
        ctype = str(request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
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


def cache_options(settings: Settings) -> dict:
    """requests-cache's settings for the client's session: what is cached, for how long, under
    which key, and what is kept out."""
    return dict(
        backend="sqlite",
        serializer="json",
        decode_content=False,  # the exact bytes (base64 in JSON), as they were validated
        expire_after=settings.cache_expire_days * 86400,
        allowable_methods=("GET", "POST"),
        allowable_codes=(200,),
        ignored_parameters=REDACTED_IN_CACHE,
        key_fn=cache_key,
        filter_fn=cacheable,
    )


def cache_error(path: Path, exc: sqlite3.Error) -> EntrezError:
    """One line for a cache folder that SQLite cannot use (the HTTP cache or the rate file)."""
    detail = first_line(exc)
    folder = path.parent
    if isinstance(exc, sqlite3.OperationalError) and "locked" in detail:
        return EntrezError(f"the HTTP cache folder {folder}/ is busy ({detail}); try again")
    if "readonly" in detail or "read-only" in detail:
        return EntrezError(f"the HTTP cache folder {folder}/ is not writable ({detail})",
                           resumable=False)
    if not path.is_file():
        # Nothing to delete: SQLite could not make its file there (/sys, /proc, a full disk).
        return EntrezError(f"the HTTP cache cannot be created in {folder}/ ({detail}): choose "
                           "another folder with --cache or PNET_PUBMED_CACHE", resumable=False)
    return EntrezError(f"the HTTP cache folder {folder}/ cannot be read ({detail}): delete it "
                       "and run again (it holds only copies of NCBI's answers)", resumable=False)


def cacheable(response: requests.Response) -> bool:
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
            response.validated = (validate_response(response), None)  # type: ignore[attr-defined]
        except BadAnswer as exc:
            response.validated = (None, exc)  # type: ignore[attr-defined]
    return response.validated[1] is None  # type: ignore[attr-defined]
