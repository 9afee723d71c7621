"""Query planning: which part of a search drives it, and the one statement that runs it.

A search is two statements. The first measures, capped at CAP rows each, how many articles
the full-text match and each filter let through (and reads the schema revision). The second
drives from the smallest of them: the full-text matches, checking each filter per match; or
the articles of a small filter, checking the match per article; or, without query text, the
articles newest first. It ranks every article that passes (the true top k by the ranking
function), and returns the hits with everything shown about them (title, journal, types, the
references citing them, the text for snippets) in the same statement.

Ranking: SQLite's FTS5 bm25() with a weight per column; PostgreSQL's ts_rank_cd() with a
weight per label. Ties go to the higher PMID (the newer record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .compile import BM25_WEIGHTS, PG_RANK_WEIGHTS
from .documents import document_columns, json_list
from .filters import Filter, Params, _standalone

# How many rows the first statement counts at most per part; a part under it may drive.
CAP = 5000
# How many hits past which a filters-only search says "more than" instead of counting them.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class TextMatch:
    """The full-text part of a search in its engine's language (FTS5 MATCH text or tsquery)."""

    dialect: str
    param: str  # the placeholder its text is bound to

    def source(self) -> str:
        """A SELECT of the PMIDs of the matching articles (column pmid)."""
        if self.dialect == "sqlite":
            return (f"SELECT CAST(f.rowid AS TEXT) AS pmid FROM article_fts f "
                    f"WHERE f.article_fts MATCH {self.param}")
        return f"SELECT s.pmid FROM article_search s WHERE s.document @@ {self.tsquery}"

    def check(self, pmid: str) -> str:
        """Whether the article with this PMID expression matches."""
        if self.dialect == "sqlite":
            return (f"EXISTS (SELECT 1 FROM article_fts f WHERE f.article_fts MATCH "
                    f"{self.param} AND f.rowid = CAST({pmid} AS INTEGER))")
        return (f"EXISTS (SELECT 1 FROM article_search s WHERE s.pmid = {pmid} "
                f"AND s.document @@ {self.tsquery})")

    @property
    def tsquery(self) -> str:
        return f"CAST({self.param} AS tsquery)"


@dataclass(frozen=True)
class _Ranked:
    """The parts of the hits statement one strategy fills in."""

    select: str  # the hits: pmid, score, tie (a PMID-ordered tie-break)
    total: str  # a scalar subquery: how many articles pass
    order: str  # the order of the hits, on h (the hits) and a (their articles rows)
    candidates: str | None = None  # a driver's PMIDs, computed first


def estimates_sql(text: TextMatch | None, filters: Sequence[Filter], collection: str | None,
                  params: Params) -> str:
    """One row: the schema revision, whether the collection exists, then the capped count of
    the full-text matches (when there is query text) and of each filter with a source."""
    cap = params.add(CAP)
    parts = ["(SELECT version_num FROM alembic_version)"]
    if collection is not None:
        parts.append(f"(SELECT count(*) FROM collections WHERE name = {params.add(collection)})")
    sources = ([text.source()] if text is not None else []) + [
        f.source for f in filters if f.source is not None]
    parts += [f"(SELECT count(*) FROM ({s} LIMIT {cap}) n)" for s in sources]
    return "SELECT " + ", ".join(parts)


def choose_driver(matches: int | None, filters: Sequence[Filter],
                  counts: Sequence[int]) -> Filter | None:
    """The filter that drives the search, or None: the full-text matches drive (with query
    text), or the articles newest first (without). A filter drives when fewer than CAP articles
    pass it, and fewer than the matches."""
    sized = sorted((n, i) for i, n in enumerate(counts))
    if not sized:
        return None
    n, i = sized[0]
    if n >= CAP or (matches is not None and n >= matches):
        return None
    return [f for f in filters if f.source is not None][i]


def hits_sql(dialect: str, text: TextMatch | None, filters: Sequence[Filter],
             driver: Filter | None, limit: int, collection: str | None, snippets: bool,
             params: Params) -> str:
    """The statement of the hits: pmid, score, total, then the details of each (see
    detail_columns), best first."""
    others = [f for f in filters if f is not driver]
    lim = params.add(limit)
    if text is None:
        part = _newest(dialect, others, driver, lim, params)
    elif dialect == "sqlite":
        part = _sqlite_ranked(text, others, driver, lim)
    else:
        part = _pg_ranked(text, others, driver, lim)
    details = ", ".join(detail_columns(dialect, collection, snippets, params))
    ctes = [] if part.candidates is None else [f"candidates AS MATERIALIZED ({part.candidates})"]
    ctes.append(f"hits AS ({part.select})")
    return (f"WITH {', '.join(ctes)} SELECT h.pmid, h.score, {part.total}, {details} "
            f"FROM hits h JOIN articles a ON a.pmid = h.pmid ORDER BY {part.order}")


def _checks(filters: Sequence[Filter], pmid: str) -> str:
    return "".join(f" AND {_standalone(f, pmid)}" for f in filters)


def _candidates(driver: Filter | None) -> str | None:
    return None if driver is None else f"SELECT DISTINCT d.pmid FROM ({driver.source}) d"


def _sqlite_ranked(text: TextMatch, others: Sequence[Filter], driver: Filter | None,
                   lim: str) -> _Ranked:
    rank = f"bm25(f.article_fts, {', '.join(str(w) for w in BM25_WEIGHTS)})"
    where = f"f.article_fts MATCH {text.param}{_checks(others, 'CAST(f.rowid AS TEXT)')}"
    # CROSS JOIN: SQLite keeps the candidates as the outer loop, one index seek each.
    frm = "article_fts f" if driver is None else (
        "candidates c CROSS JOIN article_fts f ON f.rowid = CAST(c.pmid AS INTEGER)")
    select = (f"SELECT CAST(f.rowid AS TEXT) AS pmid, -{rank} AS score, f.rowid AS tie "
              f"FROM {frm} WHERE {where} ORDER BY {rank}, f.rowid DESC LIMIT {lim}")
    return _Ranked(select, f"(SELECT count(*) FROM {frm} WHERE {where})",
                   "h.score DESC, h.tie DESC", _candidates(driver))


def _pg_ranked(text: TextMatch, others: Sequence[Filter], driver: Filter | None,
               lim: str) -> _Ranked:
    score = f"ts_rank_cd('{PG_RANK_WEIGHTS}'::float4[], s.document, {text.tsquery}, 1)"
    where = f"s.document @@ {text.tsquery}{_checks(others, 's.pmid')}"
    frm = "article_search s" if driver is None else (
        "candidates c JOIN article_search s ON s.pmid = c.pmid")
    tie = "length(s.pmid) DESC, s.pmid DESC"
    select = (f"SELECT s.pmid, {score} AS score FROM {frm} WHERE {where} "
              f"ORDER BY score DESC, {tie} LIMIT {lim}")
    return _Ranked(select, f"(SELECT count(*) FROM {frm} WHERE {where})",
                   "h.score DESC, length(h.pmid) DESC, h.pmid DESC", _candidates(driver))


def _newest(dialect: str, others: Sequence[Filter], driver: Filter | None, lim: str,
            params: Params) -> _Ranked:
    """Without query text: the articles that pass every filter, newest first."""
    where = "1 = 1" + _checks(others, "a.pmid")
    if dialect == "sqlite":
        # SQLite sorts NULL lowest, so DESC puts it last already; an explicit NULLS LAST, or a
        # tie-break the year index does not hold, would stop it walking that index.
        order = "a.year DESC, a.rowid DESC"
        frm = "articles a" if driver is None else (
            "candidates c CROSS JOIN articles a ON a.pmid = c.pmid")
    else:
        order = "a.year DESC NULLS LAST, length(a.pmid) DESC, a.pmid DESC"
        frm = "articles a" if driver is None else (
            "candidates c JOIN articles a ON a.pmid = c.pmid")
    select = f"SELECT a.pmid, NULL AS score FROM {frm} WHERE {where} ORDER BY {order} LIMIT {lim}"
    cap = params.add(COUNT_CAP + 1)
    total = f"(SELECT count(*) FROM (SELECT 1 FROM {frm} WHERE {where} LIMIT {cap}) n)"
    return _Ranked(select, total, order, _candidates(driver))


def detail_columns(dialect: str, collection: str | None, snippets: bool,
                   params: Params) -> list[str]:
    """What a hit shows, on the alias a of its articles row: title, year, DOI, journal, its
    publication types and the references citing it (JSON arrays), and with snippets the
    lists of its document (documents.DOCUMENT_LISTS)."""
    cites_where = ("refs r JOIN collections c ON c.id = r.collection_id "
                   "WHERE r.pmid = a.pmid AND r.status = 'matched'")
    if collection is not None:
        cites_where += f" AND c.name = {params.add(collection)}"
    columns = [
        "a.title", "a.year", "a.doi",
        "coalesce(a.iso_abbreviation, a.medline_ta, a.journal_title)",
        json_list(dialect, "x.name", "publication_types x WHERE x.pmid = a.pmid", "x.position"),
        json_list(dialect, "json_array(c.name, r.key)", cites_where,
                  "c.name, r.position, r.key"),
    ]
    if snippets:
        columns += document_columns(dialect, "a.pmid")
    return columns
