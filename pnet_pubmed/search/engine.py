"""Running a search: filters, ranking by the full-text engine, and the details of each hit."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import StoreError
from ..store import schema as t
from .compile import BM25_WEIGHTS, PG_RANK_WEIGHTS, to_fts5, to_tsquery
from .errors import SearchError
from .index import INDEX_TABLES, documents
from .query import Node, parse_query, positive_terms
from .results import SearchHit, SearchResults
from .snippets import snippet
from .tokens import author_key

# Ranking costs per matching article; beyond this many matches, the ones stored last are ranked.
RANK_POOL = 10_000
# With filters that many articles pass, the best so many matches are filtered first; all of
# them only when that leaves too few hits.
PREFILTER_POOLS = (300, 3000)
# Filters that fewer articles pass than this are read whole; others are checked per article.
SELECTIVE = 2000


@contextmanager
def _reading(source) -> Iterator[sa.Connection]:
    """A connection that does not write: the Store's read-only one, or a guarded one."""
    if isinstance(source, sa.Connection):
        yield source
        return
    if hasattr(source, "read_only_connection"):
        with source.read_only_connection() as conn:
            yield conn
        return
    if not isinstance(source, sa.Engine):
        raise TypeError(f"search needs a Store, an Engine or a Connection, not {source!r}")
    with source.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
            try:
                yield conn
            finally:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA query_only = OFF")
        else:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield conn
            finally:
                conn.rollback()


def _database_errors() -> tuple[type[BaseException], ...]:
    return (sa.exc.SQLAlchemyError, sqlite3.Error, StoreError)


def _db_error(err: BaseException) -> SearchError:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    line = next((s.strip() for s in text.splitlines() if s.strip()), type(err).__name__)
    if ("no such table" in line or "does not exist" in line) and (
        "article_search" in line or "article_fts" in line or "article_author_keys" in line
    ):
        return SearchError("the database has no search index: run `pnet-pubmed db upgrade`")
    if "no such table" in line or "does not exist" in line:
        return SearchError(f"the database is not set up ({line}): run `pnet-pubmed db upgrade`")
    return SearchError(f"search failed: {line}")


@dataclass(frozen=True)
class _Filter:
    """Articles whose PMID is in `pmid` of the rows of `source` that satisfy the conditions
    `where(col)` builds, where `col` wraps each column it compares."""

    pmid: sa.ColumnElement
    source: sa.FromClause
    where: Callable[[Callable], tuple]

    def select(self) -> sa.Select:
        return sa.select(self.pmid).select_from(self.source).where(*self.where(_same))

    def condition(self, conn: sa.Connection, pmid_col) -> tuple[sa.ColumnElement[bool], bool]:
        """The condition on pmid_col, and whether few articles pass it.

        A filter that few articles pass is read whole, once, and becomes a list of PMIDs; one
        that many pass is checked article by article (EXISTS), so that walking articles newest
        first, or the full-text matches best first, stops early.
        """
        first = conn.execute(self.select().distinct().limit(SELECTIVE)).scalars().all()
        if len(first) < SELECTIVE:
            return pmid_col.in_(first), True
        # Checked per article, the lookup must start from the PMID (the primary key). SQLite
        # has no statistics (nothing runs ANALYZE) and would as soon walk the index of the
        # other column for every article: a unary + keeps it off that index.
        col = _unindexed(conn) if conn.dialect.name == "sqlite" else _same
        return sa.exists(
            sa.select(sa.literal(1)).select_from(self.source)
            .where(self.pmid == pmid_col, *self.where(col))
        ), False


def _same(col):
    return col


def _unindexed(conn: sa.Connection) -> Callable:
    prepare = conn.dialect.identifier_preparer

    def plus(col):
        return sa.literal_column("+" + prepare.format_column(col, use_table=True), col.type)

    return plus


def _mesh_filter(term: str | None, qualifier: str | None, major: bool) -> _Filter:
    h, q = t.article_mesh_headings, t.article_mesh_qualifiers
    d, mq = t.mesh_descriptors, t.mesh_qualifiers

    def named(table: sa.Table, value: str):
        # Names case-insensitively, or the UI ("D007340", "Q000188").
        return sa.select(table.c.ui).where(
            sa.or_(sa.func.lower(table.c.name) == value.strip().lower(),
                   table.c.ui == value.strip().upper())
        )

    def starred_qualifier():
        return sa.exists().where(
            q.c.pmid == h.c.pmid, q.c.heading_position == h.c.position, q.c.major == sa.true()
        )

    if qualifier is None:
        def where(col) -> tuple:
            out = []
            if term is not None:
                out.append(col(h.c.descriptor_ui).in_(named(d, term)))
            if major:
                out.append(sa.or_(col(h.c.major) == sa.true(), starred_qualifier()))
            return tuple(out)

        return _Filter(h.c.pmid, h, where)

    def pair_where(col) -> tuple:
        out = [col(q.c.qualifier_ui).in_(named(mq, qualifier))]
        if term is not None:
            out.append(col(q.c.descriptor_ui).in_(named(d, term)))
        if major:
            # The pair Descriptor/qualifier is major when either half is starred.
            out.append(sa.or_(h.c.major == sa.true(), col(q.c.major) == sa.true()))
        return tuple(out)

    source = sa.join(q, h, sa.and_(h.c.pmid == q.c.pmid, h.c.position == q.c.heading_position))
    return _Filter(q.c.pmid, source, pair_where)


def _journal_key(text: str | None) -> str:
    # "N. Engl. J. Med." and "N Engl J Med" alike: no dots, lower case, single spaces.
    return " ".join((text or "").replace(".", "").lower().split())


def _distinct(conn: sa.Connection, table: str, column: str, *also: str) -> list[sa.Row]:
    """The distinct values of an indexed column, one index seek each (a loose index scan),
    with the other columns of one row per value."""
    extra = "".join(
        f", (SELECT {c} FROM {table} WHERE {column} = v.x LIMIT 1) AS {c}" for c in also
    )
    return conn.execute(sa.text(
        f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT min({column}) FROM {table} WHERE {column} > v.x) FROM v "
        f"WHERE v.x IS NOT NULL) SELECT x{extra} FROM v WHERE x IS NOT NULL"
    )).all()


_ISSN = re.compile(r"\d{4}-?\d{3}[\dXx]")


def _journal_condition(conn: sa.Connection, a, journal: str) -> sa.ColumnElement[bool]:
    """Articles of the journals whose title, MEDLINE or ISO abbreviation is `journal`, or whose
    full title starts with it ("Journal of clinical oncology" for its subtitled title)."""
    key = _journal_key(journal)
    if not key:
        raise SearchError("--journal needs a journal name, abbreviation or ISSN")
    issn = journal.strip().upper()
    if _ISSN.fullmatch(issn):
        issn = issn if "-" in issn else f"{issn[:4]}-{issn[4:]}"
        return sa.or_(a.issn == issn, a.issn_linking == issn)
    # Journals are few next to articles: match their names here, then use the title index.
    titles = [
        row.x
        for row in _distinct(conn, "articles", "journal_title", "medline_ta", "iso_abbreviation")
        if key in (_journal_key(row.x), _journal_key(row.medline_ta),
                   _journal_key(row.iso_abbreviation))
        or _journal_key(row.x).startswith(key + " ")
    ]
    return a.journal_title.in_(titles)


def search(
    source,
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
    limit: int = 20,
    highlight: tuple[str, str] = ("[", "]"),
) -> SearchResults:
    """Articles matching a full-text query and filters, best first (newest first without one).

    source is a Store (read through its read-only connection), an Engine or a Connection.
    Every filter narrows the result: several MeSH terms must all be present. The query and
    the filters are checked before the database is touched (SearchQueryError, SearchError).
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

    try:
        with _reading(source) as conn:
            return _run(conn, node, mesh, major, qualifier, author, journal, year_from,
                        year_to, publication_type, collection, limit, highlight)
    except SearchError:
        raise
    except _database_errors() as e:
        raise _db_error(e) from e


def _ranked_sqlite(node: Node, conds: list, article_conds: list, limit: int):
    """(statement of the ranked matches given a rowid floor, statement of that floor)."""
    fts = sa.table("article_fts", sa.column("rowid"))
    s = sa.table("article_search", sa.column("id"), sa.column("pmid"))
    rank = sa.func.bm25(sa.literal_column("article_fts"), *BM25_WEIGHTS)
    match = sa.text("article_fts MATCH :fts_query").bindparams(fts_query=to_fts5(node))
    floor = (
        sa.select(fts.c.rowid).where(match).order_by(fts.c.rowid.desc())
        .offset(RANK_POOL - 1).limit(1)
    )

    def matched(floor_value, best_of: int | None):
        pool = [fts.c.rowid >= floor_value] if floor_value is not None else []
        if best_of is not None or (not conds and not article_conds):
            # Rank inside the index, then look up and filter only the best few.
            best = (
                sa.select(fts.c.rowid, rank.label("rank")).where(match, *pool)
                .order_by(rank).limit(best_of or limit).subquery()
            )
            frm = best.join(s, s.c.id == best.c.rowid)
            if article_conds:
                frm = frm.join(t.articles, t.articles.c.pmid == s.c.pmid)
            return (
                sa.select(s.c.pmid, (-best.c.rank).label("score")).select_from(frm)
                .where(*conds, *article_conds).order_by(best.c.rank).limit(limit)
            )
        frm = fts.join(s, s.c.id == fts.c.rowid)
        if article_conds:
            frm = frm.join(t.articles, t.articles.c.pmid == s.c.pmid)
        return (
            sa.select(s.c.pmid, (-rank).label("score")).select_from(frm)
            .where(match, *pool, *conds, *article_conds)
            .order_by(rank).limit(limit)
        )

    return matched, floor


def _ranked_postgresql(node: Node, conds: list, article_conds: list, limit: int):
    s = sa.table("article_search", sa.column("id"), sa.column("pmid"), sa.column("document"))
    tsq = sa.text("CAST(:tsq AS tsquery)").bindparams(tsq=to_tsquery(node))
    match = s.c.document.op("@@")(tsq)
    rank = sa.func.ts_rank_cd(sa.text(f"'{PG_RANK_WEIGHTS}'::float4[]"), s.c.document, tsq, 1)
    floor = sa.select(s.c.id).where(match).order_by(s.c.id.desc()).offset(RANK_POOL - 1).limit(1)

    def matched(floor_value, best_of: int | None):
        pool = [s.c.id >= floor_value] if floor_value is not None else []
        frm = s
        if article_conds:
            frm = frm.join(t.articles, t.articles.c.pmid == s.c.pmid)
        return (
            sa.select(s.c.pmid, rank.label("score")).select_from(frm)
            .where(match, *pool, *conds, *article_conds)
            .order_by(rank.desc(), s.c.pmid).limit(limit)
        )

    return matched, floor


def _run(conn, node, mesh, major, qualifier, author, journal, year_from, year_to,
         publication_type, collection, limit, highlight) -> SearchResults:
    dialect = conn.dialect.name
    if dialect not in INDEX_TABLES:
        raise SearchError(f"full-text search is not available on {dialect}")
    a = t.articles.c
    r, c = t.refs.c, t.collections.c
    if collection is not None:
        found = conn.execute(sa.select(c.id).where(c.name == collection)).first()
        if found is None:
            names = conn.execute(sa.select(c.name).order_by(c.name)).scalars().all()
            known = ", ".join(names) if names else "none yet"
            raise SearchError(f"no collection named {collection!r} (collections: {known})")

    def conditions(pmid_col) -> list:
        filters = [_mesh_filter(term, qualifier, major) for term in mesh]
        if qualifier is not None and not mesh:
            filters.append(_mesh_filter(None, qualifier, major))
        if author is not None:
            keys = sa.table("article_author_keys", sa.column("pmid"), sa.column("key"))
            key = author_key(author)
            filters.append(_Filter(keys.c.pmid, keys, lambda col: (keys.c.key == key,)))
        if publication_type is not None:
            p = t.publication_types
            filters.append(_Filter(p.c.pmid, p, lambda col: (col(p.c.name).in_(type_names),)))
        if collection is not None:
            filters.append(_Filter(
                r.pmid, sa.join(t.refs, t.collections, r.collection_id == c.id),
                lambda col: (c.name == collection, r.status == "matched"),
            ))
        return [f.condition(conn, pmid_col) for f in filters]

    type_names: list[str] = []
    if publication_type is not None:
        # Case-insensitive by name or UI, resolved here so the query can use the name index.
        want = publication_type.strip()
        type_names = [row.x for row in _distinct(conn, "publication_types", "name", "ui")
                      if row.x.lower() == want.lower() or (row.ui or "") == want.upper()]
    article_conds = []
    if year_from is not None:
        article_conds.append(a.year >= year_from)
    if year_to is not None:
        article_conds.append(a.year <= year_to)
    if journal is not None:
        article_conds.append(_journal_condition(conn, a, journal))

    checked = conditions(a.pmid if node is None else sa.literal_column("article_search.pmid"))
    conds = [cond for cond, _ in checked]
    # Few articles pass the filters: rank every match that does. Else rank the best matches
    # first and filter them, going on to all of them only if that leaves too few.
    few = any(selective for _, selective in checked) or not (conds or article_conds)
    capped = False
    if node is None:
        if dialect == "sqlite":
            # SQLite sorts NULL lowest, so DESC puts it last already; an explicit NULLS LAST,
            # or a tie-break the year index does not hold, would stop it walking that index.
            order = (a.year.desc(), sa.literal_column("articles.rowid").desc())
        else:
            order = (a.year.desc().nulls_last(), a.pmid.desc())
        ranked = conn.execute(
            sa.select(a.pmid, sa.null().label("score"))
            .where(*conds, *article_conds).order_by(*order).limit(limit)
        ).all()
    else:
        build = _ranked_sqlite if dialect == "sqlite" else _ranked_postgresql
        matched, floor = build(node, conds, article_conds, limit)
        # The rank function costs per matching article: a query that matches more than
        # RANK_POOL of them ranks the RANK_POOL stored last, unless that leaves too few hits.
        floor_value = conn.execute(floor).scalar()
        ranked = []
        # PostgreSQL's planner has statistics and orders ranking and filtering itself.
        for best_of in () if few or dialect != "sqlite" else PREFILTER_POOLS:
            ranked = conn.execute(matched(floor_value, max(best_of, limit))).all()
            if len(ranked) >= limit:
                break
        if len(ranked) < limit:
            ranked = conn.execute(matched(floor_value, None)).all()
        if floor_value is not None:
            if len(ranked) < limit:
                ranked = conn.execute(matched(None, None)).all()
            else:
                capped = True
    pmids = [row.pmid for row in ranked]
    if not pmids:
        return SearchResults()

    details = {
        row.pmid: row
        for row in conn.execute(
            sa.select(a.pmid, a.title, a.year, a.doi, sa.func.coalesce(
                a.iso_abbreviation, a.medline_ta, a.journal_title).label("journal"))
            .where(a.pmid.in_(pmids))
        )
    }
    cites: dict[str, list[str]] = defaultdict(list)
    cq = (
        sa.select(c.name, r.key, r.pmid)
        .join_from(t.refs, t.collections, r.collection_id == c.id)
        .where(r.pmid.in_(pmids), r.status == "matched")
        .order_by(c.name, r.position, r.key)
    )
    if collection is not None:
        cq = cq.where(c.name == collection)
    for row in conn.execute(cq):
        cites[row.pmid].append(row.key if collection is not None else f"{row.name}:{row.key}")
    p = t.publication_types.c
    types: dict[str, list[str]] = defaultdict(list)
    for row in conn.execute(
        sa.select(p.pmid, p.name).where(p.pmid.in_(pmids)).order_by(p.pmid, p.position)
    ):
        types[row.pmid].append(row.name)
    docs = documents(conn, pmids) if node is not None else {}
    terms = positive_terms(node) if node is not None else []

    hits = SearchResults()
    hits.capped = capped
    for row in ranked:
        d = details[row.pmid]
        score = None if row.score is None else round(float(row.score), 4)
        text = snippet(docs[row.pmid], terms, highlight) if row.pmid in docs else None
        hits.append(SearchHit(
            pmid=row.pmid, title=d.title, year=d.year, journal=d.journal, score=score,
            snippet=text, cited_by=tuple(cites.get(row.pmid, ())), doi=d.doi,
            publication_types=tuple(types.get(row.pmid, ())),
        ))
    return hits
