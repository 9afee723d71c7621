"""Running a search on a light DB-API connection: checks, filters, the plan, the hits.

Nothing here imports SQLAlchemy: `pnet-pubmed search` opens the database with
pnet_pubmed.store.dbapi. A Store, an SQLAlchemy Engine or Connection are read through the
DB-API connection beneath them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import StoreError
from ..flags import FLAGS
from ..store.dbapi import (
    HEAD_REVISION,
    ReadConnection,
    SchemaError,
    adopt,
    connect,
    first_line,
    is_database_error,
)
from .compile import to_fts5, to_tsquery
from .documents import as_list, document
from .errors import SearchError
from .filters import (
    Filter,
    Params,
    all_of,
    any_of,
    article_filter,
    author_filter,
    collection_filter,
    flag_filter,
    mesh_filter,
    named_uis,
    none_of,
    type_filter,
)
from .plan import COUNT_CAP, TextMatch, choose_driver, estimates_sql, hits_sql
from .query import And, Field, Node, Not, Or, is_text, parse_query, parse_year_range, positive_terms
from .results import SearchHit, SearchResults
from .snippets import snippet
from .tokens import FIRST_AUTHOR, author_key

INDEX_TABLES = ("article_search", "article_fts", "article_author_keys")


@contextmanager
def reading(source: Any) -> Iterator[ReadConnection]:
    """A DB-API connection that does not write, from a database URL, a ReadConnection, a Store
    (its read-only connection), an SQLAlchemy Engine (guarded) or Connection."""
    if isinstance(source, ReadConnection):
        yield source
        return
    if isinstance(source, str):
        with connect(source, check_schema=False) as conn:
            yield conn
        return
    if hasattr(source, "read_only_connection"):  # a Store
        with source.read_only_connection() as sa_conn:
            yield _adopted(sa_conn)
        return
    if hasattr(source, "connection") and hasattr(source, "dialect"):  # a Connection
        yield _adopted(source)
        return
    if not hasattr(source, "connect"):
        raise TypeError(f"search needs a database URL, a Store, an Engine or a Connection, "
                        f"not {source!r}")
    with source.connect() as sa_conn:  # an Engine: guard the connection it lends
        sqlite = sa_conn.dialect.name == "sqlite"
        sa_conn.exec_driver_sql("PRAGMA query_only = ON" if sqlite
                                else "SET TRANSACTION READ ONLY")
        try:
            yield _adopted(sa_conn)
        finally:
            sa_conn.rollback()
            if sqlite:
                sa_conn.exec_driver_sql("PRAGMA query_only = OFF")


@contextmanager
def translated() -> Iterator[None]:
    """Database failures inside the block as SearchError, in one line."""
    try:
        yield
    except SearchError:
        raise
    except SchemaError as e:
        raise SearchError(str(e)) from e
    except Exception as e:
        if is_database_error(e) or isinstance(e, StoreError):
            raise _db_error(e) from e
        raise


def check_database(conn: ReadConnection, collection: str | None) -> None:
    """The schema revision is the one this code reads, and the collection (if any) exists."""
    params = Params()
    row = conn.one(estimates_sql(None, (), collection, params), params)
    assert row is not None
    _check_estimates(conn, row[0], collection, list(row[1:]))


def _check_estimates(conn: ReadConnection, revision: str | None, collection: str | None,
                     counts: list[int]) -> None:
    """What the first statement of a search says about the schema and the collection; takes
    the collection's count off counts."""
    if revision != HEAD_REVISION:
        raise SearchError(f"the schema is at revision {revision or 'none'}, this pnet-pubmed "
                          f"reads {HEAD_REVISION}: run `pnet-pubmed db upgrade`")
    if collection is not None and not counts.pop(0):
        names = [r[0] for r in conn.rows("SELECT name FROM collections ORDER BY name")]
        known = ", ".join(names) if names else "none yet"
        raise SearchError(f"no collection named {collection!r} (collections: {known})")


def _adopted(sa_conn: Any) -> ReadConnection:
    return adopt(sa_conn.connection.dbapi_connection, sa_conn.dialect.name)


def _db_error(err: BaseException) -> SearchError:
    line = first_line(err)
    missing = "no such table" in line or ("does not exist" in line and "relation" in line)
    if missing and any(name in line for name in INDEX_TABLES):
        return SearchError("the database has no search index: run `pnet-pubmed db upgrade`")
    if missing:
        return SearchError(f"the database is not set up ({line}): run `pnet-pubmed db upgrade`")
    return SearchError(f"search failed: {line}")


def _distinct(conn: ReadConnection, table: str, column: str, *also: str) -> list[tuple]:
    """The distinct values of an indexed column, one index seek each (a loose index scan),
    with the other columns of one row per value."""
    extra = "".join(
        f", (SELECT {c} FROM {table} WHERE {column} = v.x LIMIT 1) AS {c}" for c in also
    )
    return conn.rows(
        f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT min({column}) FROM {table} WHERE {column} > v.x) FROM v "
        f"WHERE v.x IS NOT NULL) SELECT x{extra} FROM v WHERE x IS NOT NULL"
    )


def _journal_key(text: str | None) -> str:
    # "N. Engl. J. Med." and "N Engl J Med" alike: no dots, lower case, single spaces.
    return " ".join((text or "").replace(".", "").lower().split())


_ISSN = re.compile(r"\d{4}-?\d{3}[\dXx]")


def journal_filter(conn: ReadConnection, params: Params, journal: str) -> Filter:
    """Articles of the journals whose title, MEDLINE or ISO abbreviation is `journal`, or whose
    full title starts with it ("Journal of clinical oncology" for its subtitled title), or of
    the journal with this ISSN."""
    key = _journal_key(journal)
    if not key:
        raise SearchError("--journal needs a journal name, abbreviation or ISSN")
    issn = journal.strip().upper()
    if _ISSN.fullmatch(issn):
        issn = issn if "-" in issn else f"{issn[:4]}-{issn[4:]}"
        value = params.add(issn)
        return article_filter(f"(a.issn = {value} OR a.issn_linking = {value})",
                              label="journal")
    # Journals are few next to articles: match their names here, then use the title index.
    titles = [
        row[0]
        for row in _distinct(conn, "articles", "journal_title", "medline_ta", "iso_abbreviation")
        if key in (_journal_key(row[0]), _journal_key(row[1]), _journal_key(row[2]))
        or _journal_key(row[0]).startswith(key + " ")
    ]
    return article_filter(f"a.journal_title IN {params.add_list(titles)}", label="journal")


def type_names(conn: ReadConnection, publication_type: str) -> list[str]:
    """The stored publication type names that are this name (any case) or UI."""
    want = publication_type.strip()
    return [row[0] for row in _distinct(conn, "publication_types", "name", "ui")
            if row[0].lower() == want.lower() or (row[1] or "") == want.upper()]


def year_filter(params: Params, year_from: int | None, year_to: int | None) -> Filter:
    conditions = []
    if year_from is not None:
        conditions.append(f"a.year >= {params.add(year_from)}")
    if year_to is not None:
        conditions.append(f"a.year <= {params.add(year_to)}")
    return article_filter(" AND ".join(conditions), label="year")


def split(node: Node | None) -> tuple[Node | None, list[Node]]:
    """The full-text part of a query that ranks it (None: no ranking), and the rest: parts
    with value tags, which select articles as filters do."""
    if node is None or is_text(node):
        return node, []
    if isinstance(node, And):
        text = [c for c in node.children if is_text(c)]
        if any(not isinstance(c, Not) for c in text):
            rest = [c for c in node.children if not is_text(c)]
            return (text[0] if len(text) == 1 else And(tuple(text))), rest
        return None, list(node.children)
    return None, [node]


def _text_filter(dialect: str, params: Params, node: Node) -> Filter:
    engine_query = to_fts5(node) if dialect == "sqlite" else to_tsquery(node)
    match = TextMatch(dialect, params.add(engine_query))
    return Filter(check=match.check, source=match.source(), label="text")


def predicate_filter(conn: ReadConnection, params: Params, node: Node) -> Filter:
    """A part of a query with value tags as a filter; its full-text parts are matched in it."""
    if isinstance(node, Field):
        return field_filter(conn, params, node)
    if isinstance(node, Not):
        return none_of(predicate_filter(conn, params, node.child))
    if is_text(node):
        return _text_filter(conn.dialect, params, node)
    assert isinstance(node, And | Or)
    # The full-text children together: one match (an AND of them needs a positive one).
    text = [c for c in node.children if is_text(c)]
    grouped = bool(text) and (isinstance(node, Or) or any(not isinstance(c, Not) for c in text))
    parts = [c for c in node.children if not (grouped and is_text(c))]
    filters = [predicate_filter(conn, params, c) for c in parts]
    if grouped:
        joined = text[0] if len(text) == 1 else type(node)(tuple(text))
        filters.insert(0, _text_filter(conn.dialect, params, joined))
    return all_of(filters) if isinstance(node, And) else any_of(filters)


def field_filter(conn: ReadConnection, params: Params, field: Field) -> Filter:
    """The articles a value tag selects: [au], [1au], [mh], [majr] (and :noexp), [pt], [ta],
    [dp], [pmid], [doi]."""
    tag, value = field.tag, field.value
    where = f"[{tag}] at column {field.column}"
    if tag in ("au", "1au"):
        key = author_key(value)
        if not key:
            raise SearchError(f"{where} needs a name, e.g. Yao JC[{tag}]")
        return author_filter(params, (FIRST_AUTHOR if tag == "1au" else "") + key, tag)
    if tag in ("mh", "mh:noexp", "majr", "majr:noexp"):
        return mesh_filter(conn.dialect, params, named_uis("mesh_descriptors", value, params),
                           None, tag.startswith("majr"), f"MeSH {value}")
    if tag == "pt":
        return type_filter(conn.dialect, params, type_names(conn, value))
    if tag == "ta":
        return journal_filter(conn, params, value)
    if tag == "dp":
        try:
            return year_filter(params, *parse_year_range(value))
        except SearchError as e:
            raise SearchError(f"{where}: {e}; [dp] takes years, as 2011[dp] or "
                              "2009:2015[dp]") from None
    if tag == "pmid":
        if not (value.isascii() and value.isdigit() and len(value) <= 9):
            raise SearchError(f"{where}: {value!r} is not a PMID")
        return article_filter(f"a.pmid = {params.add(value.lstrip('0') or '0')}", label=tag)
    # A DOI as typed, or in lower or upper case (DOIs are the same in any case).
    forms = sorted({value, value.lower(), value.upper()})
    return article_filter(f"a.doi IN {params.add_list(forms)}", label=tag)


def _filters(conn: ReadConnection, params: Params, mesh: Sequence[str], major: bool,
             qualifier: str | None, author: str | None, journal: str | None,
             year: tuple[int | None, int | None], publication_type: str | None,
             collection: str | None, flags: Sequence[str]) -> list[Filter]:
    dialect = conn.dialect
    quals = None if qualifier is None else named_uis("mesh_qualifiers", qualifier, params)
    found = [mesh_filter(dialect, params, named_uis("mesh_descriptors", term, params), quals,
                         major, f"MeSH {term}") for term in mesh]
    if quals is not None and not mesh:
        found.append(mesh_filter(dialect, params, None, quals, major, "qualifier"))
    if author is not None:
        found.append(author_filter(params, author_key(author)))
    if publication_type is not None:
        found.append(type_filter(dialect, params, type_names(conn, publication_type)))
    if collection is not None:
        found.append(collection_filter(params, collection))
    if year != (None, None):
        found.append(year_filter(params, *year))
    if journal is not None:
        found.append(journal_filter(conn, params, journal))
    found += [flag_filter(dialect, params, flag) for flag in flags]
    return found


def search(
    source: Any,
    query: str | None = None,
    *,
    mesh: Sequence[str] = (),
    major: bool = False,
    qualifier: str | None = None,
    author: str | None = None,
    journal: str | None = None,
    year: tuple[int | None, int | None] = (None, None),
    publication_type: str | None = None,
    collection: str | None = None,
    flag: str | Sequence[str] = (),
    limit: int = 20,
    highlight: tuple[str, str] = ("[", "]"),
) -> SearchResults:
    """Articles matching a full-text query and filters, best first (newest first without one).

    source is a database URL (read with a light DB-API connection), a Store, an SQLAlchemy
    Engine or Connection. Every filter narrows the result: several MeSH terms must all be
    present. The query and the filters are checked before the database is touched
    (SearchQueryError, SearchError). The result's total says how many articles pass.
    """
    node = parse_query(query) if query is not None and query.strip() else None
    if isinstance(mesh, str):
        mesh = (mesh,)
    mesh = [m for m in mesh if m and m.strip()]
    if major and not mesh and not qualifier:
        raise SearchError("--major needs --mesh or --qualifier to say which heading is major")
    if limit < 1:
        raise SearchError(f"limit must be at least 1, not {limit}")
    year_from, year_to = year
    if year_from is not None and year_to is not None and year_from > year_to:
        raise SearchError(f"bad year range: {year_from} is after {year_to}")
    if author is not None and not author_key(author):
        raise SearchError("--author needs a name, e.g. 'Yao' or 'Yao JC'")
    if publication_type is not None and not publication_type.strip():
        raise SearchError("--type needs a publication type, e.g. 'Randomized Controlled Trial'")
    flags = (flag,) if isinstance(flag, str) else tuple(flag)
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise SearchError(f"unknown flag {unknown[0]!r}; flags: {', '.join(FLAGS)}")

    with translated(), reading(source) as conn:
        return _run(conn, node, mesh, major, qualifier, author, journal, (year_from, year_to),
                    publication_type, collection, flags, limit, highlight)


def _run(conn: ReadConnection, node: Node | None, mesh, major, qualifier, author, journal,
         year, publication_type, collection, flags, limit, highlight) -> SearchResults:
    params = Params()
    ranked, predicates = split(node)
    text = None
    if ranked is not None:
        engine_query = to_fts5(ranked) if conn.dialect == "sqlite" else to_tsquery(ranked)
        text = TextMatch(conn.dialect, params.add(engine_query))
    filters = [predicate_filter(conn, params, p) for p in predicates]
    filters += _filters(conn, params, mesh, major, qualifier, author, journal, year,
                        publication_type, collection, flags)
    row = conn.one(estimates_sql(text, filters, collection, params), params)
    assert row is not None
    counts = list(row[1:])
    _check_estimates(conn, row[0], collection, counts)
    matches = counts.pop(0) if text is not None else None
    driver = choose_driver(matches, filters, counts)
    rows = conn.rows(hits_sql(conn.dialect, text, filters, driver, limit, collection,
                              snippets=ranked is not None, params=params), params)
    terms = positive_terms(node) if node is not None else []
    hits = []
    for pmid, score, _total, title, year_, doi, journal_, types, cites, *doc in rows:
        text_snippet = snippet(document(title, *doc), terms, highlight) if doc else None
        hits.append(SearchHit(
            pmid=pmid, title=title, year=year_, journal=journal_,
            score=None if score is None else round(float(score), 4), snippet=text_snippet,
            cited_by=tuple(key if collection is not None else f"{name}:{key}"
                           for name, key in as_list(cites)),
            doi=doi, publication_types=tuple(as_list(types)),
        ))
    total = int(rows[0][2]) if rows else 0
    return SearchResults(hits, total=total, exact=text is not None or total <= COUNT_CAP)
