"""The storage layer on SQLite and, when PNET_PUBMED_TEST_PG_URL is set, PostgreSQL."""

from __future__ import annotations

import functools
import multiprocessing
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pnet_pubmed.store import Store, StoreError
from pnet_pubmed.store import schema as st
from pnet_pubmed.values import (
    AbstractSection,
    Article,
    Author,
    Chemical,
    Citation,
    CommentCorrection,
    Keyword,
    Match,
    MeshHeading,
    Name,
    PublicationType,
    Qualifier,
)

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
PG_URL = os.environ.get("PNET_PUBMED_TEST_PG_URL")
TABLES = sorted(st.metadata.tables)


# -- fixtures ----------------------------------------------------------------------------------


@functools.cache
def corpus_articles() -> tuple[Article, ...]:
    """Every corpus record, parsed as one EFetch-shaped document (5x faster than file by file)."""
    from pnet_pubmed.pubmed import parse_articles

    files = sorted((CORPUS / "ncbi-efetch").glob("*.xml"))
    files.append(CORPUS / "modelled" / "seed-references.xml")
    bodies = []
    for f in files:
        data = f.read_bytes()
        start = data.index(b">", data.index(b"<PubmedArticleSet")) + 1
        bodies.append(data[start : data.rindex(b"</PubmedArticleSet>")])
    doc = b'<?xml version="1.0" ?>\n<PubmedArticleSet>' + b"".join(bodies) + b"</PubmedArticleSet>"
    return tuple(parse_articles(doc))


@pytest.fixture(scope="session")
def corpus():
    try:
        articles = corpus_articles()
    except ImportError:
        pytest.skip("pnet_pubmed.pubmed not available yet")
    assert len(articles) > 250
    return articles


# -- helpers -----------------------------------------------------------------------------------


def rich_article(pmid: str = "21306238", **changes) -> Article:
    base = dict(
        pmid=pmid,
        title="Everolimus for advanced pancreatic neuroendocrine tumors.",
        abstract=(
            AbstractSection("Everolimus may help.", "BACKGROUND", "BACKGROUND"),
            AbstractSection("We randomly assigned 410 patients.", "METHODS", "METHODS"),
            AbstractSection("Unlabelled closing text ü."),
        ),
        journal_title="The New England journal of medicine",
        iso_abbreviation="N Engl J Med",
        medline_ta="N Engl J Med",
        nlm_unique_id="0255562",
        issn="1533-4406",
        issn_linking="0028-4793",
        year=2011,
        pub_date="2011 Feb 10",
        volume="364",
        issue="6",
        pages="514-23",
        start_page="514",
        end_page="523",
        elocation="10.1056/NEJMoa1009290",
        authors=(
            Author(
                "Yao", "James C", "JC", None, ("MD Anderson, Houston.", "Second aff."), "0000-0001"
            ),
            Author("Shah", "Manisha H", "MH"),
            Author(collective_name="RADIANT-3 Study Group"),
            Author("", "", ""),
        ),
        doi="10.1056/NEJMoa1009290",
        pmcid="PMC4208619",
        languages=("eng", "fre"),
        publication_types=(
            PublicationType("Randomized Controlled Trial", "D016449"),
            PublicationType("Journal Article", None),
        ),
        mesh=(
            MeshHeading(
                "Antineoplastic Agents",
                "D000970",
                False,
                (
                    Qualifier("therapeutic use", "Q000627", True),
                    Qualifier("adverse effects", "Q000009", False),
                ),
            ),
            MeshHeading("Humans", "D006801", False),
            MeshHeading("Pancreatic Neoplasms", "D010190", True),
            MeshHeading("Locally coined heading", None, False, (Qualifier("odd use", None, True),)),
        ),
        keywords=(Keyword("mTOR", True), Keyword("everolimus")),
        chemicals=(
            Chemical("Everolimus", "D000068338", "9HW64Q8G6G"),
            Chemical("Placebos", None, None),
        ),
        comments_corrections=(
            CommentCorrection("CommentIn", "21306246", "N Engl J Med. 2011;364(6):564-5"),
            CommentCorrection("ErratumIn", None, "N Engl J Med. 2011;364(8):xx"),
        ),
        status="MEDLINE",
        publication_status="ppublish",
        is_book=False,
    )
    base.update(changes)
    return Article(**base)


def cite(key: str, raw: str | None = None, **kw) -> Citation:
    base = dict(
        key=key,
        raw=raw or f"Author{key} A, Other B, et al. Title {key}. J Test. 2011;1:{key}-9.",
        position=int(key) if key.isdigit() else 0,
        authors=(Name(f"Author{key}", "A"), Name("Other", "B")),
        et_al=True,
        year=2011,
        title=f"Title {key}",
        journal="J Test",
        volume="1",
        pages=f"{key}-9",
        first_page=key,
    )
    base.update(kw)
    return Citation(**base)


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in st.metadata.tables.items()
        }


def by_key(rows: list[dict]) -> dict[str, dict]:
    return {r["key"]: r for r in rows}


# -- schema ------------------------------------------------------------------------------------


def test_upgrade_creates_schema_and_is_idempotent(db_url):
    s = Store(db_url)
    assert s.current_revision() is None
    s.upgrade()
    s.upgrade()
    # Later revisions (search.py's index) may add tables of their own.
    assert s.current_revision() == s.head_revision() is not None
    insp = sa.inspect(s.engine)
    assert set(TABLES) <= set(insp.get_table_names())
    assert set(st.VIEWS) <= set(insp.get_view_names())
    assert {"ix_refs_status", "ix_refs_pmid"} <= {i["name"] for i in insp.get_indexes("refs")}
    assert "ix_article_mesh_headings_descriptor_ui" in {
        i["name"] for i in insp.get_indexes("article_mesh_headings")
    }
    assert "ix_authors_last_name" in {i["name"] for i in insp.get_indexes("authors")}
    assert "ix_article_mesh_qualifiers_pairs" in {
        i["name"] for i in insp.get_indexes("article_mesh_qualifiers")
    }
    assert {"ix_articles_year", "ix_articles_journal_title_year"} <= {
        i["name"] for i in insp.get_indexes("articles")
    }
    s.close()


def test_downgrade_and_upgrade_again(store):
    from alembic import command
    from alembic.config import Config

    from pnet_pubmed.store.store import MIGRATIONS

    store.save_articles([rich_article()])
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.transaction() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(store.engine).get_table_names()) <= {"alembic_version"}
    store.upgrade()
    assert store.known_pmids(["21306238"]) == set()
    store.save_articles([rich_article()])
    assert store.article("21306238") == rich_article()


def test_unknown_revision_is_a_store_error(store):
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="9999") as err:
        store.upgrade()
    assert "\n" not in str(err.value)


def test_migration_matches_table_definitions(store):
    def ours(name, type_, parent_names):
        return type_ != "table" or name in st.metadata.tables

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours})
        diff = compare_metadata(context, st.metadata)
    assert diff == []


def test_sqlite_pragmas(tmp_path):
    s = Store(str(tmp_path / "nested" / "dir" / "plain-path.sqlite"))  # a bare path is SQLite
    s.upgrade()
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30000
    assert (tmp_path / "nested" / "dir" / "plain-path.sqlite").is_file()
    s.close()


def test_in_memory_sqlite():
    with Store("sqlite://") as s:
        s.upgrade()
        s.save_articles([rich_article()])
        assert s.article("21306238") == rich_article()
        with s.read_only_connection() as conn:
            with pytest.raises(sa.exc.OperationalError):
                conn.exec_driver_sql("DELETE FROM articles")
        s.save_articles([rich_article("2")])  # writable again afterwards
        assert s.known_pmids(["2", "21306238"]) == {"2", "21306238"}


# -- articles ----------------------------------------------------------------------------------


def test_article_round_trip(store):
    a = rich_article()
    b = rich_article("1", mesh=(), authors=(), abstract=(), languages=(), is_book=True, year=None)
    assert store.save_articles([a, b]) == 2
    assert store.article(a.pmid) == a
    assert store.article("1") == b
    assert store.article("404") is None
    assert store.articles(["1", "404", a.pmid, "1"]) == [b, a]
    assert store.known_pmids(["1", "2", a.pmid]) == {"1", a.pmid}
    with store.engine.connect() as conn:
        abstract = conn.execute(
            sa.select(st.articles.c.abstract).where(st.articles.c.pmid == a.pmid)
        ).scalar_one()
    assert abstract == a.abstract_text
    assert abstract.startswith("BACKGROUND: Everolimus")


def test_resaving_replaces_children(store):
    store.save_articles([rich_article(), rich_article("7")])
    before = counts(store)
    smaller = rich_article(
        title="Corrected title",
        authors=(Author("Yao", "James C", "JC"),),
        mesh=(MeshHeading("Humans", "D006801", True),),
        keywords=(),
        comments_corrections=(),
    )
    assert store.save_articles([smaller]) == 1
    assert store.article(smaller.pmid) == smaller
    assert store.article("7") == rich_article("7")
    after = counts(store)
    assert after["articles"] == before["articles"] == 2
    assert after["authors"] == before["authors"] - 3
    assert after["affiliations"] == before["affiliations"] - 2
    assert after["article_mesh_headings"] == before["article_mesh_headings"] - 3
    assert after["article_mesh_qualifiers"] == before["article_mesh_qualifiers"] - 3
    assert after["keywords"] == before["keywords"] - 2
    # The vocabulary keeps descriptors that no article uses any more.
    assert after["mesh_descriptors"] == before["mesh_descriptors"]


def test_duplicate_pmids_in_one_call_keep_the_last(store):
    assert store.save_articles([rich_article(title="old"), rich_article(title="new")]) == 1
    assert store.article("21306238").title == "new"
    assert store.save_articles([]) == 0


def test_mesh_surrogate_keys_and_renames(store):
    store.save_articles([rich_article()])
    with store.engine.connect() as conn:
        keys = set(conn.execute(sa.select(st.mesh_descriptors.c.ui)).scalars())
        qkeys = set(conn.execute(sa.select(st.mesh_qualifiers.c.ui)).scalars())
    assert "name:Locally coined heading" in keys and "D006801" in keys
    assert "name:odd use" in qkeys
    # A UI seen with a new name renames it for every article that carries it.
    other = rich_article("9", mesh=(MeshHeading("Human Beings", "D006801", False),))
    store.save_articles([other])
    assert store.article("9") == other
    assert [h.descriptor for h in store.article("21306238").mesh][1] == "Human Beings"


def test_public_transaction_commits_or_rolls_back(store):
    with store.transaction() as conn:
        conn.execute(st.mesh_qualifiers.insert().values(ui="Q1", name="one"))
    with pytest.raises(StoreError, match="(?i)unique|constraint"):
        with store.transaction() as conn:
            conn.execute(st.mesh_qualifiers.insert().values(ui="Q2", name="two"))
            conn.execute(st.mesh_qualifiers.insert().values(ui="Q1", name="again"))
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(st.mesh_qualifiers.c.ui)).scalars().all() == ["Q1"]


def test_hooks_run_inside_the_transaction(store):
    seen = []
    store.article_hooks.append(lambda conn, arts: seen.append([a.pmid for a in arts]))
    store.save_articles([rich_article("5"), rich_article("3")])
    assert seen == [["3", "5"]]

    def fail(conn, arts):
        raise RuntimeError("index broken")

    store.article_hooks.append(fail)
    with pytest.raises(RuntimeError):
        store.save_articles([rich_article("8")])
    assert store.known_pmids(["8"]) == set()  # rolled back with the hook


def test_corpus_round_trip_and_idempotence(store, corpus):
    assert store.save_articles(corpus) == len({a.pmid for a in corpus})
    first = counts(store)
    assert store.save_articles(corpus) == len(corpus)
    assert counts(store) == first
    assert first["articles"] == len(corpus)
    assert first["article_mesh_headings"] == sum(len(a.mesh) for a in corpus)
    back = store.articles(a.pmid for a in corpus)
    mismatched = [a.pmid for a, b in zip(corpus, back, strict=True) if a != b]
    assert mismatched == []
    assert any(a.is_book for a in back) and any(a.comments_corrections for a in back)


# -- references and matches --------------------------------------------------------------------


def test_citation_upsert_semantics(store):
    store.save_citations("review", [cite("1"), cite("2"), cite("3")])
    store.save_matches(
        "review",
        [
            Match("1", "matched", "111", ("111",), "ecitmatch", 0.97, "exact"),
            Match("2", "matched", "222", ("222", "223"), "esearch", 0.8, None),
            Match("3", "ambiguous", None, ("301", "302"), "esearch", None, "two candidates"),
        ],
    )
    store.save_articles([synthetic(111)])
    # 1 unchanged raw but a new parse; 2 corrected raw text; 3 left out of the list.
    removed = store.save_citations(
        "review",
        [cite("1", title="Better parsed title", position=5), cite("2", raw="Corrected 2.")],
    )
    assert removed == 1
    refs = by_key(store.references("review"))
    assert set(refs) == {"1", "2"}  # the collection is the list as it is now
    assert refs["1"]["status"] == "matched" and refs["1"]["pmid"] == "111"
    assert refs["1"]["title"] == "Better parsed title" and refs["1"]["position"] == 5
    assert refs["1"]["candidates"] == ["111"] and refs["1"]["score"] == pytest.approx(0.97)
    assert refs["2"]["raw"] == "Corrected 2."
    assert refs["2"]["status"] == "pending"
    assert [refs["2"][k] for k in ("pmid", "method", "score", "reason")] == [None] * 4
    assert refs["2"]["candidates"] == []
    assert counts(store)["refs"] == 2
    assert store.known_pmids(["111"]) == {"111"}  # articles stay: other lists may cite them
    got = {c["name"]: c for c in store.collections()}["review"]
    assert (got["n_references"], got["n_matched"], got["n_pending"]) == (2, 1, 1)


def test_pending_never_replaces_a_decided_status(store):
    store.save_citations("review", [cite("1"), cite("2"), cite("3")])
    store.save_matches("review", [Match("1", "matched", "111", method="ecitmatch", score=0.9),
                                  Match("2", "not_found", reason="no record fits")])
    store.save_matches("review", [Match(k, "pending", reason="offline: answer not in the cache")
                                  for k in ("1", "2", "3")])
    refs = by_key(store.references("review"))
    assert (refs["1"]["status"], refs["1"]["pmid"], refs["1"]["score"]) == ("matched", "111", 0.9)
    assert (refs["2"]["status"], refs["2"]["reason"]) == ("not_found", "no record fits")
    assert (refs["3"]["status"], refs["3"]["reason"]) == ("pending", "offline: answer not in "
                                                          "the cache")
    # A decision still replaces a decision, and a pending reference gets decided.
    store.save_matches("review", [Match("1", "not_found", reason="retracted"),
                                  Match("3", "matched", "333")])
    refs = by_key(store.references("review"))
    assert (refs["1"]["status"], refs["1"]["pmid"]) == ("not_found", None)
    assert (refs["3"]["status"], refs["3"]["pmid"]) == ("matched", "333")


def test_an_empty_list_empties_the_collection(store):
    store.save_citations("review", [cite("1"), cite("2")])
    assert store.save_citations("review", []) == 2
    assert store.references("review") == []


def test_references_fields_order_and_filters(store):
    store.save_citations("b-list", [cite("2"), cite("1")])
    store.save_citations(
        "a-list",
        [
            cite("1", kind="meeting_abstract", abstract_number="4030", et_al=False),
            cite("2", kind="unparsed", reason="no year", authors=(), group="RADIANT-3"),
        ],
    )
    store.save_matches("b-list", [Match("2", "not_found", reason="nothing close")])
    rows = store.references()
    assert [(r["collection"], r["key"]) for r in rows] == [
        ("a-list", "1"),
        ("a-list", "2"),
        ("b-list", "1"),
        ("b-list", "2"),
    ]
    documented = {
        "collection", "key", "position", "raw", "kind", "authors", "year", "title", "journal",
        "volume", "issue", "pages", "doi", "status", "pmid", "candidates", "method", "score",
        "reason",
    }  # fmt: skip
    assert documented <= set(rows[0])
    first = rows[0]
    assert first["authors"] == ["Author1 A", "Other B"]
    assert first["kind"] == "meeting_abstract" and first["abstract_number"] == "4030"
    assert rows[1]["parse_reason"] == "no year" and rows[1]["group"] == "RADIANT-3"
    assert [r["key"] for r in store.references(status="not_found")] == ["2"]
    assert store.references("b-list", "not_found")[0]["reason"] == "nothing close"
    assert store.references("nope") == []


def test_save_matches_errors(store):
    store.save_citations("review", [cite("1")])
    with pytest.raises(StoreError, match="no references with keys 9"):
        store.save_matches("review", [Match("1", "matched", "1"), Match("9", "matched", "9")])
    assert store.references()[0]["status"] == "pending"  # nothing of the batch was written
    with pytest.raises(StoreError, match="no collection"):
        store.save_matches("other", [Match("1", "matched", "1")])
    with pytest.raises(StoreError, match="invalid match status"):
        store.save_matches("review", [Match("1", "linked", "1")])  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="duplicate reference keys"):
        store.save_citations("review", [cite("4"), cite("4")])


def test_collections(store):
    assert store.collection_id("seed", source="seed/references.txt") == store.collection_id("seed")
    with pytest.raises(StoreError):
        store.collection_id("absent", create=False)
    store.save_citations("seed", [cite(str(i)) for i in range(1, 6)])
    store.save_matches(
        "seed",
        [
            Match("1", "matched", "1"),
            Match("2", "matched", "2"),
            Match("3", "ambiguous", candidates=("3", "4")),
            Match("4", "not_found"),
        ],
    )
    store.collection_id("empty")
    got = {c["name"]: c for c in store.collections()}
    assert list(got) == ["empty", "seed"]
    seed = got["seed"]
    assert seed["source"] == "seed/references.txt"
    assert [seed[k] for k in ("n_references", "n_matched", "n_ambiguous", "n_not_found")] == [
        5,
        2,
        1,
        1,
    ]
    assert seed["n_pending"] == 1
    assert got["empty"]["n_references"] == 0 and got["empty"]["n_pending"] == 0


def test_views(store):
    store.save_articles([rich_article()])
    store.save_citations("review", [cite("1"), cite("2"), cite("3")])
    store.save_matches(
        "review",
        [Match("1", "matched", "21306238"), Match("2", "matched", "99999999")],  # 2: not fetched
    )
    with store.engine.connect() as conn:
        links = conn.execute(sa.text("SELECT * FROM reference_links ORDER BY position")).mappings()
        links = [dict(r) for r in links]
        mesh = conn.execute(
            sa.text("SELECT * FROM article_mesh WHERE pmid = :p ORDER BY descriptor, qualifier"),
            {"p": "21306238"},
        ).all()
    assert list(links[0])[:3] == ["collection", "key", "position"]
    assert set(links[0]) >= {
        "collection", "key", "raw", "status", "reason", "pmid", "title", "year", "journal", "doi",
    }  # fmt: skip
    assert [(r["key"], r["status"], r["pmid"], r["year"]) for r in links] == [
        ("1", "matched", "21306238", 2011),
        ("2", "matched", "99999999", None),
        ("3", "pending", None, None),
    ]
    assert links[0]["journal"] == "The New England journal of medicine"
    assert links[0]["doi"] == "10.1056/NEJMoa1009290"
    rows = [(d, ui, bool(m), q, qui) for _, d, ui, m, q, qui in mesh]
    assert sorted(rows, key=lambda r: (r[0], r[3] or "")) == [
        ("Antineoplastic Agents", "D000970", False, "adverse effects", "Q000009"),
        ("Antineoplastic Agents", "D000970", True, "therapeutic use", "Q000627"),
        ("Humans", "D006801", False, None, None),
        ("Locally coined heading", None, True, "odd use", None),
        ("Pancreatic Neoplasms", "D010190", True, None, None),
    ]


# -- read-only access, errors ------------------------------------------------------------------


def test_read_only_connection_refuses_writes(store):
    store.save_articles([rich_article()])
    with store.read_only_connection() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM article_mesh").scalar() == 5
        with pytest.raises(sa.exc.DBAPIError, match="(?i)read.?only"):
            conn.exec_driver_sql("INSERT INTO mesh_qualifiers (ui, name) VALUES ('Q9', 'x')")
    # Uncaught, a database error leaves the block as a one-line StoreError.
    with pytest.raises(StoreError) as err:
        with store.read_only_connection() as conn:
            conn.exec_driver_sql("DELETE FROM articles")
    assert "\n" not in str(err.value)
    assert store.known_pmids(["21306238"]) == {"21306238"}
    # The main engine still writes.
    store.save_articles([rich_article("2")])
    assert store.known_pmids(["2"]) == {"2"}


def test_read_only_connection_cannot_be_switched_back_to_writing(store):
    sneaky = ("COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; "
              "INSERT INTO mesh_qualifiers (ui, name) VALUES ('Q8', 'sneaky')")
    with pytest.raises((sa.exc.DBAPIError, StoreError)):
        with store.read_only_connection() as conn:
            conn.exec_driver_sql(sneaky)
    with store.read_only_connection() as conn:
        found = conn.exec_driver_sql("SELECT count(*) FROM mesh_qualifiers WHERE ui = 'Q8'")
        assert found.scalar() == 0


def test_store_error_on_garbage_file(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is a reference list, not a database\n" * 200)
    s = Store(f"sqlite:///{junk}")
    with pytest.raises(StoreError, match="not a database") as err:
        s.upgrade()
    assert "\n" not in str(err.value)
    with pytest.raises(StoreError, match="not a database"):
        s.references()


@pytest.mark.parametrize(
    "url, message",
    [
        ("nosuchdb://host/db", "unsupported database"),
        ("sqlite+nosuchdriver:///x.db", "cannot use database"),
        ("mysql://u@h/db", "unsupported database"),
        ("postgresql+psycopg://u:secret@h:notaport/db", "bad database URL"),
    ],
)
def test_store_error_on_bad_url(url, message):
    with pytest.raises(StoreError, match=message) as err:
        Store(url)
    assert "\n" not in str(err.value) and "secret" not in str(err.value)


def test_store_error_on_unreachable_postgres():
    s = Store("postgresql://nobody:secret@127.0.0.1:1/none")  # the psycopg driver is implied
    with pytest.raises(StoreError, match="127.0.0.1") as err:
        s.upgrade()
    assert "\n" not in str(err.value) and "secret" not in str(err.value)


def test_store_error_before_upgrade_says_what_to_do(db_url):
    s = Store(db_url)
    with pytest.raises(StoreError, match="db upgrade"):
        s.references()
    s.close()


# -- concurrency -------------------------------------------------------------------------------


def synthetic(pmid: int) -> Article:
    # Shared descriptors and qualifiers across articles, so writers contend on the vocabulary.
    return rich_article(
        str(pmid),
        mesh=tuple(
            MeshHeading(
                f"Descriptor {d}", f"D9{d:05d}", d % 2 == 0, (Qualifier("use", "Q1", True),)
            )
            for d in range(pmid % 7, pmid % 7 + 6)
        ),
    )


def _write_worker(url: str, worker: int, rounds: int) -> int:
    s = Store(url)
    s.upgrade()  # concurrent upgrades of a fresh database must serialise too
    pmids = range(100 + 10 * worker, 130 + 10 * worker)  # overlaps the other workers' ranges
    batch = [synthetic(p) for p in pmids]
    saved = 0
    for r in range(rounds):
        saved += s.save_articles(batch if r % 2 == 0 else batch[::-1])
        s.save_citations("shared", [cite(str(k)) for k in range(1, 21)])
        s.save_matches("shared", [Match(str(worker + 1), "matched", str(100 + worker))])
    s.close()
    return saved


def test_concurrent_writers(db_url):
    workers, rounds = 3, 3
    # fork starts fast; the parent holds no open connection a child could inherit here.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(workers) as pool:
        saved = pool.starmap(_write_worker, [(db_url, w, rounds) for w in range(workers)])
    assert saved == [30 * rounds] * workers
    with Store(db_url) as s:
        n = counts(s)
        assert n["articles"] == 50  # pmids 100..149
        assert n["article_mesh_headings"] == 50 * 6
        assert n["mesh_descriptors"] == 12 and n["mesh_qualifiers"] == 1
        assert n["refs"] == 20 and n["collections"] == 1
        assert s.article("125") == synthetic(125)
        assert [r["status"] for r in s.references("shared")][:4] == ["matched"] * 3 + ["pending"]
