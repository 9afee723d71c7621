"""Score-ordered lists of frequent words (PostgreSQL): ts_rank_cd computed here as PostgreSQL
computes it, and the same hits and scores as ranking every match, kept right through saves,
changes, deletions and mirror loads."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main as cli
from pnet_pubmed.search import engine as search_engine
from pnet_pubmed.search import pgwords, search, words
from pnet_pubmed.search.compile import PG_RANK_WEIGHTS
from pnet_pubmed.search.index import SearchIndex, build_word_lists, index_articles
from pnet_pubmed.store import Store

from .conftest import empty_database
from .test_search import corpus_articles

# Small lists, so that searches meet floors and fall back.
MIN_DF = 4
SIZE = 30



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


def _build(store: Store, min_df: int = MIN_DF, size: int = SIZE) -> int:
    with store.transaction() as conn:
        return build_word_lists(conn, min_df=min_df, size=size)


def _q(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


class Spy:
    """Counts the searches a word list answered, and can turn the lists off."""

    def __init__(self, monkeypatch) -> None:
        self.answered = 0
        self.declined = 0  # no list, or the list could not tell: every match ranked
        self.off = False
        real = search_engine._from_pg_word_list

        def wrapped(*args, **kwargs):
            if self.off:
                return None
            found = real(*args, **kwargs)
            self.answered += found is not None
            self.declined += found is None
            return found

        monkeypatch.setattr(search_engine, "_from_pg_word_list", wrapped)
        # Every search with query text may try a list, however few its matches.
        monkeypatch.setattr(search_engine, "CAP", 0)


def _same(url: str, spy: Spy, query: str, **filters) -> None:
    filters.setdefault("limit", 5)
    listed = search(url, query, **filters)
    spy.off = True
    try:
        ranked = search(url, query, **filters)
    finally:
        spy.off = False
    got = [(h.pmid, h.score) for h in listed]
    want = [(h.pmid, h.score) for h in ranked]
    assert got == want, (query, filters)
    if listed.exact:
        assert listed.total == ranked.total, (query, filters)
    else:
        assert ranked.total > listed.total - 1 >= search_engine.COUNT_CAP


def _listed(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT word, df FROM search_words").all())


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


WORDS = ("cancer", "patients", "tumors", "neuroendocrine", "pancreatic", "the", "of", "with",
         "humans", "treatment", "survival", "cell", "study", "clinical", "female")
FILTERS = ({}, {"year": (2010, 2016)}, {"mesh": ["Humans"]}, {"publication_type": "Review"},
           {"author": "Yao"}, {"limit": 1}, {"limit": 20}, {"limit": 60}, {"flag": "retracted"},
           {"year": (2012, 2013), "mesh": ["Neoplasms"]})


def test_lists_give_the_hits_and_scores_of_ranking_every_match(pg_store, monkeypatch):
    pg_store.save_articles(list(corpus_articles()))
    assert _build(pg_store) > 50
    _check_invariants(pg_store)
    listed = _listed(pg_store)
    spy = Spy(monkeypatch)
    url = str(pg_store.engine.url.render_as_string(hide_password=False))
    present = [w for w in WORDS if w in listed]
    assert len(present) >= 10
    for word in present:
        for filters in FILTERS:
            _same(url, spy, word, **filters)
        other = "cancer" if word != "cancer" else "humans"
        _same(url, spy, f"{word} NOT {other}")
        _same(url, spy, f'{word} NOT "of the"', year=(2000, 2016))
    # Most answered from the lists; the others fell back (fewer than k entries pass the
    # filters above the floor) or had a filter drive the search.
    assert spy.answered > len(present) * 5
    assert spy.declined > 5


def test_lists_stay_right_through_saves_changes_and_deletions(pg_store, monkeypatch):
    corpus = list(corpus_articles())
    first, later = corpus[: len(corpus) // 2], corpus[len(corpus) // 2:]
    pg_store.save_articles(first)
    assert _build(pg_store) > 20
    _check_invariants(pg_store)
    spy = Spy(monkeypatch)
    url = str(pg_store.engine.url.render_as_string(hide_password=False))

    pg_store.save_articles(later)
    _check_invariants(pg_store)
    changed = [replace(a, abstract=()) for a in first[:25]]
    changed += [replace(a, title=a.title + " patients patients patients") for a in later[:25]]
    pg_store.save_articles(changed)
    _check_invariants(pg_store)
    gone = [a.pmid for a in later[25:45]]
    with pg_store.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM articles WHERE pmid = ANY(%(p)s)", {"p": gone})
        index_articles(conn, gone)
    _check_invariants(pg_store)
    for word in ("patients", "cancer", "tumors", "the", "humans"):
        for filters in ({}, {"year": (2000, 2016)}, {"limit": 2}):
            _same(url, spy, word, **filters)
    assert spy.answered >= 5


def test_a_rerun_that_saves_nothing_new_logs_nothing(pg_store):
    corpus = list(corpus_articles())
    pg_store.save_articles(corpus)
    _build(pg_store)
    with pg_store.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM search_word_top").scalar()
    pg_store.save_articles(corpus)
    _check_invariants(pg_store)
    with pg_store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM search_word_top").scalar() == before


def test_a_word_without_a_list_or_with_a_pending_log_ranks_every_match(pg_store, monkeypatch):
    pg_store.save_articles(list(corpus_articles()))
    _build(pg_store)
    url = str(pg_store.engine.url.render_as_string(hide_password=False))
    spy = Spy(monkeypatch)
    search(url, "curacao")  # in one article: no list
    assert spy.answered == 0
    search(url, '"neuroendocrine tumors"')  # a phrase: no list
    assert spy.answered == 0
    with pg_store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO search_word_log (pmid, sign) VALUES ('1', 1)")
    search(url, "patients")
    assert spy.answered == 0
    with pg_store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM search_word_log")
    search(url, "patients")
    assert spy.answered == 1


def test_without_lists_saves_log_nothing(pg_store):
    pg_store.save_articles(list(corpus_articles())[:50])
    with pg_store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM search_word_log").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM search_words").scalar() == 0


def test_db_optimize_builds_the_lists(pg_url, monkeypatch):
    store = Store(pg_url, index=SearchIndex())
    store.upgrade()
    store.save_articles(list(corpus_articles()))
    monkeypatch.setattr(words, "MIN_DF", MIN_DF)
    result = CliRunner().invoke(cli, ["--db", pg_url, "db", "optimize"])
    assert result.exit_code == 0, result.output
    n = len(_listed(store))
    assert n > 50
    assert f"{n:,} frequent words" in result.output
    _check_invariants(store)
    store.close()


def test_mirror_load_builds_the_lists_and_updates_keep_them_right(pg_url, tmp_path,
                                                                  monkeypatch):
    from .baseline_files import with_revision, write_file
    from .test_mirror_load import BY_PMID, RECORDS, UPDATE_FILE, baseline, run

    monkeypatch.setattr(words, "MIN_DF", 6)
    folder = tmp_path / "nlm"
    baseline(folder)
    first = run(pg_url, "mirror", "load", "--jobs", "0", str(folder)).output
    store = Store(pg_url, index=SearchIndex())
    listed = _listed(store)
    assert len(listed) > 50
    assert f"search: {len(listed):,} frequent words listed in" in first
    _check_invariants(store)
    # Updates: new records (COPY: the row trigger logs them), a revised one, deletions; small
    # beside the store: the lists are kept and stay right.
    shutil.copy(UPDATE_FILE, folder / "pubmed25n0003.xml")
    revised = RECORDS[5][0]
    write_file(folder / "pubmed25n0004.xml.gz", [
        with_revision(BY_PMID[revised], "2030-05-06",
                      title="Patients with tumors: patients, patients and cancer."),
    ])
    second = run(pg_url, "mirror", "load", "--jobs", "0", str(folder)).output
    assert "frequent words listed" not in second
    _check_invariants(store)
    spy = Spy(monkeypatch)
    for word in ("patients", "cancer", "tumors", "the"):
        if word in listed:
            _same(pg_url, spy, word)
            _same(pg_url, spy, word, year=(2005, 2016))
    assert spy.answered >= 3
    store.close()
