"""SQLite: a query whose every match is ranked, ranked in two halves on two connections at once,
gives the hits, scores and totals of one statement."""

from __future__ import annotations

import pytest

from pnet_pubmed.search import engine as search_engine
from pnet_pubmed.search import search
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store

from .test_search import corpus_articles

QUERIES = ("cancer", "pancrea*", "neuro*", '"neuroendocrine tumors"', "tum*",
           "pancrea* neuroendocrine tumors", "cancer OR patients", "tumors NOT carcinoid",
           '"of the" OR insulin*', "(sunitinib OR everolimus) AND survival", "the",
           "zzzznotaword", "{title} : cancer")
FILTERS = ({}, {"year": (2010, 2016)}, {"mesh": ["Humans"]}, {"limit": 1}, {"limit": 60},
           {"publication_type": "Review", "limit": 7})


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    path = tmp_path_factory.mktemp("halves") / "halves.sqlite"
    store = Store(f"sqlite:///{path}", index=SearchIndex())
    store.upgrade()
    store.save_articles(list(corpus_articles()))
    store.close()
    return f"sqlite:///{path}"


class Halves:
    """Counts the searches ranked in halves; can turn halving off."""

    def __init__(self, monkeypatch) -> None:
        self.used = 0
        real = search_engine._in_halves

        def counted(*args, **kwargs):
            found = real(*args, **kwargs)
            self.used += found is not None
            return found

        monkeypatch.setattr(search_engine, "_in_halves", counted)
        # Every search that ranks its matches, whatever the database's size or their number.
        monkeypatch.setattr(search_engine, "SPLIT_STORED", 0)
        monkeypatch.setattr(search_engine, "CAP", 0)
        self.monkeypatch = monkeypatch

    def off(self) -> None:
        self.monkeypatch.setattr(search_engine, "SPLIT_STORED", 10**12)


def test_halves_give_the_hits_scores_and_totals_of_one_statement(url, monkeypatch):
    halves = Halves(monkeypatch)
    cases = [(q, f) for q in QUERIES for f in FILTERS]
    got, marks = [], []
    for query, filters in cases:
        before = halves.used
        got.append(search(url, query, **filters))
        marks.append(halves.used > before)
    # Those a filter few articles pass drives are ranked from its articles instead.
    assert sum(marks) > len(cases) * 3 // 4, [c for c, u in zip(cases, marks, strict=True) if not u]
    halves.off()
    used = halves.used
    for (query, filters), split in zip(cases, got, strict=True):
        whole = search(url, query, **filters)
        assert [(h.pmid, h.score, h.title) for h in split] == \
               [(h.pmid, h.score, h.title) for h in whole], (query, filters)
        assert (split.total, split.exact) == (whole.total, whole.exact), (query, filters)
        assert [h.snippet for h in split] == [h.snippet for h in whole]
    assert halves.used == used
    # Both halves hold hits: the odd rowids are not lost, nor counted twice.
    found = search(url, "cancer", limit=60)
    assert {int(h.pmid) % 2 for h in found} == {0, 1}


def test_an_error_in_the_other_half_reaches_the_caller_as_one_line(url, monkeypatch):
    Halves(monkeypatch)
    from pnet_pubmed.search import SearchError

    with pytest.raises(SearchError) as err:
        search(url, '"cancer', limit=5)  # malformed: refused before any half runs
    assert "\n" not in str(err.value)


def test_a_connection_inside_a_transaction_is_not_halved(url, monkeypatch):
    """A second connection would not see what the caller has not committed."""
    import sqlite3

    from pnet_pubmed.store.dbapi import adopt, sibling

    raw = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        conn = adopt(raw, "sqlite")
        other = sibling(conn)
        assert other is not None
        other.close()
        raw.execute("BEGIN")
        raw.execute("UPDATE articles SET title = title WHERE 0")
        assert sibling(conn) is None
        raw.execute("ROLLBACK")
        memory = adopt(sqlite3.connect(":memory:", isolation_level=None), "sqlite")
        assert sibling(memory) is None
    finally:
        raw.close()
