"""The public API: everything the command line does, as functions a notebook can call.

    import pnet_pubmed
    result = pnet_pubmed.link(["Yao JC, … N Engl J Med. 2011;364(6):514-23."],
                              collection="notebook", db="sqlite:///refs.sqlite")
    for ref in result.references:
        print(ref.key, ref.status, ref.pmid)

Settings are keyword arguments (`eutils_url`, `email`, `api_key`, `cache`, `offline`, …) that
default to the environment variables the command line reads; `db` defaults like it too.
Results are frozen dataclasses; failures are PnetPubmedError (pnet_pubmed.errors).

What only reads (refs, article, collections, search, mesh_profile) opens a light DB-API
connection (pnet_pubmed.store.dbapi) and never imports SQLAlchemy; link, export and
delete_collection work on the Store.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .errors import InputError
from .flags import Flag
from .values import MATCH_STATUSES, Article

if TYPE_CHECKING:
    from .store import Store

# The reading functions import pnet_pubmed.store.reads when called: `search` does not need it.

# Keyword arguments that name a Settings field under another name.
_ALIASES = {"db": "db_url", "cache": "cache_dir"}
_SETTINGS = {f.name for f in dataclasses.fields(Settings)}


def settings(**kwargs) -> Settings:
    """Settings from keyword arguments over the environment (None: the environment's value)."""
    values = {}
    for name, value in kwargs.items():
        field_name = _ALIASES.get(name, name)
        if field_name not in _SETTINGS:
            raise TypeError(f"unknown setting {name!r}; known: "
                            + ", ".join(sorted((_SETTINGS - set(_ALIASES.values()))
                                               | set(_ALIASES))))
        values[field_name] = value
    return Settings.from_env(**values)


@dataclass(frozen=True)
class Reference:
    """One reference of a collection and what it links to."""

    collection: str
    key: str
    position: int
    raw: str
    status: str  # "matched", "ambiguous", "not_found", "pending"
    pmid: str | None
    method: str | None
    score: float | None
    reason: str | None
    notes: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class LinkResult:
    """What a link run did: the collection's references now, and what it cost."""

    collection: str
    references: tuple[Reference, ...]
    counts: Mapping[str, int]
    requests_sent: int
    from_cache: int
    seconds: float
    removed: int = 0  # references of an earlier list that left the collection


@dataclass(frozen=True)
class Collection:
    """A collection: its source list, its references in all and by status, its last run."""

    name: str
    source: str | None
    references: int
    counts: Mapping[str, int]
    last_run: str | None  # when its references or matches last changed, ISO 8601 in UTC


def _reference(row: dict, flags: Mapping[str, tuple[Flag, ...]]) -> Reference:
    linked = row["status"] == "matched"
    return Reference(
        collection=row["collection"], key=row["key"], position=row.get("position") or 0,
        raw=row["raw"], status=row["status"], pmid=row["pmid"] if linked else None,
        method=row.get("method"), score=row.get("score"), reason=row.get("reason"),
        notes=tuple(row.get("notes") or ()), candidates=tuple(row.get("candidates") or ()),
        flags=flags.get(row["pmid"], ()) if linked else ())


def _url(db: str | None) -> str:
    return settings(db=db).db_url


def open_store(db: str | None = None) -> Store:
    """The Store of a database, its search index following every save: for writing, and for
    what the functions here do not cover. Close it when done (or use it in a with block)."""
    from .search.index import SearchIndex
    from .store import Store

    return Store(_url(db), index=SearchIndex())


def optimize(db: str | Store | None = None) -> int:
    """Make searches of frequent words fast (`pnet-pubmed db optimize`): builds the
    score-ordered lists of words found in many articles (on SQLite after merging the full-text
    index); returns how many words have one."""
    from .search.index import optimize as optimize_index
    from .store.dbapi import connect

    if isinstance(db, str) or db is None:
        # A database that is missing or not upgraded: one line, and no empty file left behind.
        with connect(_url(db)):
            pass
        with open_store(db) as store:
            return optimize_index(store)
    return optimize_index(db)


def link(source: str | Path | Iterable[str] | None = None, *, collection: str | None = None,
         db: str | None = None, progress: Callable[[str, int], None] | None = None,
         batch_size: int = 500, **options) -> LinkResult:
    """Link a reference list to PubMed, fetch and store the records, and return the collection.

    `source` is a path (a Path, or a string naming an existing file), an iterable of reference
    strings (one reference each), or None for the bundled list. `progress(stage, n)` is called
    as the run goes ("start" with the number of references, "batch" with each batch done).
    Other keyword arguments are settings: eutils_url, email, api_key, cache, offline, ….
    """
    from .pipeline import link as run_link

    chosen = settings(db=db, **options)
    texts = None
    path: str | Path | None = None
    if isinstance(source, Path):
        path = source
    elif isinstance(source, str):
        if not Path(source).is_file():
            raise InputError(f"{source}: no such file (to link reference strings, pass a list "
                             "of them)")
        path = source
    elif source is not None:
        texts = source
    summary = run_link(path, collection, chosen, batch_size=batch_size, progress=progress,
                       texts=texts)
    refs_now = refs(summary.collection, db=chosen.db_url)
    return LinkResult(collection=summary.collection, references=refs_now,
                      counts=dict(summary.counts), requests_sent=summary.stats.sent,
                      from_cache=summary.stats.from_cache, seconds=summary.seconds,
                      removed=summary.removed)


def refs(collection: str | None = None, *, db: str | None = None,
         status: str | None = None) -> tuple[Reference, ...]:
    """The stored references (of one collection, or all), in list order, with their links."""
    from .store import reads

    with reads.opened(_url(db)) as conn:
        if collection is not None:
            reads.require_collection(collection, reads.collection_names(conn), InputError)
        rows = reads.references(conn, collection, status)
        flags = reads.article_flags(
            conn, (r["pmid"] for r in rows if r["status"] == "matched" and r["pmid"]))
    return tuple(_reference(r, flags) for r in rows)


def article(pmid: str | int, *, db: str | None = None) -> Article | None:
    """The stored PubMed record (abstract, authors, MeSH, publication types, …), or None."""
    from .store import reads

    text = str(pmid).strip()
    if not re.fullmatch(r"[0-9]{1,9}", text):
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise InputError(f"{shown!r} is not a PMID (a PMID is a number of at most 9 digits, "
                         "e.g. 21306238)")
    with reads.opened(_url(db)) as conn:
        found = reads.articles(conn, [text.lstrip("0") or "0"])
    return found[0] if found else None


def collections(*, db: str | None = None) -> tuple[Collection, ...]:
    """Every collection with its counts by status; none in a database not set up yet."""
    from .store import reads
    from .store.dbapi import NotSetUp

    try:
        with reads.opened(_url(db)) as conn:
            rows = reads.collections(conn)
    except NotSetUp:
        return ()
    return tuple(
        Collection(row["name"], row["source"], row["n_references"],
                   {s: row[f"n_{s}"] for s in MATCH_STATUSES}, _utc_iso(row["updated_at"]))
        for row in rows)


def _utc_iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    # SQLite gives stored times back without their zone, which was UTC.
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat(timespec="seconds")


def delete_collection(name: str, *, db: str | None = None) -> dict[str, Any]:
    """Remove a collection and its references; the records stay (other collections may cite
    them). Says how many: references, records, records_cited_elsewhere."""
    with open_store(db) as store:
        return store.delete_collection(name)


def export(collection: str | None = None, *, db: str | None = None,
           format: str = "csljson") -> str:  # noqa: A002 (the CLI's word for it)
    """The matched references as BibTeX, RIS, CSL-JSON or CSV text."""
    from .outputs.export import export as run_export

    with open_store(db) as store:
        return run_export(store, format, collection)


def __getattr__(name: str):
    # The search engine's own result types, without importing it before it is used.
    if name in ("SearchHit", "MeshCount"):
        from .search import results

        return getattr(results, name)
    raise AttributeError(name)


def search(query: str | None = None, *, db: str | None = None, limit: int = 20,
           mesh: str | Iterable[str] = (), year: str | tuple | None = None, **filters):
    """Ranked full-text search of the stored articles: a tuple of SearchHit (SearchResults),
    whose `total` says how many articles match in all (`exact` False: at least that many).

    Filters as keyword arguments, as the command line has them: mesh (a name, UI or entry
    term, exploded unless explode=False), major, qualifier, author, journal, year ("2009:2015"
    or (2009, 2015)), publication_type, collection, flag.
    """
    from .search import parse_year_range
    from .search import search as run_search

    if isinstance(mesh, str):
        mesh = (mesh,)
    if isinstance(year, str) or year is None:
        year = parse_year_range(year)
    # A light read connection (pnet_pubmed.store.dbapi): no SQLAlchemy on this path.
    return run_search(_url(db), query, mesh=tuple(mesh), year=tuple(year),
                      limit=limit, **filters)


def mesh_profile(collection: str | None = None, *, db: str | None = None, major: bool = False,
                 top: int | None = 20, depth: int | None = None) -> tuple[dict, ...]:
    """The MeSH descriptors of a collection's linked articles, most frequent first; with depth,
    rolled up to that level of the MeSH tree (1: Neoplasms, 2: Neoplasms by Site, …)."""
    from .search import mesh_profile as profile

    return tuple(profile(_url(db), collection, major=major, top=top, depth=depth))
