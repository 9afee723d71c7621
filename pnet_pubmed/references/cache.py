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
from dataclasses import fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import get_args

from ..journals import Journals
from ..util import no_cycle_collection
from ..values import Citation, CitationKind, Name

FOLDER = "parsed"
MAX_FILE_BYTES = 64 * 1024 * 1024  # compressed; a 100,000-reference list is a few MB
_KINDS = set(get_args(CitationKind))


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


# A Citation is kept as a list of its fields in this order (the alternatives last, for the
# first reading only); an alternative's raw is null when it is its reading's raw.
_FIELDS = ("key", "raw", "position", "kind", "authors", "et_al", "group", "year", "title",
           "journal", "volume", "issue", "pages", "first_page", "doi", "pmid",
           "abstract_number", "reason", "reader")
_OPTIONAL = range(_FIELDS.index("title"), _FIELDS.index("reason") + 1)
assert tuple(f.name for f in fields(Citation))[:len(_FIELDS)] == _FIELDS


def _encode(c: Citation, parent_raw: str | None = None) -> list:
    authors = [x for a in c.authors for x in (a.last, a.initials)]
    item: list[object] = [
        c.key, None if c.raw == parent_raw else c.raw, c.position, c.kind, authors, c.et_al,
        c.group, c.year, c.title, c.journal, c.volume, c.issue, c.pages, c.first_page, c.doi,
        c.pmid, c.abstract_number, c.reason, c.reader]
    if parent_raw is None:
        item.append([_encode(a, c.raw) for a in c.alternatives])
    return item


def _decode(item: object, parent_raw: str | None = None) -> Citation:
    # JSON gives exact types: `type(x) is str` is isinstance, and tells a bool from an int.
    if type(item) is not list or len(item) != len(_FIELDS) + (parent_raw is None):
        raise ValueError("not a citation")
    key, raw, position, kind, authors, et_al, group, year = item[:8]
    if raw is None and parent_raw is not None:
        raw = parent_raw
    if type(key) is not str or type(raw) is not str or type(item[18]) is not str:
        raise ValueError("key")
    if type(position) is not int or (year is not None and type(year) is not int):
        raise ValueError("position")
    if kind not in _KINDS or type(et_al) is not bool:
        raise ValueError("kind")
    if group is not None and type(group) is not str:
        raise ValueError("group")
    for i in _OPTIONAL:
        if item[i] is not None and type(item[i]) is not str:
            raise ValueError(_FIELDS[i])
    if type(authors) is not list or len(authors) % 2 or not all(
            type(x) is str for x in authors):
        raise ValueError("authors")
    names = tuple(Name(authors[i], authors[i + 1]) for i in range(0, len(authors), 2))
    alternatives: tuple[Citation, ...] = ()
    if parent_raw is None:
        if type(item[19]) is not list:
            raise ValueError("alternatives")
        alternatives = tuple(_decode(a, raw) for a in item[19])
    values = dict(zip(_FIELDS, item, strict=False))  # the 19 fields, checked above
    values.update(raw=raw, authors=names, alternatives=alternatives)
    return Citation(**values)


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
        with no_cycle_collection():
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
        with no_cycle_collection():
            text = json.dumps([_encode(c) for c in citations], ensure_ascii=False,
                              separators=(",", ":"))
        payload = gzip.compress(text.encode("utf-8"), 3, mtime=0)
        if len(payload) > MAX_FILE_BYTES:
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)  # whole or not at all, whatever runs alongside
    except OSError:
        return
