"""The search index of a mirror load is the index `link` builds for the same records.

`mirror load` writes the index's rows in bulk, made by the readers from the chunk's rows
(mirror/rows.py Chunk.finish); Store.save_articles (what `link` calls) reads the stored articles
back (search/index.py index_articles). Both must give the same rows, so that a record is found by
`search` the same way whichever way it came, on both backends.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.mirror.writer import bulk_index
from pnet_pubmed.search.compile import FTS_COLUMNS, PG_LABELS
from pnet_pubmed.search.index import SearchIndex, _tsvector, _tsvector_capped
from pnet_pubmed.search.snippets import Document
from pnet_pubmed.search.tokens import tokens
from pnet_pubmed.store import Store
from tests.baseline_files import corpus_records, with_revision, write_file
from tests.conftest import PG_URL, _pg_schema_url, empty_database

RECORDS = corpus_records()
UPDATE_FILE = Path(__file__).parent / "fixtures" / "corpus" / "modelled" / "update-file.xml"
QUERIES = ["everolimus", '"randomized controlled trial"', "neuroendocrine AND tumors",
           "pancrea*", "soreide", "carcinoid NOT octreotide", "a corrected title"]


def run(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def second_url(db_url, tmp_path, request):
    """Another empty database on the backend of db_url."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    with empty_database(backend, tmp_path / "linked.sqlite", request) as url:
        yield url


def index_rows(url: str) -> tuple[list, list]:
    store = Store(url)
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            search = conn.exec_driver_sql(
                "SELECT pmid, id, title, abstract, mesh, keywords FROM article_search "
                "ORDER BY pmid").all()
            # The FTS5 index agrees with its content table.
            conn.exec_driver_sql("INSERT INTO article_fts (article_fts, rank) "
                                 "VALUES ('integrity-check', 1)")
        else:
            search = conn.exec_driver_sql(
                "SELECT pmid, document::text FROM article_search ORDER BY pmid").all()
        keys = conn.exec_driver_sql(
            "SELECT pmid, key FROM article_author_keys ORDER BY pmid, key").all()
    store.close()
    return [tuple(r) for r in search], [tuple(r) for r in keys]


def hits(url: str, *args: str) -> list[str]:
    out = run(url, "search", *args, "--format", "json", "--limit", "1000")
    return [h["pmid"] for h in json.loads(out)]


def test_a_mirror_load_indexes_as_link_does(db_url, second_url, tmp_path):
    folder = tmp_path / "nlm"
    half = len(RECORDS) // 2
    write_file(folder / "pubmed25n0001.xml.gz", [r for _, r in RECORDS[:half]])
    write_file(folder / "pubmed25n0002.xml.gz", [r for _, r in RECORDS[half:]])
    (folder / "pubmed25n0003.xml").write_bytes(UPDATE_FILE.read_bytes())  # new, deleted
    # Records replaced by newer versions: their index rows and author keys are replaced.
    write_file(folder / "pubmed25n0004.xml.gz", [
        with_revision(RECORDS[5][1], "2030-05-06", title="A corrected title."),
        with_revision(RECORDS[7][1], "2030-05-06"),
    ])
    # One reader process: the rows cross the pipe as they do in a real load.
    run(db_url, "mirror", "load", "--jobs", "1", str(folder))

    mirrored = Store(db_url)
    assert bulk_index(Store(db_url, index=SearchIndex())) == mirrored.dialect
    with mirrored.engine.connect() as conn:
        pmids = list(conn.exec_driver_sql("SELECT pmid FROM articles").scalars())
    articles = mirrored.articles(pmids)
    mirrored.close()
    assert len(articles) > 200
    linked = Store(second_url, index=SearchIndex())
    linked.upgrade()
    linked.save_articles(articles)  # what link does with the records it fetched
    linked.close()

    search, keys = index_rows(db_url)
    assert len(search) == len(articles) and keys
    assert (search, keys) == index_rows(second_url)
    for query in QUERIES:
        assert hits(db_url, query) == hits(second_url, query), query
    names = [f"{au.last_name} {au.initials or ''}" for a in articles[:40:8] for au in a.authors[:1]
             if au.last_name]
    assert len(names) >= 3
    for author in names:
        found = hits(db_url, "--author", author)
        assert found and found == hits(second_url, "--author", author), author
    assert hits(db_url, '"a corrected title"') == [RECORDS[5][0]]


def test_another_follower_of_saves_gets_the_articles(tmp_path):
    """A store whose saves feed more than the search index gets after_save_articles, with the
    records as parsed, and the index still follows."""
    folder = tmp_path / "nlm"
    write_file(folder / "pubmed25n0001.xml.gz", [r for _, r in RECORDS[:30]])
    url = f"sqlite:///{tmp_path / 'hooked.sqlite'}"
    store = Store(url, index=SearchIndex())
    seen: list[str] = []
    store.article_hooks.append(lambda conn, articles: seen.extend(a.pmid for a in articles))
    assert bulk_index(store) is None
    from pnet_pubmed.mirror import load

    summary = load(store, [folder], jobs=0)
    store.close()
    assert summary.records == 30 and sorted(seen) == sorted(p for p, _ in RECORDS[:30])
    plain = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    run(plain, "mirror", "load", "--jobs", "0", str(folder))
    assert index_rows(url) == index_rows(plain)


def _capped(doc: Document) -> str:
    return _tsvector_capped([(PG_LABELS[n], tokens(getattr(doc, n))) for n in FTS_COLUMNS])


DOCS = [
    Document(title="Søreide and Straße: the same word twice", abstract="the word again, word",
             mesh="Humans; Neuroendocrine Tumors", keywords="word"),
    Document(title="x " * 300, abstract="y z " * 200),  # more positions than a lexeme keeps
    Document(title="a" * 3000 + " b", abstract="c"),  # a lexeme too long for PostgreSQL
    Document(abstract="w " * 17000),  # positions past the last one
    Document(title="é" * 600),
    Document(),
]


def test_tsvector_literals_agree_on_postgresql():
    """The one-entry-per-occurrence literal and the lexeme-by-lexeme one are the same tsvector
    (the first is only used where no limit applies)."""
    if not PG_URL:
        pytest.skip("PNET_PUBMED_TEST_PG_URL not set")
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        for doc in DOCS:
            fast, capped = _tsvector(doc), _capped(doc)
            same = conn.exec_driver_sql(
                "SELECT CAST(%(a)s AS tsvector)::text, CAST(%(b)s AS tsvector)::text",
                {"a": fast, "b": capped}).one()
            assert same[0] == same[1], doc
    engine.dispose()


def test_tsvector_limits_take_the_capped_path():
    for doc in DOCS[1:5]:
        assert _tsvector(doc) == _capped(doc)
    assert _tsvector(DOCS[0]) != _capped(DOCS[0])  # one entry per occurrence


def test_committed_writes_leave_no_pending_gin_entries(tmp_path):
    """PostgreSQL (revision 0009): new index entries go through the GIN pending list, and every
    writer merges them before it commits, so that searches never scan a pending list."""
    if not PG_URL:
        pytest.skip("PNET_PUBMED_TEST_PG_URL not set")
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    schema, url = _pg_schema_url(admin)
    merge = "SELECT gin_clean_pending_list('ix_article_search_document'::regclass)"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        folder = tmp_path / "nlm"
        write_file(folder / "pubmed25n0001.xml.gz", [r for _, r in RECORDS[:60]])
        run(url, "mirror", "load", "--jobs", "0", str(folder))
        with engine.begin() as conn:
            options = conn.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE oid = "
                "'ix_article_search_document'::regclass").scalar_one()
            assert "fastupdate=on" in options
            assert conn.exec_driver_sql(merge).scalar_one() == 0  # nothing left to merge
        # What link saves (new versions of three records) is merged too.
        store = Store(url, index=SearchIndex())
        stored = store.articles([p for p, _ in RECORDS[:3]])
        assert store.save_articles([replace(a, title=a.title + " Revised.") for a in stored],
                                   {a.pmid: datetime.now(UTC) + timedelta(days=1)
                                    for a in stored}) == 3
        store.close()
        assert {a.pmid for a in stored} <= set(hits(url, "revised"))
        with engine.begin() as conn:
            assert conn.exec_driver_sql(merge).scalar_one() == 0
        # The check can tell: entries written without the merge are still pending.
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE article_search SET document = "
                                 "document || CAST('zzpending' AS tsvector)")
        with engine.begin() as conn:
            assert conn.exec_driver_sql(merge).scalar_one() > 0
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
