"""Score-ordered lists of frequent words (SQLite): the same hits and scores as ranking every
match, kept right through saves, changes and deletions."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.cli import main as cli
from pnet_pubmed.search import engine as search_engine
from pnet_pubmed.search import pgwords, search, words
from pnet_pubmed.search.index import SearchIndex, build_word_lists, index_articles
from pnet_pubmed.store import Store

from .conftest import empty_database
from .test_search import corpus_articles

# Small lists, so that searches walk past their ends, meet floors and fall back.
MIN_DF = 4
SIZE = 30


@pytest.fixture
def sqlite_store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'words.sqlite'}", index=SearchIndex())
    store.upgrade()
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path):
    with empty_database(request.param, tmp_path / "words.sqlite", request) as url:
        yield url


@pytest.fixture
def any_store(any_url):
    """An empty, upgraded store on either backend (the lists' behaviour common to both)."""
    store = Store(any_url, index=SearchIndex())
    store.upgrade()
    yield store
    store.close()


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _build(store: Store, min_df: int = MIN_DF, size: int = SIZE) -> int:
    with store.transaction() as conn:
        return build_word_lists(conn, min_df=min_df, size=size)


class Spy:
    """Counts the searches a word list answered, and can turn the lists off."""

    def __init__(self, monkeypatch) -> None:
        self.answered = 0
        self.declined = 0  # no list, or the list could not tell: every match ranked
        self.off = False
        for name in ("best", "best_of_lists", "_from_pg_word_list"):
            monkeypatch.setattr(search_engine, name, self._wrap(getattr(search_engine, name)))
        # Every search with query text may try a list, however few its matches; lists are
        # read a few entries at a time, so that when to stop reading matters.
        monkeypatch.setattr(search_engine, "CAP", 0)
        monkeypatch.setattr(search_engine, "MANY", 0)
        monkeypatch.setattr(words, "BATCH", 3)
        monkeypatch.setattr(pgwords, "DEPTH", 3)

    def _wrap(self, real):
        def wrapped(*args, **kwargs):
            if self.off:
                return None
            found = real(*args, **kwargs)
            self.answered += found is not None
            self.declined += found is None
            return found

        return wrapped


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


def _fts_count(path, word: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM article_fts WHERE article_fts MATCH ?",
                          (f'"{word}"',)).fetchone()[0]


def _listed(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT word, df FROM search_words").all())


def _check_invariants(store: Store) -> None:
    """The lists hold what they claim, on the store's backend (PostgreSQL: see
    test_search_words_pg._check_invariants)."""
    if store.dialect == "postgresql":
        from .test_search_words_pg import _check_invariants as check_postgresql

        check_postgresql(store)
    else:
        _check_sqlite(store)


def _check_sqlite(store: Store) -> None:
    """Each listed word: its count is FTS5's, and every article of it with a key above the
    floor is in its list with its own x and length."""
    path = store.engine.url.database
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        heads = raw.execute("SELECT word, df, avgdl, floor FROM search_words").fetchall()
        texts = raw.execute("SELECT id, title, abstract, mesh, keywords "
                            "FROM article_search").fetchall()
        entries = {}
        for word, key, id_, x, d in raw.execute("SELECT word, key, id, x, d "
                                                 "FROM search_word_top"):
            entries[(word, id_)] = (key, x, d)
        assert raw.execute("SELECT count(*) FROM search_word_log").fetchone()[0] == 0
    stats = {id_: words.article_words(rest) for id_, *rest in texts}
    for word, df, avgdl, floor in heads:
        assert df == _fts_count(path, word), word
        for id_, (counts, length) in stats.items():
            x = counts.get(word)
            if not x:
                assert (word, id_) not in entries
                continue
            key = words.weight(x, length, avgdl)
            if key > floor:
                assert entries[(word, id_)] == (key, x, length), (word, id_)
            else:
                assert (word, id_) not in entries, (word, id_)


def test_tokens_and_lengths_are_fts5s(sqlite_store):
    """Python counts each article's words and length as FTS5 does: the lists rest on it."""
    sqlite_store.save_articles(list(corpus_articles()))
    path = sqlite_store.engine.url.database
    with sqlite3.connect(path) as db:
        rows, avgdl = words.averages(db)
        sizes = {id_: sum(words._varints(sz)) for id_, sz in
                 db.execute("SELECT id, sz FROM article_fts_docsize")}
        texts = db.execute("SELECT id, title, abstract, mesh, keywords "
                           "FROM article_search").fetchall()
        db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, article_fts, row)")
        vocab = dict(db.execute("SELECT term, doc FROM temp.v"))
    assert rows == len(texts) > 200
    assert avgdl == pytest.approx(sum(sizes.values()) / rows)
    counted: dict[str, int] = {}
    for id_, *rest in texts:
        found, length = words.article_words(rest)
        assert length == sizes[id_], id_
        for word in found:
            counted[word] = counted.get(word, 0) + 1
    assert counted == vocab


def test_bound_holds_whatever_the_mean_length():
    rng = random.Random(7)
    for _ in range(20_000):
        x = rng.choice([1, 2, 3, 4, 10, 11, 14, 20, 33])
        d = rng.randint(1, 3000)
        built = rng.uniform(20, 400)
        now = built * rng.choice([0.5, 0.9, 1.0, 1.1, 2.0, 5.0])
        key = words.weight(x, d, built) * rng.choice([1.0, 1.0000001, 1.3])
        assert words.weight(x, d, now) <= words.bound(key, built, now) * (1 + 1e-12)
    assert words.bound(1.0, 100.0, 100.0) == 1.0
    assert words.bound(0.0, 100.0, 300.0) == 0.0


WORDS = ("cancer", "patients", "tumors", "neuroendocrine", "pancreatic", "the", "of", "with",
         "humans", "treatment", "survival", "cell", "study", "clinical", "female")
FILTERS = ({}, {"year": (2010, 2016)}, {"mesh": ["Humans"]}, {"publication_type": "Review"},
           {"author": "Yao"}, {"limit": 1}, {"limit": 20}, {"limit": 60}, {"flag": "retracted"},
           {"year": (2012, 2013), "mesh": ["Neoplasms"]})


def _queries(corpus_words):
    for word in corpus_words:
        for filters in FILTERS:
            yield word, dict(filters)
        yield f"{word} NOT cancer" if word != "cancer" else "cancer NOT humans", {}
        yield f'{word} NOT "of the"', {"year": (2000, 2016)}


def test_lists_give_the_hits_and_scores_of_ranking_every_match(any_store, monkeypatch):
    any_store.save_articles(list(corpus_articles()))
    assert _build(any_store) > 50
    _check_invariants(any_store)
    listed = _listed(any_store)
    spy = Spy(monkeypatch)
    url = _url(any_store)
    present = [w for w in WORDS if w in listed]
    assert len(present) >= 10
    for query, filters in _queries(present):
        _same(url, spy, query, **filters)
    # The lists answered most of them; the others fell back to ranking every match (a list
    # read to its end, a filter few articles pass driving the search instead).
    assert spy.answered > len(present) * 4
    assert spy.declined > 5


def test_lists_give_the_hits_and_scores_of_several_words(any_store, monkeypatch):
    """AND, OR and NOT of listed words (SQLite), OR of listed words with NOT parts
    (PostgreSQL): the threshold algorithm over their lists, each article seen scored from its
    text (SQLite) or ranked by PostgreSQL, equals ranking every match."""
    any_store.save_articles(list(corpus_articles()))
    _build(any_store)
    listed = _listed(any_store)
    spy = Spy(monkeypatch)
    url = _url(any_store)
    w = [x for x in WORDS if x in listed]
    queries = [f"{w[0]} OR {w[1]}", f"{w[1]} {w[2]}", f"({w[3]} OR {w[4]}) AND {w[5]}",
               f"{w[2]} OR {w[6]} NOT {w[7]}", f"{w[5]} {w[5]}", f"{w[8]} OR {w[9]} OR {w[1]}",
               f"{w[0]} NOT ({w[1]} NOT {w[2]})", f"{w[3]} {w[4]} {w[6]}",
               f'{w[0]} OR "{w[1]} {w[2]}"', f"{w[0]} OR {w[1]}*", f"{w[4]} OR {w[4]}",
               f"({w[2]} OR {w[3]}) OR ({w[6]} OR {w[0]}) NOT {w[9]} NOT {w[8]}"]
    for query in queries:
        for filters in ({}, {"year": (2010, 2016)}, {"limit": 1}, {"limit": 20},
                        {"mesh": ["Humans"], "limit": 8}):
            _same(url, spy, query, **filters)
    # Phrases and prefixes are not read from lists: on SQLite 10 queries of words under 5
    # filter sets, on PostgreSQL the 5 that are ORs of words (with NOT parts).
    assert spy.answered > (20 if any_store.dialect == "sqlite" else 12)


_DELETE = sa.text("DELETE FROM articles WHERE pmid IN :gone").bindparams(
    sa.bindparam("gone", expanding=True))


def test_lists_stay_right_through_saves_changes_and_deletions(any_store, monkeypatch):
    corpus = list(corpus_articles())
    first, later = corpus[: len(corpus) // 2], corpus[len(corpus) // 2:]
    any_store.save_articles(first)
    assert _build(any_store) > 20
    _check_invariants(any_store)
    spy = Spy(monkeypatch)
    url = _url(any_store)

    any_store.save_articles(later)  # new articles: SQLite's mean length moves too
    _check_invariants(any_store)
    # Changed texts: some articles lose their abstract, others get a word many times.
    changed = [replace(a, abstract=()) for a in first[:25]]
    changed += [replace(a, title=a.title + " patients patients patients") for a in later[:25]]
    any_store.save_articles(changed)
    _check_invariants(any_store)
    # Deleted articles (as a DeleteCitation does, through the foreign keys).
    gone = [a.pmid for a in later[25:45]]
    with any_store.transaction() as conn:
        conn.execute(_DELETE, {"gone": gone})
        index_articles(conn, gone)
    _check_invariants(any_store)
    for word in ("patients", "cancer", "tumors", "the", "humans"):
        for filters in ({}, {"year": (2000, 2016)}, {"limit": 2}):
            _same(url, spy, word, **filters)
    assert spy.answered >= 5


def test_a_rerun_that_saves_nothing_new_logs_nothing(any_store):
    corpus = list(corpus_articles())
    any_store.save_articles(corpus)
    _build(any_store)
    with any_store.engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM search_word_top").scalar()
    any_store.save_articles(corpus)
    _check_invariants(any_store)
    with any_store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM search_word_top").scalar() == before


def test_a_word_without_a_list_or_with_a_pending_log_ranks_every_match(any_store,
                                                                       monkeypatch):
    any_store.save_articles(list(corpus_articles()))
    _build(any_store)
    url = _url(any_store)
    spy = Spy(monkeypatch)
    search(url, "curacao")  # in one article: no list
    search(url, '"neuroendocrine tumors"')  # a phrase: no list
    assert spy.answered == 0
    # Changes not yet carried into the lists (a writer that has not absorbed them): the
    # lists are not used.
    key = "id" if any_store.dialect == "sqlite" else "pmid"
    with any_store.engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO search_word_log ({key}, sign) VALUES ('1', 1)")
    search(url, "patients")
    assert spy.answered == 0
    with any_store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM search_word_log")
    search(url, "patients")
    assert spy.answered == 1


def test_db_optimize_builds_the_lists(any_url, monkeypatch):
    store = Store(any_url, index=SearchIndex())
    store.upgrade()
    store.save_articles(list(corpus_articles()))
    monkeypatch.setattr(words, "MIN_DF", MIN_DF)
    result = CliRunner().invoke(cli, ["--db", any_url, "db", "optimize"])
    assert result.exit_code == 0, result.output
    n = len(_listed(store))
    assert n > 50
    assert f"{n:,} frequent words" in result.output
    _check_invariants(store)
    store.close()


def test_the_order_of_today_not_of_the_build_day(sqlite_store, monkeypatch):
    """Articles saved after the lists were built move the mean length, and with it which of
    two articles ranks first (a word's count against the article's length): the lists still
    give today's order."""
    template = next(a for a in corpus_articles() if a.abstract and a.title)
    rng = random.Random(11)
    filler = ("alpha beta gamma delta epsilon zeta theta iota kappa lambda").split()

    def article(n: int, title_hits: int, text_hits: int, length: int):
        text = [rng.choice(filler) for _ in range(length)] + ["qzxv"] * text_hits
        rng.shuffle(text)
        return replace(template, pmid=str(80_000_000 + n),
                       title=" ".join(["qzxv"] * title_hits + ["report"]),
                       abstract=(replace(template.abstract[0], text=" ".join(text)),),
                       mesh=(), keywords=(), chemicals=())

    first = [article(i, rng.choice([0, 0, 1]), rng.randint(1, 6), rng.randint(5, 400))
             for i in range(80)]
    sqlite_store.save_articles(first)
    assert _build(sqlite_store, min_df=10, size=50) >= 1
    spy = Spy(monkeypatch)
    url = str(sqlite_store.engine.url)
    # Long articles without the word: the mean length grows by half or more.
    sqlite_store.save_articles([article(100 + i, 0, 0, 700) for i in range(40)])
    _check_invariants(sqlite_store)
    for limit in (1, 3, 5, 10, 20):
        _same(url, spy, "qzxv", limit=limit)
    assert spy.answered >= 3


def test_fts5_splits_and_folds_the_stored_text_as_str_split_does():
    """Every character, between letters and at the end of a word: the text the index stores
    (tokens.fold_text) is split by SQLite's unicode61 tokenizer into exactly its space-separated
    words, each as it is (FTS5 folds none of them further)."""
    from pnet_pubmed.search.tokens import fold_text

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(t, tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
    rows = [(cp, fold_text(f"a{chr(cp)}b C{chr(cp)}")) for cp in range(0x80, 0x110000)
            if not 0xD800 <= cp <= 0xDFFF]
    db.executemany("INSERT INTO f (rowid, t) VALUES (?, ?)", rows)
    split: dict[int, list[tuple[int, str]]] = {}
    for doc, term, offset in db.execute("SELECT doc, term, offset FROM v"):
        split.setdefault(doc, []).append((offset, term))
    wrong = [hex(cp) for cp, text in rows
             if [t for _, t in sorted(split.get(cp, []))] != text.split()]
    assert not wrong, wrong[:20]


def test_mirror_load_builds_the_lists_and_updates_keep_them_right(any_url, tmp_path,
                                                                  monkeypatch):
    import shutil

    from .baseline_files import with_revision, write_file
    from .test_mirror_load import BY_PMID, RECORDS, UPDATE_FILE, baseline, run

    monkeypatch.setattr(words, "MIN_DF", 6)
    folder = tmp_path / "nlm"
    baseline(folder)
    first = run(any_url, "mirror", "load", "--jobs", "0", str(folder)).output
    store = Store(any_url, index=SearchIndex())
    listed = _listed(store)
    assert len(listed) > 50
    assert f"search: {len(listed):,} frequent words listed in" in first
    _check_invariants(store)
    # Updates: new records (on PostgreSQL by COPY, which fires the row trigger too), a revised
    # one, deletions; small beside the store: lists are kept (no new build) and stay right.
    shutil.copy(UPDATE_FILE, folder / "pubmed25n0003.xml")
    revised = RECORDS[5][0]
    write_file(folder / "pubmed25n0004.xml.gz", [
        with_revision(BY_PMID[revised], "2030-05-06",
                      title="Patients with tumors: patients, patients and cancer."),
    ])
    second = run(any_url, "mirror", "load", "--jobs", "0", str(folder)).output
    assert "frequent words listed" not in second
    _check_invariants(store)
    spy = Spy(monkeypatch)
    for word in ("patients", "cancer", "tumors", "the"):
        if word in listed:
            _same(any_url, spy, word)
            _same(any_url, spy, word, year=(2005, 2016))
    assert spy.answered >= 3
    store.close()


SCORED_QUERIES = (
    "patients", "cancer", "everolimus", '"neuroendocrine tumors"', "pancrea*", "insulin*",
    "octreotide OR lanreotide", "neuroendocrine NOT carcinoid", "(sunitinib OR everolimus) AND "
    "survival", '"progression-free survival"', "pancrea* neuroendocrine tumors",
    "risk factors mortality", "everolimus[ti]", "neuroendocrine[tiab] AND humans",
    '"peptide receptor radionuclide therapy"', "tumor* NOT (review OR humans)", "the the",
    "cell[ti] OR cell[ab]", "curacao", "neu*", "1", "gastrinoma OR insulinoma NOT review*",
    "tumors NOT (cancer NOT humans)", "patients NOT (review NOT (humans OR female))",
)


def test_scoring_here_is_fts5s_match_and_bm25(sqlite_store):
    """score.Scorer against FTS5 itself, on every stored article: the same matches and the
    same scores, to the last bit."""
    from pnet_pubmed.search import parse_query, to_fts5
    from pnet_pubmed.search.compile import BM25_WEIGHTS
    from pnet_pubmed.search.criteria import split
    from pnet_pubmed.search.score import Scorer
    from pnet_pubmed.store.dbapi import connect

    sqlite_store.save_articles(list(corpus_articles()))
    _build(sqlite_store)  # single words take their counts from the lists
    url = str(sqlite_store.engine.url)
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    with connect(url) as conn:
        texts = conn.rows("SELECT id, title, abstract, mesh, keywords FROM article_search")
        listed = dict(conn.rows("SELECT word, df FROM search_words"))
        for query in SCORED_QUERIES:
            ranked, _ = split(parse_query(query))
            want = dict(conn.rows(f"SELECT rowid, -bm25(article_fts, {weights}) FROM "
                                  "article_fts WHERE article_fts MATCH :q",
                                  {"q": to_fts5(ranked)}))
            scorer = Scorer(conn, ranked, listed)
            got = {}
            for id_, *rest in texts:
                value = scorer.score(rest)
                if value is not None:
                    got[id_] = value
            assert got == want, query
    assert sum(1 for q in SCORED_QUERIES) > 20


def test_a_filter_that_drives_gives_the_hits_of_fts5(sqlite_store, monkeypatch):
    """A search driven by a filter few articles pass, scored here, against FTS5 ranking
    every match (the plan without this path)."""
    sqlite_store.save_articles(list(corpus_articles()))
    url = str(sqlite_store.engine.url)
    scored = []
    real = search_engine._scored_here

    def spy(*args, **kwargs):
        found = real(*args, **kwargs)
        scored.append(found is not None)
        return found

    monkeypatch.setattr(search_engine, "_scored_here", spy)
    for query in SCORED_QUERIES:
        for filters in ({"author": "Yao"}, {"journal": "J Clin Oncol"},
                        {"year": (2011, 2011), "publication_type": "Review"},
                        {"mesh": ["Pancreatic Neoplasms"]}, {"limit": 3, "author": "Wang"}):
            listed = search(url, query, **filters)
            monkeypatch.setattr(search_engine, "_scored_here", lambda *a, **k: None)
            ranked = search(url, query, **filters)
            monkeypatch.setattr(search_engine, "_scored_here", spy)
            assert [(h.pmid, h.score) for h in listed] == [(h.pmid, h.score) for h in ranked]
            assert (listed.total, listed.exact) == (ranked.total, ranked.exact)
    assert sum(scored) > 50


def test_words_under_a_not_do_not_rank(sqlite_store, monkeypatch):
    """`a NOT (b NOT c)` matches articles holding b and c, and FTS5 scores them on a alone:
    so do the lists and the scoring here."""
    template = next(a for a in corpus_articles() if a.abstract and a.title)

    def article(n: int, title: str, text: str):
        return replace(template, pmid=str(81_000_000 + n), title=title,
                       abstract=(replace(template.abstract[0], text=text),),
                       mesh=(), keywords=(), chemicals=())

    docs = [article(i, "aaaw report", "aaaw study of things") for i in range(30)]
    docs += [article(100 + i, "cccw cccw cccw", "aaaw bbbw " + "cccw " * 12) for i in range(5)]
    docs += [article(200 + i, "bbbw cccw", "other words here") for i in range(30)]
    sqlite_store.save_articles(list(corpus_articles()) + docs)
    _build(sqlite_store, min_df=10, size=40)
    spy = Spy(monkeypatch)
    url = str(sqlite_store.engine.url)
    for limit in (1, 3, 5):
        _same(url, spy, "aaaw NOT (bbbw NOT cccw)", limit=limit)
    assert spy.answered >= 1


def test_db_optimize_on_a_missing_database_is_one_line_and_creates_nothing(tmp_path):
    path = tmp_path / "none.sqlite"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{path}", "db", "optimize"])
    assert result.exit_code == 1
    assert "no such file" in result.output and len(result.output.strip().splitlines()) == 1
    assert not path.exists()


def test_an_or_of_listed_words_says_more_than_the_cap_without_counting(any_store, monkeypatch):
    """PostgreSQL: an OR of listed words without filters or NOT parts matches at least as many
    articles as its most frequent word, so past the cap it says "more than" uncounted; with a
    NOT part it counts to the cap. Hits and scores stay those of ranking every match."""
    if any_store.dialect != "postgresql":
        pytest.skip("SQLite counts an OR's matches from FTS5's doclists")
    any_store.save_articles(list(corpus_articles()))
    _build(any_store)
    listed = _listed(any_store)
    spy = Spy(monkeypatch)
    monkeypatch.setattr(search_engine, "COUNT_CAP", 3)
    url = _url(any_store)
    w = sorted((x for x in WORDS if x in listed), key=listed.get, reverse=True)
    query = f"{w[0]} OR {w[1]}"
    found = search(url, query, limit=5)
    assert spy.answered == 1
    assert (found.total, found.exact) == (4, False)
    _same(url, spy, query, limit=5)
    # With a NOT part the lists still answer, and the matches are counted to the cap.
    negated = f"{w[0]} OR {w[1]} NOT {w[2]}"
    before = spy.answered
    found = search(url, negated, limit=5)
    assert spy.answered == before + 1
    assert not found.exact and found.total == 4
    _same(url, spy, negated, limit=5)
