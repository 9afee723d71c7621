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
from .filters import Filter, Params, exists

# How many rows the first statement counts at most per part; a part under it may drive.
CAP = 5000
# SQLite: how many full-text matches it counts at most.
TEXT_CAP = 50_000
# Driving from a filter costs about its size; walking articles newest first until `limit`
# pass costs about limit * articles / size: a filter drives below sqrt(DRIVE * limit * N).
DRIVE = 0.3
# How many hits past which a search that would have to check its filters on every article
# (filters alone, or a frequent word's list with filters) says "more than" instead of counting.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class TextMatch:
    """The full-text part of a search in its engine's language (FTS5 MATCH text or tsquery)."""

    dialect: str
    param: str  # the placeholder its text is bound to
    single: bool = False  # one phrase, prefix or word, without AND, OR or NOT

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
        return exists(self.dialect, f"article_search s WHERE s.pmid = {pmid} "
                                    f"AND s.document @@ {self.tsquery}")

    @property
    def tsquery(self) -> str:
        return f"CAST({self.param} AS tsquery)"


@dataclass(frozen=True)
class _Ranked:
    """The parts of the hits statement one strategy fills in."""

    select: str  # the hits: pmid, score, tie (a PMID-ordered tie-break)
    passing: str  # FROM … WHERE … of every article that passes, or the CTE that holds them
    order: str  # the order of the hits, on h (the hits) and a (their articles rows)
    ctes: tuple[str, ...] = ()  # computed first, each once
    counted: bool = False  # passing is a CTE of them all: the total is exact


def estimates_sql(text: TextMatch | None, filters: Sequence[Filter], collection: str | None,
                  params: Params, dialect: str = "sqlite") -> str:
    """One row: the schema revision, about how many articles are stored, whether the
    collection exists, then the capped count of the full-text matches (when there is query
    text) and of each filter with a source."""
    cap = params.add(CAP)
    stored = ("(SELECT max(rowid) FROM articles)" if dialect == "sqlite" else
              "(SELECT CAST(reltuples AS bigint) FROM pg_class WHERE oid = 'articles'::regclass)")
    parts = ["(SELECT version_num FROM alembic_version)", stored]
    if collection is not None:
        parts.append(f"(SELECT count(*) FROM collections WHERE name = {params.add(collection)})")
    if text is not None:
        # SQLite counts the matches of several words further (a doclist walk, about 0.1 µs a
        # match): whether they are worth reading from their lists depends on it.
        text_cap = params.add(TEXT_CAP) if dialect == "sqlite" and not text.single else cap
        parts.append(f"(SELECT count(*) FROM ({text.source()} LIMIT {text_cap}) n)")
    sources = [f.source for f in filters if f.source is not None]
    parts += [f"(SELECT count(*) FROM ({s} LIMIT {cap}) n)" for s in sources]
    return "SELECT " + ", ".join(parts)


def smallest(filters: Sequence[Filter], counts: Sequence[int]) -> tuple[Filter | None, int]:
    """The filter with a source that the fewest articles pass, and its capped count."""
    sourced = [f for f in filters if f.source is not None]
    if not sourced:
        return None, 0
    n, i = min((n, i) for i, n in enumerate(counts))
    return sourced[i], n


def choose_driver(matches: int | None, filters: Sequence[Filter], counts: Sequence[int],
                  stored: int | None, limit: int) -> Filter | None:
    """The filter that drives the search, or None: the full-text matches drive (with query
    text), or the articles newest first (without). With query text, a filter drives when
    fewer than CAP articles pass it, and fewer than the matches; without, when so few pass it
    that reading them all costs less than walking the articles newest first."""
    found, n = smallest(filters, counts)
    if found is None or n >= CAP:
        return None
    if matches is not None:
        return found if n < matches else None
    # PostgreSQL says -1 (or 0) before the table was ever analysed: assume many articles.
    articles = stored if stored and stored > 0 else 10**9
    return found if n * n < DRIVE * limit * articles else None


def hits_sql(dialect: str, text: TextMatch | None, filters: Sequence[Filter],
             driver: Filter | None, counter: Filter | None, limit: int,
             collection: str | None, snippets: bool, params: Params) -> str:
    """The statement of the hits: pmid, score, total (counted up to COUNT_CAP + 1), then the
    details of each (see detail_columns), best first. Without query text and a driver, the
    total is counted from the counter's articles (the filter the fewest pass)."""
    others = [f for f in filters if f is not driver]
    lim = params.add(limit)
    if text is None:
        part = _newest(dialect, others, driver, lim)
    else:
        part = _ranked(text, others, driver, lim)
    passing = part.passing
    if text is None and driver is None and counter is not None:
        passing = (f"({_candidates(counter)}) c WHERE 1 = 1"
                   + _checks([f for f in filters if f is not counter], "c.pmid"))
    if part.counted:
        total = f"(SELECT count(*) FROM {passing})"
    else:
        cap = params.add(COUNT_CAP + 1)
        total = f"(SELECT count(*) FROM (SELECT 1 FROM {passing} LIMIT {cap}) n)"
    details = ", ".join(detail_columns(dialect, collection, snippets, params))
    ctes = [*part.ctes, f"hits AS ({part.select})"]
    if driver is not None:
        ctes.insert(0, f"candidates AS MATERIALIZED ({_candidates(driver)})")
    return (f"WITH {', '.join(ctes)} SELECT h.pmid, h.score, {total}, {details} "
            f"FROM hits h JOIN articles a ON a.pmid = h.pmid ORDER BY {part.order}")


def given_hits_sql(dialect: str, hits: Sequence[tuple[str, float]], total: int,
                   collection: str | None, snippets: bool, params: Params) -> str:
    """The statement of hits found elsewhere (words.py), as hits_sql returns them: pmid,
    score, total, then the details of each, in the given order."""
    values = ", ".join(f"({params.add(pmid)}, {params.add(score)}, {i})"
                       for i, (pmid, score) in enumerate(hits))
    details = ", ".join(detail_columns(dialect, collection, snippets, params))
    return (f"WITH hits (pmid, score, position) AS (VALUES {values}) "
            f"SELECT h.pmid, h.score, {params.add(total)}, {details} "
            f"FROM hits h JOIN articles a ON a.pmid = h.pmid ORDER BY h.position")


def _checks(filters: Sequence[Filter], pmid: str, on_articles: bool = False) -> str:
    """" AND …" for each filter's check of the PMID expression; on_articles: the query reads
    the article's row as `a`, where conditions on it apply as they are."""
    return "".join(f" AND {f.row('a') if on_articles and f.row else f.check(pmid)}"
                   for f in filters)


def _candidates(driver: Filter | None) -> str | None:
    return None if driver is None else f"SELECT DISTINCT d.pmid FROM ({driver.source}) d"


def _ranked(text: TextMatch, others: Sequence[Filter], driver: Filter | None,
            lim: str) -> _Ranked:
    """Every passing match with its score, computed once: the hits are its best, the total
    its size. SQLite reads the PMID from the FTS5 rowid; PostgreSQL from article_search."""
    if text.dialect == "sqlite":
        score = f"-bm25(f.article_fts, {', '.join(str(w) for w in BM25_WEIGHTS)})"
        key, where = "f.rowid", f"f.article_fts MATCH {text.param}"
        pmid, key_pmid = "CAST(f.rowid AS TEXT)", "CAST(tie AS TEXT)"  # the rowid is the PMID
        # CROSS JOIN: SQLite keeps the candidates as the outer loop, one index seek each.
        frm = "article_fts f" if driver is None else (
            "candidates c CROSS JOIN article_fts f ON f.rowid = CAST(c.pmid AS INTEGER)")
    else:
        score = f"ts_rank_cd('{PG_RANK_WEIGHTS}'::float4[], s.document, {text.tsquery}, 1)"
        key, where = "s.pmid", f"s.document @@ {text.tsquery}"
        pmid, key_pmid = "s.pmid", "tie"
        frm = "article_search s" if driver is None else (
            "candidates c JOIN article_search s ON s.pmid = c.pmid")
    if text.dialect == "sqlite" and driver is None and not others and text.single:
        # One phrase or prefix, nothing else: FTS5 counts its matches from one doclist, far
        # cheaper than keeping every scored match to count them; the sort keeps only the hits.
        select = (f"SELECT {pmid} AS pmid, {score} AS score, {key} AS tie FROM {frm} "
                  f"WHERE {where} ORDER BY score DESC, tie DESC LIMIT {lim}")
        return _Ranked(select, f"{frm} WHERE {where}", "h.score DESC, h.tie DESC",
                       counted=True)
    matched = (f"matched AS MATERIALIZED (SELECT {key} AS tie, {score} AS score "
               f"FROM {frm} WHERE {where}{_checks(others, pmid)})")

    def order(at: str) -> str:
        # Ties go to the higher PMID: a number on SQLite, digits (longer is higher) on PG.
        if text.dialect == "sqlite":
            return f"{at}score DESC, {at}tie DESC"
        return f"{at}score DESC, length({at}tie) DESC, {at}tie DESC"

    select = f"SELECT {key_pmid} AS pmid, score, tie FROM matched ORDER BY {order('')} LIMIT {lim}"
    return _Ranked(select, "matched", order("h."), (matched,), counted=True)


def _newest(dialect: str, others: Sequence[Filter], driver: Filter | None,
            lim: str) -> _Ranked:
    """Without query text: the articles that pass every filter, newest first."""
    where = "1 = 1" + _checks(others, "a.pmid", on_articles=True)
    if dialect == "sqlite":
        # SQLite sorts NULL lowest, so DESC puts it last already; an explicit NULLS LAST, or a
        # tie-break the year index does not hold, would stop it walking that index.
        order = "a.year DESC, a.rowid DESC"
        frm = "articles a" if driver is None else (
            "candidates c CROSS JOIN articles a ON a.pmid = c.pmid")
    else:
        order = "a.year DESC NULLS LAST, a.pmid DESC"
        frm = "articles a" if driver is None else (
            "candidates c JOIN articles a ON a.pmid = c.pmid")
        if driver is None:
            # The (year, pmid) index walked backwards gives this order, NULL years first:
            # those come from a branch of their own, so that the walk stops after the hits.
            branches = [f"(SELECT a.pmid, a.year FROM articles a WHERE a.year IS {test} AND "
                        f"{where} ORDER BY {key} LIMIT {lim})"
                        for test, key in (("NOT NULL", "a.year DESC, a.pmid DESC"),
                                          ("NULL", "a.pmid DESC"))]
            select = (f"SELECT w.pmid, NULL AS score FROM ({' UNION ALL '.join(branches)}) w "
                      f"ORDER BY w.year DESC NULLS LAST, w.pmid DESC LIMIT {lim}")
            return _Ranked(select, f"{frm} WHERE {where}", order)
    select = f"SELECT a.pmid, NULL AS score FROM {frm} WHERE {where} ORDER BY {order} LIMIT {lim}"
    return _Ranked(select, f"{frm} WHERE {where}", order)


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
