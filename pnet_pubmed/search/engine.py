"""Running a search on a light DB-API connection: checks, filters, the plan, the hits.

Nothing here imports SQLAlchemy: `pnet-pubmed search` opens the database with
pnet_pubmed.store.dbapi. A Store, an SQLAlchemy Engine or Connection are read through the
DB-API connection beneath them.
"""

from __future__ import annotations

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
from .compile import PG_RANK_WEIGHTS, to_fts5, to_tsquery
from .criteria import Criteria, split
from .documents import as_list, document
from .errors import SearchError
from .filters import Params
from .pgwords import best_of_or, or_words
from .plan import (
    CAP,
    COUNT_CAP,
    TextMatch,
    choose_driver,
    estimates_sql,
    given_hits_sql,
    hits_sql,
    smallest,
)
from .query import And, Node, Term, parse_query, positive_terms
from .results import SearchHit, SearchResults
from .score import Scorer, best_of_lists, phrases
from .snippets import snippet
from .tokens import author_key
from .words import best, single_word

INDEX_TABLES = ("article_search", "article_fts", "article_author_keys")
# SQLite: how many articles a query of several frequent words must match to be read from
# their lists (below it, ranking every match costs about as much).
MANY = 40_000


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
    row = conn.one(estimates_sql(None, (), collection, params, conn.dialect), params)
    assert row is not None
    _check_estimates(conn, row[0], collection, list(row[2:]))


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


# PostgreSQL's work_mem for a statement that ranks every match. At the default 4 MB the bitmap
# of a common word's matches turns lossy, and every row of a lossy page is checked against the
# query again (`pancrea* neuroendocrine tumors` at 1,000,000 articles: 162,317 rows more, 15%
# of its time). Counting up to a cap is the other way round (a lossy bitmap is built sooner and
# the count stops early: `treatment --year 2009:2015`'s count took 150 ms with 32 MB, 60 with
# 4), so only ranking gets it.
RANKING_WORK_MEM = "32MB"


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
    explode: bool = True,
    limit: int = 20,
    highlight: tuple[str, str] = ("[", "]"),
) -> SearchResults:
    """Articles matching a full-text query and filters, best first (newest first without one).

    source is a database URL (read with a light DB-API connection), a Store, an SQLAlchemy
    Engine or Connection. Every filter narrows the result: several MeSH headings (or flags)
    must all be present. A MeSH heading is a descriptor name, UI or entry term, with the
    descriptors below it unless explode is False (as PubMed's [mh] and [mh:noexp]). flag:
    retracted, expression_of_concern, erratum, updated (pnet_pubmed.flags). The query is checked
    before the database is touched (SearchQueryError, SearchError). The result's total says how
    many articles pass; its notes, which descriptor an entry term stood for.
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
        criteria = Criteria(conn, Params())
        filters = criteria.options(mesh, explode, major, qualifier, author, journal,
                                   (year_from, year_to), publication_type, collection, flags)
        return _run(criteria, node, filters, collection, limit, highlight)


def _run(criteria: Criteria, node: Node | None, filters: list, collection: str | None,
         limit: int, highlight: tuple[str, str]) -> SearchResults:
    conn, params = criteria.conn, criteria.params
    ranked, predicates = split(node)
    text = None
    if ranked is not None:
        engine_query = to_fts5(ranked) if conn.dialect == "sqlite" else to_tsquery(ranked)
        text = TextMatch(conn.dialect, params.add(engine_query), isinstance(ranked, Term))
    filters = [criteria.predicate(p) for p in predicates] + filters
    # The matches are counted first to choose what drives (a filter few articles pass) and
    # whether the words' lists serve. Without filters, a query no list can serve is not
    # counted here: its ranking counts them anyway, and counting first evaluates the match
    # twice (`pancrea* neuroendocrine tumors` at 1,000,000 articles: 26 ms on SQLite, 190 ms
    # on PostgreSQL, where the index's bitmap of a prefix is built each time).
    # PostgreSQL: one listed word, or an OR of them, matches at least as many articles as its
    # (most frequent) word, which its list says; counting them would build the index's bitmap of
    # every match first (65 ms for an OR of 145,110 matches at 1,000,000 articles).
    known = (_pg_listed_matches(conn, ranked) if conn.dialect == "postgresql"
             and text is not None else None)
    counted = known is None and text is not None and (
        bool(filters) or _lists_may_serve(conn.dialect, ranked))
    row = conn.one(estimates_sql(text if counted else None, filters, collection, params,
                                 conn.dialect), params)
    assert row is not None
    stored, counts = row[1], list(row[2:])
    _check_estimates(conn, row[0], collection, counts)
    matches = counts.pop(0) if counted else None if known is None else min(known, CAP)
    driver = choose_driver(matches, filters, counts, stored, limit)
    counter, _ = smallest(filters, counts)
    listed = None
    if text is not None and conn.dialect == "sqlite":
        if driver is not None:
            listed = _scored_here(conn, ranked, driver, filters, collection, limit, params)
        elif matches is not None and matches >= CAP:
            listed = _from_word_list(conn, ranked, text, filters, collection, limit, params,
                                     matches)
    elif (text is not None and conn.dialect == "postgresql" and driver is None
          and matches is not None and matches >= CAP):
        listed = _from_pg_word_list(conn, ranked, text, filters, collection, limit, params)
    if listed is not None:
        rows, exact = listed
    else:
        statement = hits_sql(conn.dialect, text, filters, driver, counter, limit, collection,
                             snippets=ranked is not None, params=params)
        if conn.dialect == "postgresql" and text is not None and driver is None:
            rows = _with_work_mem(conn, RANKING_WORK_MEM, statement, params)
        else:
            rows = conn.rows(statement, params)
        exact = None
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
    if exact is None:
        exact = text is not None or total <= COUNT_CAP
    return SearchResults(hits, total=total, exact=exact, notes=tuple(criteria.notes))


def _with_work_mem(conn: ReadConnection, work_mem: str, statement: str,
                   params: Params) -> list[tuple]:
    """PostgreSQL: the rows of a statement run with work_mem set for it alone (SET LOCAL,
    then the value before; a failed statement's transaction takes the setting with it)."""
    before = conn.scalar("SELECT current_setting('work_mem')")
    conn.scalar("SELECT set_config('work_mem', :value, true)", {"value": work_mem})
    rows = conn.rows(statement, params)
    conn.scalar("SELECT set_config('work_mem', :value, true)", {"value": before})
    return rows


def _scored_here(conn: ReadConnection, ranked: Node | None, driver, filters: list,
                 collection: str | None, limit: int, params: Params
                 ) -> tuple[list[tuple], bool] | None:
    """SQLite, a filter few articles pass driving: its articles' stored text read once, each
    matched and scored here as FTS5 would (score.py); None for a query it cannot read."""
    if ranked is None:
        return None
    singles = sorted({t.tokens[0] for t in positive_terms(ranked) if len(t.tokens) == 1})
    listed: dict[str, int] = {}
    if singles:
        p = Params()
        listed = dict(conn.rows(f"SELECT word, df FROM search_words WHERE word IN "
                                f"{p.add_list(singles)} AND NOT EXISTS "
                                f"(SELECT 1 FROM search_word_log)", p))
    try:
        scorer = Scorer(conn, ranked, listed)
    except ValueError:
        return None
    others = "".join(f" AND {f.check('c.pmid')}" for f in filters if f is not driver)
    found = []
    for id_, *texts in conn.execute(
            f"SELECT s.id, s.title, s.abstract, s.mesh, s.keywords FROM "
            f"(SELECT DISTINCT d.pmid FROM ({driver.source}) d) c "
            f"JOIN article_search s ON s.pmid = c.pmid WHERE 1 = 1{others}", params):
        value = scorer.score(texts)
        if value is not None:
            found.append((value, id_))
    found.sort(key=lambda s: (-s[0], -s[1]))
    hits = [(str(i), v) for v, i in found[:limit]]
    if not hits:
        return [], True
    return conn.rows(given_hits_sql(conn.dialect, hits, len(found), collection,
                                    snippets=True, params=params), params), True


def _from_word_list(conn: ReadConnection, ranked: Node | None, text: TextMatch,
                    filters: list, collection: str | None, limit: int, params: Params,
                    matches: int) -> tuple[list[tuple], bool] | None:
    """SQLite: the hits of a query whose ranked part is one frequent word, read from its
    score-ordered list (words.py), and whether the total is exact; None when it has no list or
    the list cannot tell."""
    if ranked is None:
        return None
    word = single_word(ranked)
    total: int | None = None
    if word is not None:
        negated = isinstance(ranked, And)
        checks = [f.check for f in filters] + ([text.check] if negated else [])
        found = best(conn, word, "".join(f" AND {c('CAST(t.id AS TEXT)')}" for c in checks),
                     params, limit)
        if found is None:
            return None
        hits, df = found
        if not checks:
            total = df
    else:
        # Several words (AND, OR, NOT): matched and scored here, from their text, when so many
        # articles match that ranking them all would cost more than reading the lists.
        if matches < MANY:
            return None
        many = best_of_lists(conn, ranked, "".join(f" AND {f.check('s.pmid')}"
                                                   for f in filters), params, limit)
        if many is None:
            return None
        hits = many
        if not filters:
            total = int(conn.scalar("SELECT count(*) FROM article_fts f WHERE "
                                    f"f.article_fts MATCH {text.param}", params))
    if total is not None:
        exact = True
    else:
        # The matches that pass, counted up to just past COUNT_CAP ("more than 1,000"):
        # counting them all would check the filters on every match, what the list avoids.
        cap = params.add(COUNT_CAP + 1)
        where = "".join(f" AND {f.check('CAST(f.rowid AS TEXT)')}" for f in filters)
        total = int(conn.scalar(
            f"SELECT count(*) FROM (SELECT 1 FROM article_fts f WHERE f.article_fts MATCH "
            f"{text.param}{where} LIMIT {cap}) n", params))
        exact = total <= COUNT_CAP
    if not hits:
        return [], exact
    rows = conn.rows(given_hits_sql(conn.dialect, [(str(i), s) for i, s in hits], total,
                                    collection, snippets=True, params=params), params)
    return rows, exact


def _from_pg_word_list(conn: ReadConnection, ranked: Node | None, text: TextMatch,
                       filters: list, collection: str | None, limit: int, params: Params
                       ) -> tuple[list[tuple], bool] | None:
    """PostgreSQL: the hits of a query whose ranked part is one frequent word (with any NOT
    parts), read from its rank-ordered list (pgwords.py) with the filters checked on each
    entry, and whether the total is exact; None when it has no list or the list cannot tell
    (fewer than `limit` entries pass and articles below the floor were left out)."""
    word = single_word(ranked)
    if word is None:
        return _from_pg_or_lists(conn, ranked, text, filters, collection, limit, params)
    p = Params()
    head = conn.one("SELECT df, floor, (SELECT count(*) FROM (SELECT 1 FROM search_word_log "
                    f"ORDER BY seq LIMIT 1) n) FROM search_words WHERE word = {p.add(word)}", p)
    if head is None or head[2]:
        return None
    df, floor = int(head[0]), float(head[1])
    negated = isinstance(ranked, And)
    checks = [f.check for f in filters] + ([text.check] if negated else [])
    where = "".join(f" AND {c('t.pmid')}" for c in checks)
    found = conn.rows(f"SELECT t.pmid, t.rank FROM search_word_top t "
                      f"WHERE t.word = {params.add(word)}{where} "
                      f"ORDER BY t.rank DESC, length(t.pmid) DESC, t.pmid DESC "
                      f"LIMIT {params.add(limit)}", params)
    if len(found) < limit and floor > 0.0:
        return None
    total = df if not checks else _capped_total(conn, text, filters, params)
    return _given(conn, [(pmid, float(r)) for pmid, r in found], total,
                  not checks or total <= COUNT_CAP, collection, params)


def _from_pg_or_lists(conn: ReadConnection, ranked: Node | None, text: TextMatch,
                      filters: list, collection: str | None, limit: int, params: Params
                      ) -> tuple[list[tuple], bool] | None:
    """PostgreSQL: the hits of an OR of frequent words (with any NOT parts and filters), by the
    threshold algorithm over their lists (pgwords.best_of_or), and whether the total is exact;
    None when the query is of another shape or the lists cannot tell."""
    words = or_words(ranked)
    if words is None:
        return None
    rank = f"ts_rank_cd('{PG_RANK_WEIGHTS}'::float4[], s.document, {text.tsquery}, 1)"
    checks = f" AND s.document @@ {text.tsquery}" + "".join(
        f" AND {f.check('s.pmid')}" for f in filters)
    answer = best_of_or(conn, words, rank, checks, params, limit)
    if answer is None:
        return None
    found, most = answer
    # The matches that pass, counted up to just past COUNT_CAP ("more than 1,000"): an exact
    # count would visit every match, what the lists avoid. Without filters or NOT parts they
    # are at least as many as the most frequent word's.
    if not filters and not isinstance(ranked, And) and most > COUNT_CAP:
        total = COUNT_CAP + 1
    else:
        total = _capped_total(conn, text, filters, params)
    return _given(conn, found, total, total <= COUNT_CAP, collection, params)


def _capped_total(conn: ReadConnection, text: TextMatch, filters: list,
                  params: Params) -> int:
    """PostgreSQL: the matches that pass the filters, counted up to just past COUNT_CAP ("more
    than 1,000"), as on SQLite: counting them all would check the filters on every match,
    what the lists avoid."""
    cap = params.add(COUNT_CAP + 1)
    passing = "".join(f" AND {f.check('s.pmid')}" for f in filters)
    return int(conn.scalar(f"SELECT count(*) FROM ({text.source()}{passing} LIMIT {cap}) n",
                           params))


def _given(conn: ReadConnection, found: list[tuple[str, float]], total: int, exact: bool,
           collection: str | None, params: Params) -> tuple[list[tuple], bool]:
    """The rows of hits found from the lists, with their details, and whether the total is
    exact."""
    if not found:
        return [], exact
    return conn.rows(given_hits_sql(conn.dialect, found, total, collection, snippets=True,
                                    params=params), params), exact


def _lists_may_serve(dialect: str, ranked: Node | None) -> bool:
    """Whether the frequent words' lists may serve a ranked part of this shape (if its words
    have lists): one word (with NOT parts); on SQLite any AND/OR/NOT whose ranking phrases are
    all words (score.best_of_lists), on PostgreSQL an OR of words (pgwords.best_of_or)."""
    if ranked is None:
        return False
    if single_word(ranked) is not None:
        return True
    if dialect == "postgresql":
        return or_words(ranked) is not None
    found = phrases(ranked)
    return found is not None and all(p.word is not None for p in found if not p.negated)


def _pg_listed_matches(conn: ReadConnection, ranked: Node | None) -> int | None:
    """PostgreSQL: for a ranked part that is one word or an OR of words (no NOT parts), each
    with a list and no change waiting in the log, how many articles it matches at least (its
    word's count, the largest of its words'); None otherwise."""
    if ranked is None or isinstance(ranked, And):
        return None
    word = single_word(ranked)
    words = [word] if word is not None else or_words(ranked)
    if not words:
        return None
    row = conn.one("SELECT count(*), max(df) FROM search_words WHERE word = ANY(:words) "
                   "AND NOT EXISTS (SELECT 1 FROM search_word_log)", {"words": words})
    if row is None or int(row[0]) != len(words):
        return None
    return int(row[1])
