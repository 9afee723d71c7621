"""Score-ordered lists of frequent words, what is PostgreSQL's own: ts_rank_cd computed here as
PostgreSQL computes it, a NOT part leaving a word's rank as it is, nothing logged without lists.
The behaviour both backends share (the same hits and scores as ranking every match, through
saves, changes, deletions and mirror loads) is tested in test_search_words.py on both; its
invariants for PostgreSQL are _check_invariants here."""

from __future__ import annotations

import random

import pytest

from pnet_pubmed.search import pgwords
from pnet_pubmed.search.compile import PG_RANK_WEIGHTS
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store

from .conftest import empty_database
from .test_search import corpus_articles


def _rank(doc: str, query: str, exact: bool = False) -> str:
    """ts_rank_cd as a search computes it; exact: its float4 as float8 (psycopg reads a
    float4 as the shortest decimal that tells it from its neighbours, not as its value)."""
    rank = f"ts_rank_cd('{PG_RANK_WEIGHTS}'::float4[], {doc}, CAST({query} AS tsquery), 1)"
    return f"CAST({rank} AS float8)" if exact else rank


@pytest.fixture
def pg_url(request, tmp_path):
    with empty_database("postgresql", tmp_path / "unused.sqlite", request) as url:
        yield url


@pytest.fixture
def pg_store(pg_url):
    store = Store(pg_url, index=SearchIndex())
    store.upgrade()
    yield store
    store.close()


def _q(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _check_invariants(store: Store) -> None:
    """Each listed word: its count is PostgreSQL's, and every article of it ranked above the
    floor is in its list with PostgreSQL's own rank (and no other article is)."""
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM search_word_log").scalar() == 0
        heads = conn.exec_driver_sql("SELECT word, df, floor FROM search_words").all()
        entries = {(w, p): r for w, r, p in
                   conn.exec_driver_sql("SELECT word, rank, pmid FROM search_word_top")}
        for word, df, floor in heads:
            q = _q(word)
            ranks = dict(conn.exec_driver_sql(
                f"SELECT pmid, {_rank('document', '%(q)s')} FROM "
                f"article_search WHERE document @@ %(q)s::tsquery", {"q": q}).all())
            assert df == len(ranks), word
            want = {p: r for p, r in ranks.items() if r > floor}
            got = {p: r for (w, p), r in entries.items() if w == word}
            assert got == want, word


def test_rank_here_is_ts_rank_cd_on_every_article_and_word(pg_store):
    pg_store.save_articles(list(corpus_articles()))
    with pg_store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT s.pmid, u.lexeme, CAST(s.document AS text), "
            f"{_rank('s.document', _TSQ, exact=True)} FROM article_search s "
            f"CROSS JOIN LATERAL unnest(tsvector_to_array(s.document)) u (lexeme)").all()
    assert len(rows) > 20_000
    texts: dict[str, dict[str, float]] = {}
    for pmid, lexeme, text, want in rows:
        got = texts.get(pmid)
        if got is None:
            got = texts[pmid] = pgwords.document_ranks(text)
        assert got[lexeme] == want, (pmid, lexeme)
    assert sum(len(v) for v in texts.values()) == len(rows)


# The tsquery of u.lexeme, as compile.pg_lexeme quotes it.
_TSQ = ("('''' || replace(replace(u.lexeme, '\\', '\\\\'), '''', '''''') || '''')")


def test_rank_here_is_ts_rank_cd_on_made_up_documents(pg_url):
    """Every label, many positions, lexemes without positions, quotes and backslashes."""
    import sqlalchemy as sa

    rng = random.Random(3)
    docs = []
    for _ in range(300):
        entries = []
        for i in range(rng.randint(1, 40)):
            lex = rng.choice(["a", "b", "it's", "x\\y", "zz", "word", "q"]) + str(i)
            if rng.random() < 0.1:
                entries.append(_q(lex))
                continue
            positions = sorted(rng.sample(range(1, 16384), rng.randint(1, 255)))
            entries.append(_q(lex) + ":" + ",".join(
                f"{p}{rng.choice(['', 'A', 'B', 'C', 'D'])}" for p in positions))
        docs.append(" ".join(entries))
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            for text in docs:
                rows = conn.exec_driver_sql(
                    f"SELECT u.lexeme, CAST(d.v AS text), "
                    f"{_rank('d.v', _TSQ, exact=True)} FROM "
                    f"(SELECT CAST(%(t)s AS tsvector) AS v) d "
                    f"CROSS JOIN LATERAL unnest(tsvector_to_array(d.v)) u (lexeme)",
                    {"t": text}).all()
                ranks = pgwords.document_ranks(rows[0][1])
                assert ranks == {lex: r for lex, _, r in rows}, text
    finally:
        engine.dispose()


def test_a_not_part_leaves_the_rank_of_a_word_as_it_is(pg_store):
    """ts_rank_cd of `w & !(…)` equals that of `w` on every article matching it: a list of w
    serves w NOT anything."""
    pg_store.save_articles(list(corpus_articles()))
    queries = ["'patients' & !'cancer'", "'cancer' & !'humans'", "'tumors' & !('of' <-> 'the')",
               "'the' & !'neuroendocrine':A", "'humans' & !'pancrea':*",
               "'cancer' & !('cancer' <-> 'cells')", "'of' & !('the' | 'with')",
               "'patients' & !('survival' & 'female')", "'cell' & !('cell' <-> 'cell')"]
    with pg_store.engine.connect() as conn:
        for query in queries:
            word = query.split("'")[1]
            rows = conn.exec_driver_sql(
                f"SELECT {_rank('document', '%(q)s')}, "
                f"{_rank('document', '%(w)s')} FROM article_search "
                f"WHERE document @@ %(q)s::tsquery", {"q": query, "w": _q(word)}).all()
            assert len(rows) > 3, query
            assert all(a == b for a, b in rows), query


def test_without_lists_saves_log_nothing(pg_store):
    pg_store.save_articles(list(corpus_articles())[:50])
    with pg_store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM search_word_log").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM search_words").scalar() == 0
