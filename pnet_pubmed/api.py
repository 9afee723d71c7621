"""The public API: everything the command line does, as functions a notebook can call.

    import pnet_pubmed
    result = pnet_pubmed.link(["Yao JC, … N Engl J Med. 2011;364(6):514-23."],
                              collection="notebook", db="sqlite:///refs.sqlite")
    for ref in result.references:
        print(ref.key, ref.status, ref.pmid)

Settings are keyword arguments (`eutils_url`, `email`, `api_key`, `cache`, `offline`, …) that
default to the environment variables the command line reads; `db` defaults like it too.
Results are frozen dataclasses; failures are PnetPubmedError (pnet_pubmed.errors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import InputError
from .values import MATCH_STATUSES, Article

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
class Flag:
    """A retraction, expression of concern, erratum or update of a linked record."""

    flag: str  # "retracted", "expression_of_concern", "erratum", "updated"
    notice_pmid: str | None


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
    name: str
    source: str | None
    references: int
    counts: Mapping[str, int]
    last_run: str | None


def _reference(row: dict, flags: Mapping[str, tuple] | None = None) -> Reference:
    linked = row["status"] == "matched"
    found = (flags or {}).get(row["pmid"], ()) if linked else ()
    return Reference(
        collection=row["collection"], key=row["key"], position=row.get("position") or 0,
        raw=row["raw"], status=row["status"], pmid=row["pmid"] if linked else None,
        method=row.get("method"), score=row.get("score"), reason=row.get("reason"),
        notes=tuple(row.get("notes") or ()), candidates=tuple(row.get("candidates") or ()),
        flags=tuple(Flag(f.flag, f.notice_pmid) for f in found))


def _store(db: str | None):
    from .search.index import SearchIndex
    from .store import Store

    return Store(settings(db=db).db_url, index=SearchIndex())


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
    store = _store(db)
    try:
        if collection is not None and collection not in {c["name"] for c in store.collections()}:
            raise InputError(f"no collection named {collection!r}")
        rows = store.references(collection, status)
        pmids = {r["pmid"] for r in rows if r["status"] == "matched" and r["pmid"]}
        flags = store.article_flags(pmids) if pmids else {}
        return tuple(_reference(r, flags) for r in rows)
    finally:
        store.close()


def article(pmid: str | int, *, db: str | None = None) -> Article | None:
    """The stored PubMed record (abstract, authors, MeSH, publication types, …), or None."""
    text = str(pmid).strip()
    if not text.isdigit() or len(text) > 9:
        raise InputError(f"{pmid!r} is not a PMID (a number of at most 9 digits)")
    store = _store(db)
    try:
        return store.article(text.lstrip("0") or "0")
    finally:
        store.close()


def collections(*, db: str | None = None) -> tuple[Collection, ...]:
    """Every collection with its counts by status."""
    store = _store(db)
    try:
        out = []
        for row in store.collections():
            counts: dict[str, int] = {s: row.get(f"n_{s}", 0) for s in MATCH_STATUSES}
            last = row.get("updated_at")
            out.append(Collection(row["name"], row.get("source"), sum(counts.values()), counts,
                                  last.isoformat() if hasattr(last, "isoformat") else last))
        return tuple(out)
    finally:
        store.close()


def export(collection: str | None = None, *, db: str | None = None,
           format: str = "csljson") -> str:  # noqa: A002 (the CLI's word for it)
    """The matched references as BibTeX, RIS, CSL-JSON or CSV text."""
    from .outputs.export import export as run_export

    store = _store(db)
    try:
        return run_export(store, format, collection)
    finally:
        store.close()


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
    return run_search(settings(db=db).db_url, query, mesh=tuple(mesh), year=tuple(year),
                      limit=limit, **filters)


def mesh_profile(collection: str | None = None, *, db: str | None = None, major: bool = False,
                 top: int | None = 20, depth: int | None = None) -> tuple[dict, ...]:
    """The MeSH descriptors of a collection's linked articles, most frequent first; with depth,
    rolled up to that level of the MeSH tree (1: Neoplasms, 2: Neoplasms by Site, …)."""
    from .search import mesh_profile as profile

    return tuple(profile(settings(db=db).db_url, collection, major=major, top=top, depth=depth))
