"""Reading references, collections, flags and records on a DB-API connection, without SQLAlchemy.

One implementation for both readers: the read commands and the API open a light connection
(`opened(url)`, pnet_pubmed.store.dbapi), and the Store passes the DB-API connection beneath its
SQLAlchemy one (dbapi.adopt). Statements are plain SQL that SQLite and PostgreSQL both run, with
bound values only; rows become Articles through rows.build_articles, the Store's own mapping.

    from pnet_pubmed.store.reads import opened, references

    with opened("sqlite:///db/pnet_pubmed.sqlite") as conn:
        rows = references(conn, "pnet-review-2015", status="matched")
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ..errors import PnetPubmedError, StoreError
from ..flags import Flag, ordered
from ..util import chunked
from ..values import MATCH_STATUSES, Article
from .dbapi import ReadConnection, connect, describe_error, in_list, is_database_error
from .rows import build_articles

# Bounds the number of bound values of an IN (...) list; both backends allow far more.
CHUNK = 500

REFERENCE_COLUMNS = (
    "key", "position", "raw", "kind", "authors", "et_al", "group_name", "year", "title",
    "journal", "volume", "issue", "pages", "first_page", "doi", "pmid_given", "abstract_number",
    "parse_reason", "status", "pmid", "candidates", "method", "score", "reason", "notes",
)
ARTICLE_COLUMNS = (
    "pmid", "title", "journal_title", "iso_abbreviation", "medline_ta", "nlm_unique_id", "issn",
    "issn_linking", "year", "pub_date", "volume", "issue", "pages", "start_page", "end_page",
    "elocation", "doi", "pmcid", "languages", "status", "publication_status", "is_book",
    "date_revised",
)
# The child tables of an article, each in the order its rows are read back; the MeSH tables
# carry the vocabulary's name of the descriptor or qualifier as "name".
ARTICLE_CHILDREN = {
    "abstract_sections": "SELECT t.* FROM abstract_sections t {where} ORDER BY t.pmid, "
                         "t.position",
    "authors": "SELECT t.* FROM authors t {where} ORDER BY t.pmid, t.position",
    "affiliations": "SELECT t.* FROM affiliations t {where} ORDER BY t.pmid, "
                    "t.author_position, t.position",
    "publication_types": "SELECT t.* FROM publication_types t {where} ORDER BY t.pmid, "
                         "t.position",
    "keywords": "SELECT t.* FROM keywords t {where} ORDER BY t.pmid, t.position",
    "chemicals": "SELECT t.* FROM chemicals t {where} ORDER BY t.pmid, t.position",
    "comments_corrections": "SELECT t.* FROM comments_corrections t {where} ORDER BY t.pmid, "
                            "t.position",
    "article_mesh_headings": "SELECT t.*, d.name FROM article_mesh_headings t JOIN "
                             "mesh_descriptors d ON d.ui = t.descriptor_ui {where} "
                             "ORDER BY t.pmid, t.position",
    "article_mesh_qualifiers": "SELECT t.*, q.name FROM article_mesh_qualifiers t JOIN "
                               "mesh_qualifiers q ON q.ui = t.qualifier_ui {where} "
                               "ORDER BY t.pmid, t.heading_position, t.position",
}


@contextmanager
def opened(url: str) -> Iterator[ReadConnection]:
    """A connection to the database at url that only reads, at the schema this pnet-pubmed
    reads; database errors inside the block come out as StoreError, in one line."""
    with connect(url) as conn, translated(conn):
        yield conn


@contextmanager
def translated(conn: ReadConnection) -> Iterator[None]:
    """Driver errors (sqlite3, psycopg) inside the block as StoreError, in one line."""
    try:
        yield
    except Exception as e:
        if is_database_error(e):
            raise StoreError(describe_error(conn.url, e)) from e
        raise


def require_collection(name: str, names: Iterable[str],
                       error: type[PnetPubmedError] = StoreError) -> None:
    """The one check that a collection exists: `error` saying "no collection named 'x'
    (collections: a, b)" when name is not among names."""
    known = list(names)
    if name not in known:
        raise error(f"no collection named {name!r} (collections: {', '.join(known) or 'none yet'})")


def collection_names(conn: ReadConnection) -> list[str]:
    """The names of the collections, sorted."""
    return [row[0] for row in conn.rows("SELECT name FROM collections ORDER BY name")]


def collections(conn: ReadConnection) -> list[dict[str, Any]]:
    """Every collection (name, source, created_at, updated_at) with its number of references
    (n_references) and of references in each status (n_matched, …), by name."""
    params: dict[str, Any] = {}
    counts = []
    for i, status in enumerate(MATCH_STATUSES):
        params[f"s{i}"] = status
        counts.append(f"COALESCE(SUM(CASE WHEN r.status = :s{i} THEN 1 ELSE 0 END), 0) "
                      f"AS n_{status}")
    rows = conn.mappings(
        "SELECT c.name, c.source, c.created_at, c.updated_at, count(r.id) AS n_references, "
        + ", ".join(counts)
        + " FROM collections c LEFT JOIN refs r ON r.collection_id = c.id "
          "GROUP BY c.id, c.name, c.source, c.created_at, c.updated_at ORDER BY c.name", params)
    return [{k: (int(v) if k.startswith("n_") else _datetime(v) if k.endswith("_at") else v)
             for k, v in row.items()} for row in rows]


def references(conn: ReadConnection, collection: str | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    """References with their match, ordered by collection name and position: collection, key,
    position, raw, the parsed fields, status, pmid, candidates, method, score, reason, notes."""
    params: dict[str, Any] = {}
    where = []
    if collection is not None:
        params["collection"] = collection
        where.append("c.name = :collection")
    if status is not None:
        params["status"] = status
        where.append("r.status = :status")
    rows = conn.mappings(
        "SELECT c.name AS collection, " + ", ".join(f"r.{c}" for c in REFERENCE_COLUMNS)
        + " FROM refs r JOIN collections c ON c.id = r.collection_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY c.name, r.position, r.key", params)
    return [_reference(m) for m in rows]


def _reference(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "collection": m["collection"],
        "key": m["key"],
        "position": m["position"],
        "raw": m["raw"],
        "kind": m["kind"],
        "authors": _json_list(m["authors"]),
        "year": m["year"],
        "title": m["title"],
        "journal": m["journal"],
        "volume": m["volume"],
        "issue": m["issue"],
        "pages": m["pages"],
        "doi": m["doi"],
        "status": m["status"],
        "pmid": m["pmid"],
        "candidates": _json_list(m["candidates"]),
        "method": m["method"],
        "score": m["score"],
        "reason": m["reason"],
        "notes": _json_list(m["notes"]),
        # Beyond the documented keys: the rest of the parsed citation.
        "et_al": bool(m["et_al"]),
        "group": m["group_name"],
        "first_page": m["first_page"],
        "pmid_given": m["pmid_given"],
        "abstract_number": m["abstract_number"],
        "parse_reason": m["parse_reason"],
    }


def article_flags(conn: ReadConnection, pmids: Iterable[str]) -> dict[str, tuple[Flag, ...]]:
    """Retracted, expression of concern, erratum, updated: the flags of stored records, read
    from the view article_flags (pnet_pubmed/flags.py has the rule). Unflagged: left out."""
    found: dict[str, list[Flag]] = {}
    for chunk in chunked(sorted(set(pmids)), CHUNK):
        params: dict[str, Any] = {}
        for pmid, flag, notice, source in conn.rows(
                "SELECT pmid, flag, notice_pmid, source FROM article_flags WHERE pmid IN "
                + in_list("p", chunk, params), params):
            found.setdefault(pmid, []).append(Flag(flag, notice, source))
    return {p: ordered(f) for p, f in found.items()}


def articles(conn: ReadConnection, pmids: Iterable[str]) -> list[Article]:
    """Stored records in the order asked for, rebuilt from their rows; PMIDs not stored are
    skipped."""
    wanted = list(dict.fromkeys(pmids))
    found: dict[str, Article] = {}
    for chunk in chunked(wanted, CHUNK):
        params: dict[str, Any] = {}
        where = "WHERE t.pmid IN " + in_list("p", chunk, params)
        rows = conn.mappings(f"SELECT {', '.join(f't.{c}' for c in ARTICLE_COLUMNS)} "
                             f"FROM articles t {where}", params)
        if not rows:
            continue
        for row in rows:
            row["languages"] = _json_list(row["languages"])
        children = {name: conn.mappings(sql.format(where=where), params)
                    for name, sql in ARTICLE_CHILDREN.items()}
        found.update(build_articles(rows, children))
    return [found[p] for p in wanted if p in found]


def _json_list(value: Any) -> list:
    """A JSON array as the driver returns it: text from sqlite3, a list from psycopg."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        return list(json.loads(value))
    return list(value)


def _datetime(value: Any) -> datetime | None:
    """A stored time: sqlite3 returns the text SQLAlchemy wrote ("2025-01-02 03:04:05.678901",
    UTC without its zone), psycopg a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
