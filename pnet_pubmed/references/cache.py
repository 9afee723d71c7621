"""Parsed reference lists kept in the cache folder: linking the same list again skips reading it.

Reading a long list (two readings of each of 10,000 references) costs seconds of CPU; a rerun of
the same bytes with the same parser gets the Citations back from `<cache>/parsed/<hash>.json.gz`.
The key is a hash of the list's bytes, of the parser (its code, its model, its journal index)
and of the journals the run has learned, so a new version of any of them parses again. The cache
folder is not trusted: a file is only data (JSON, never executed), capped in size, and checked
field by field; anything off and the list is simply parsed again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from ..journals import Journals
from ..values import Citation, CitationKind, Name

FOLDER = "parsed"
MAX_FILE_BYTES = 64 * 1024 * 1024  # compressed; a 100,000-reference list is a few MB
_KINDS = set(get_args(CitationKind))
_TEXT_FIELDS = ("key", "raw", "reader")
_OPTIONAL_TEXT = ("group", "title", "journal", "volume", "issue", "pages", "first_page", "doi",
                  "pmid", "abstract_number", "reason")


def parser_files() -> list[str]:
    """The files, relative to the package, whose content decides how a list is read: every
    module of this package (readers added later included), the journal table with its code,
    the text helpers, the values, and the labeller's model."""
    package = resources.files("pnet_pubmed")
    modules = []
    folders = [("references", package / "references")]
    while folders:
        prefix, folder = folders.pop()
        for entry in folder.iterdir():
            if entry.is_dir() and entry.name != "__pycache__":
                folders.append((f"{prefix}/{entry.name}", entry))
            elif entry.name.endswith(".py"):
                modules.append(f"{prefix}/{entry.name}")
    return [*sorted(modules), "journals.py", "text.py", "values.py",
            "data/reference_crf.model", "data/journal_index.tsv.gz", "data/journals.tsv"]


@lru_cache(maxsize=1)
def parser_version() -> str:
    """A hash of everything that decides how a list is read."""
    from .. import __version__

    digest = hashlib.sha256(__version__.encode())
    package = resources.files("pnet_pubmed")
    for name in parser_files():
        digest.update(name.encode())
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:32]


def _path(cache_dir: Path, data: bytes, journals: Journals | None) -> Path:
    # Journals a run has learned change how it reads titles and journals: another key.
    learned = json.dumps(journals.learned if journals is not None else []).encode()
    key = hashlib.sha256(parser_version().encode() + b"\0" + learned + b"\0" + data).hexdigest()
    return Path(cache_dir) / FOLDER / f"{key}.json.gz"


def _encode(c: Citation, nested: bool = True) -> dict:
    d = {f: getattr(c, f) for f in (*_TEXT_FIELDS, *_OPTIONAL_TEXT)}
    d.update(position=c.position, kind=c.kind, authors=[[a.last, a.initials] for a in c.authors],
             et_al=c.et_al, year=c.year)
    if nested:
        d["alternatives"] = [_encode(a, nested=False) for a in c.alternatives]
    return d


def _decode(d: object, nested: bool = True) -> Citation:
    if not isinstance(d, dict):
        raise ValueError("not an object")
    for f in _TEXT_FIELDS:
        if not isinstance(d.get(f), str):
            raise ValueError(f)
    for f in _OPTIONAL_TEXT:
        if d.get(f) is not None and not isinstance(d[f], str):
            raise ValueError(f)
    position, year = d.get("position"), d.get("year")
    if not isinstance(position, int) or isinstance(position, bool):
        raise ValueError("position")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise ValueError("year")
    if d.get("kind") not in _KINDS or not isinstance(d.get("et_al"), bool):
        raise ValueError("kind")
    authors = d.get("authors")
    if not isinstance(authors, list) or not all(
            isinstance(a, list) and len(a) == 2 and all(isinstance(x, str) for x in a)
            for a in authors):
        raise ValueError("authors")
    alternatives = d.get("alternatives", []) if nested else []
    if not isinstance(alternatives, list):
        raise ValueError("alternatives")
    text: dict[str, Any] = {**{f: d[f] for f in _TEXT_FIELDS},
                            **{f: d.get(f) for f in _OPTIONAL_TEXT}}
    return Citation(
        **text,
        position=position, kind=d["kind"], authors=tuple(Name(a, i) for a, i in authors),
        et_al=d["et_al"], year=year,
        alternatives=tuple(_decode(a, nested=False) for a in alternatives))


def load(cache_dir: Path | None, data: bytes,
         journals: Journals | None = None) -> list[Citation] | None:
    """The Citations parsed from these bytes before (with the same journal knowledge), or None
    (not cached, or not usable)."""
    if cache_dir is None:
        return None
    path = _path(cache_dir, data, journals)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        with gzip.open(path, "rb") as f:
            text = f.read(MAX_FILE_BYTES * 8 + 1)
        if len(text) > MAX_FILE_BYTES * 8:
            return None
        items = json.loads(text)
        if not isinstance(items, list) or not items:
            return None
        return [_decode(item) for item in items]
    except (OSError, EOFError, ValueError, TypeError, RecursionError):
        return None  # absent, unreadable, or not what this module writes: parse again


def save(cache_dir: Path | None, data: bytes, citations: list[Citation],
         journals: Journals | None = None) -> None:
    """Keep the Citations for the next run; a cache that cannot be written is no error."""
    if cache_dir is None or not citations:
        return
    path = _path(cache_dir, data, journals)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = gzip.compress(json.dumps([_encode(c) for c in citations],
                                           ensure_ascii=False).encode("utf-8"), 6, mtime=0)
        if len(payload) > MAX_FILE_BYTES:
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)  # whole or not at all, whatever runs alongside
    except OSError:
        return
