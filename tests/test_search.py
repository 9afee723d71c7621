"""Full-text and filtered search, MeSH profiles and the search CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.errors import QueryError
from pnet_pubmed.meshtree import vocabulary
from pnet_pubmed.search import SearchError, mesh_profile, search, tokens
from pnet_pubmed.search import engine as search_engine
from pnet_pubmed.search import plan as search_plan
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store
from pnet_pubmed.values import Citation, Match

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
PG_URL = os.environ.get("PNET_PUBMED_TEST_PG_URL")
COLLECTION = "review"
CURACAO = "34889398"  # "Curaçao" in its abstract

# -- fixtures (test_export.py imports them) ----------------------------------------------------


@functools.cache
def corpus_articles() -> tuple:
    from pnet_pubmed.pubmed import parse_articles

    files = sorted((CORPUS / "ncbi-efetch").glob("*.xml"))
    files.append(CORPUS / "modelled" / "seed-references.xml")
    out = []
    for f in files:
        out.extend(parse_articles(f.read_bytes()))
    # The last record of a PMID wins in the store, as here.
    return tuple({a.pmid: a for a in out}.values())


@pytest.fixture(scope="session")
def corpus():
    return corpus_articles()


def _new_db(backend: str, folder: Path, request) -> tuple[str, object]:
    """A URL of an empty database and a function that drops it."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'search.sqlite'}", lambda: None
    admin = request.getfixturevalue("pg_admin")
    schema = f"pnet_search_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop():
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')

    return url.render_as_string(hide_password=False), drop


def _indexed_store(url: str) -> Store:
    store = Store(url, index=SearchIndex())
    store.upgrade()
    assert store.article_hooks
    return store


def review_pmids(corpus) -> list[str]:
    """The PMIDs a small review cites: PNET records plus real MeSH-indexed ones."""
    pnet = [a.pmid for a in corpus if a.pmid in {"21306238", "94558806", "99179667"}]
    neoplasms = [a.pmid for a in corpus if any(h.descriptor == "Neoplasms" for h in a.mesh)]
    return pnet + neoplasms[:3] + [CURACAO]


def load(store: Store, corpus) -> None:
    store.save_articles(list(corpus))
    pmids = review_pmids(corpus)
    citations = [Citation(key=str(i), raw=f"Reference {i}", position=i)
                 for i in range(1, len(pmids) + 3)]
    store.save_citations(COLLECTION, citations)
    matches = [Match(key=str(i), status="matched", pmid=p, method="pmid")
               for i, p in enumerate(pmids, 1)]
    n = len(pmids)
    matches += [
        Match(key=str(n + 1), status="ambiguous", candidates=(pmids[0], pmids[1])),
        Match(key=str(n + 2), status="not_found"),
    ]
    store.save_matches(COLLECTION, matches)
    # A second collection citing one of the same articles, under another key.
    store.save_citations("other", [Citation(key="A", raw="Other reference", position=1)])
    store.save_matches("other", [Match(key="A", status="matched", pmid=pmids[0])])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request, tmp_path_factory, corpus):
    """A store holding the whole corpus and two collections; tests must not change it."""
    url, drop = _new_db(request.param, tmp_path_factory.mktemp("loaded"), request)
    store = _indexed_store(url)
    load(store, corpus)
    yield store
    store.close()
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    """An empty, upgraded store that a test may change."""
    url, drop = _new_db(request.param, tmp_path, request)
    store = _indexed_store(url)
    yield store
    store.close()
    drop()


# -- expectations computed from the records themselves ----------------------------------------


def _fields(a) -> list[list[str]]:
    mesh = [h.descriptor for h in a.mesh] + [c.name for c in a.chemicals
                                             if c.name not in {h.descriptor for h in a.mesh}]
    return [
        tokens(a.title),
        tokens("\n".join(sec.text for sec in a.abstract)),
        tokens("; ".join(mesh)),
        tokens("; ".join(k.text for k in a.keywords)),
    ]


def _has(a, words: tuple[str, ...], prefix: bool = False) -> bool:
    n = len(words)
    for toks in _fields(a):
        for i in range(len(toks) - n + 1):
            head = all(toks[i + k] == words[k] for k in range(n - 1))
            last = toks[i + n - 1]
            if head and (last.startswith(words[-1]) if prefix else last == words[-1]):
                return True
    return False


def _expect(corpus, pred) -> set[str]:
    return {a.pmid for a in corpus if pred(a)}


def _found(store, query=None, **kw) -> set[str]:
    return {h.pmid for h in search(store, query, limit=1000, **kw)}


# -- full text ---------------------------------------------------------------------------------


def test_words_phrases_prefix_boolean(loaded, corpus):
    both = _expect(corpus, lambda a: _has(a, ("pancreatic",)) and _has(a, ("neuroendocrine",)))
    phrase = _expect(corpus, lambda a: _has(a, ("pancreatic", "neuroendocrine")))
    assert phrase and phrase < both  # "neuroendocrine tumours of the pancreas" and the like
    assert _found(loaded, "pancreatic neuroendocrine") == both
    assert _found(loaded, '"pancreatic neuroendocrine"') == phrase
    assert _found(loaded, '"Pancreatic NEUROENDOCRINE"') == phrase
    assert _found(loaded, '"somatostatin analogues"') == _expect(
        corpus, lambda a: _has(a, ("somatostatin", "analogues")))

    prefix = _expect(corpus, lambda a: _has(a, ("insulin",), prefix=True))
    exact = _expect(corpus, lambda a: _has(a, ("insulin",)))
    assert exact < prefix  # "insulinoma" and the like
    assert _found(loaded, "insulin*") == prefix
    assert _found(loaded, "insulin") == exact

    neuro = _expect(corpus, lambda a: _has(a, ("neuroendocrine",)))
    pancreatic = _expect(corpus, lambda a: _has(a, ("pancreatic",)))
    assert neuro - pancreatic and neuro & pancreatic
    assert _found(loaded, "neuroendocrine NOT pancreatic") == neuro - pancreatic
    ever = _expect(corpus, lambda a: _has(a, ("everolimus",)))
    suni = _expect(corpus, lambda a: _has(a, ("sunitinib",)))
    assert _found(loaded, "everolimus OR sunitinib") == ever | suni
    assert _found(loaded, "(everolimus OR sunitinib) AND pancreatic") == (ever | suni) & pancreatic
    assert _found(loaded, "everolimus sunitinib") == ever & suni


def test_case_and_accents_fold(loaded):
    for query in ("curacao", "CURAÇAO", "Curaçao", "curaç*"):
        hits = search(loaded, query)
        assert [h.pmid for h in hits] == [CURACAO], query
    assert "[Curaçao]" in hits[0].snippet  # the text as printed, the match marked


def test_mesh_and_keywords_are_searched(loaded, corpus):
    # A descriptor name found only in MeSH, not in title or abstract.
    a = next(a for a in corpus for h in a.mesh if h.descriptor == "Menopause"
             and not _has(replace(a, mesh=(), chemicals=(), keywords=()), ("menopause",)))
    assert a.pmid in _found(loaded, "menopause")
    k = next(a for a in corpus if a.keywords and not a.mesh)
    word = tokens(k.keywords[0].text)
    assert k.pmid in _found(loaded, '"' + " ".join(word) + '"')


def test_ranking_and_snippet(loaded):
    hits = search(loaded, "everolimus")
    assert hits and all(h.score is not None for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "everolimus" in hits[0].title.lower()  # a title match outranks the abstract
    phrase = search(loaded, '"somatostatin analogues"')
    assert all("[somatostatin analogues]" in h.snippet.lower() for h in phrase)
    bold = search(loaded, "everolimus", highlight=("<b>", "</b>"))
    assert "<b>" in bold[0].snippet


def test_json_fields_and_cited_by(loaded, corpus):
    pmids = review_pmids(corpus)
    hits = search(loaded, "everolimus", collection=COLLECTION)
    by_pmid = {h.pmid: h for h in hits}
    nejm = by_pmid["21306238"]
    assert nejm.cited_by == (str(pmids.index("21306238") + 1),)
    assert nejm.year == 2011 and nejm.journal == "N Engl J Med"
    assert set(nejm.as_dict()) >= {"pmid", "title", "year", "journal", "score", "cited_by"}
    everywhere = {h.pmid: h for h in search(loaded, "everolimus")}
    first = pmids[0]
    if first in everywhere:
        assert set(everywhere[first].cited_by) == {"other:A", f"{COLLECTION}:1"}


# -- filters -----------------------------------------------------------------------------------


def test_mesh_filters_major_and_qualifier(loaded, corpus):
    name = "Pancreatic Neoplasms"
    with_it = [(a, h) for a in corpus for h in a.mesh if h.descriptor == name]
    major = {a.pmid for a, h in with_it if h.is_major_topic}
    minor = {a.pmid for a, h in with_it if not h.is_major_topic}
    assert major and minor
    ui = with_it[0][1].ui
    assert _found(loaded, explode=False, mesh=[name]) == major | minor
    assert _found(loaded, explode=False, mesh=[name.lower()]) == major | minor
    assert _found(loaded, explode=False, mesh=[ui]) == major | minor
    assert _found(loaded, explode=False, mesh=[name], major=True) == major

    pair = next((a, h, q) for a in corpus for h in a.mesh for q in h.qualifiers
                if h.descriptor == name)
    a, h, q = pair
    expected = {b.pmid for b in corpus for g in b.mesh
                if g.descriptor == name and any(x.name == q.name for x in g.qualifiers)}
    assert a.pmid in expected
    assert _found(loaded, explode=False, mesh=[name], qualifier=q.name) == expected
    assert _found(loaded, explode=False, mesh=[name], qualifier=q.ui) == expected
    only_q = {b.pmid for b in corpus if any(x.name == q.name for g in b.mesh
                                            for x in g.qualifiers)}
    assert _found(loaded, qualifier=q.name.upper()) == only_q
    major_pair = {b.pmid for b in corpus for g in b.mesh if g.descriptor == name
                  for x in g.qualifiers if x.name == q.name and (g.major or x.major)}
    assert _found(loaded, explode=False, mesh=[name], qualifier=q.name, major=True) == major_pair
    # Two --mesh terms: both must be there.
    humans = {b.pmid for b in corpus if any(g.descriptor == "Humans" for g in b.mesh)}
    assert _found(loaded, explode=False, mesh=[name, "Humans"]) == (major | minor) & humans
    # Exploded (the default, as PubMed's [mh]): the descriptors below it count too.
    below = vocabulary().narrower(ui)
    assert _found(loaded, mesh=[name]) == {b.pmid for b in corpus
                                           if any(g.ui in below for g in b.mesh)} > major | minor
    with pytest.raises(QueryError, match="closest: Pancreatic Neoplasms"):
        search(loaded, None, mesh=["Pancreatik Neoplasms"])


def test_other_filters(loaded, corpus):
    found = _found(loaded, journal="N Engl J Med")
    assert found == {a.pmid for a in corpus if a.medline_ta == "N Engl J Med"} and found
    assert _found(loaded, journal="n. engl. j. med.") == found
    jco = {a.pmid for a in corpus if a.medline_ta == "J Clin Oncol"}
    assert _found(loaded, journal="Journal of clinical oncology") == jco
    a = next(a for a in corpus if a.issn and a.medline_ta == "J Clin Oncol")
    assert _found(loaded, journal=a.issn) >= {a.pmid}

    in_range = {a.pmid for a in corpus if a.year and 2009 <= a.year <= 2011}
    assert _found(loaded, year=(2009, 2011)) == in_range
    assert _found(loaded, year=(2020, None)) == {a.pmid for a in corpus
                                                 if a.year and a.year >= 2020}

    rct = {a.pmid for a in corpus
           if any(p.name == "Randomized Controlled Trial" for p in a.publication_types)}
    assert rct and _found(loaded, publication_type="randomized controlled trial") == rct

    yao = {a.pmid for a in corpus for au in a.authors if au.last_name == "Yao"}
    yao_jc = {a.pmid for a in corpus for au in a.authors
              if au.last_name == "Yao" and (au.initials or "").startswith("JC")}
    assert yao_jc and _found(loaded, author="Yao") == yao
    assert _found(loaded, author="Yao JC") == yao_jc
    assert _found(loaded, author="Kylänpää") == _found(loaded, author="KYLANPAA ML") != set()

    cited = set(review_pmids(corpus))
    assert _found(loaded, collection=COLLECTION) == cited
    assert _found(loaded, "everolimus", collection=COLLECTION) == cited & _expect(
        corpus, lambda a: _has(a, ("everolimus",)))


def test_filters_only_are_newest_first(loaded):
    hits = search(loaded, None, mesh=["Humans"], limit=50)
    years = [h.year or 0 for h in hits]
    assert years == sorted(years, reverse=True) and all(h.score is None for h in hits)
    assert all(h.snippet is None for h in hits)
    assert len(search(loaded, None, mesh=["Humans"], limit=3)) == 3


def test_bad_filters(loaded):
    with pytest.raises(SearchError, match="no collection named 'nope'"):
        search(loaded, "x1", collection="nope")
    with pytest.raises(SearchError, match="--major needs --mesh or --qualifier"):
        search(loaded, "everolimus", major=True)
    with pytest.raises(SearchError, match="limit"):
        search(loaded, "everolimus", limit=0)


# -- MeSH profile ------------------------------------------------------------------------------


def test_mesh_profile(loaded, corpus):
    cited = set(review_pmids(corpus))
    arts = [a for a in corpus if a.pmid in cited]
    profile = mesh_profile(loaded, collection=COLLECTION, top=1000)
    by_name = {row["descriptor"]: row for row in profile}
    for a in arts:
        for h in a.mesh:
            row = by_name[h.descriptor]
            assert row["ui"] == h.ui
            assert row["articles"] == len({b.pmid for b in arts
                                           if any(g.descriptor == h.descriptor for g in b.mesh)})
            assert row["major_articles"] == len({b.pmid for b in arts for g in b.mesh
                                                 if g.descriptor == h.descriptor
                                                 and g.is_major_topic})
    counts = [row["articles"] for row in profile]
    assert counts == sorted(counts, reverse=True)
    top = mesh_profile(loaded, collection=COLLECTION, major=True, top=3)
    assert len(top) <= 3 and all(row["major_articles"] > 0 for row in top)
    everything = mesh_profile(loaded, top=1)
    assert everything[0]["descriptor"] == "Humans"
    with pytest.raises(SearchError, match="no collection"):
        mesh_profile(loaded, collection="nope")


# -- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory, corpus):
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.sqlite'}"
    store = _indexed_store(url)
    load(store, corpus)
    store.close()
    return url


def _cli():
    import click

    from pnet_pubmed.cli import main
    from pnet_pubmed.cli.export import export
    from pnet_pubmed.cli.search import mesh
    from pnet_pubmed.cli.search import search as search_cmd

    # The lead adds the commands to main; until then, a group of our own with the same options.
    group = click.Group(name="pnet-pubmed", commands=dict(main.commands),
                        params=main.params, callback=main.callback)
    for cmd in (search_cmd, mesh, export):
        group.add_command(cmd)
    return group


def invoke(url: str, *args: str):
    return CliRunner().invoke(_cli(), ["--db", url, *args], catch_exceptions=False)


def test_cli_search_formats(cli_db):
    table = invoke(cli_db, "search", "somatostatin", "analogues", "--year", "2001:2010")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["pmid", "year", "journal", "score", "cited_by", "title"]
    assert any("[somatostatin]" in line.lower() for line in lines[2:])

    out = invoke(cli_db, "search", '"somatostatin analogues"', "--format", "json")
    rows = json.loads(out.output)
    assert rows and {"pmid", "title", "year", "journal", "score", "cited_by"} <= set(rows[0])

    out = invoke(cli_db, "search", "--mesh", "Neoplasms", "--collection", COLLECTION,
                 "--format", "csv")
    header, *body = out.output.splitlines()
    assert header == "pmid,year,journal,score,cited_by,doi,title,snippet"
    assert body

    none = invoke(cli_db, "search", "zzzyzzyva")
    assert none.exit_code == 0 and "no matching articles" in none.output


def test_cli_mesh_formats(cli_db):
    out = invoke(cli_db, "mesh", "--collection", COLLECTION, "--top", "5")
    assert out.exit_code == 0
    assert out.output.splitlines()[0].split() == ["descriptor", "ui", "articles",
                                                  "major_articles"]
    rows = json.loads(invoke(cli_db, "mesh", "--major", "--format", "json").output)
    assert rows and all(r["major_articles"] > 0 for r in rows)
    csv_out = invoke(cli_db, "mesh", "--format", "csv", "--top", "2").output.splitlines()
    assert csv_out[0] == "descriptor,ui,articles,major_articles" and len(csv_out) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (['"somatostatin analogues'], "unbalanced quote"),
        (["NOT"], "NOT at column 1 needs a term after it"),
        (["NOT", "everolimus"], "must follow what it excludes from"),
        (["everolimus", "--year", "2015:2009"], "2015 is after 2009"),
        (["everolimus", "--collection", "nope"], "no collection named 'nope'"),
        (["everolimus", "--major"], "--major needs --mesh"),
        (["("], "the parenthesis opened at column 1 is never closed"),
        (["(" * 300 + "everolimus" + ")" * 300], "nested more than 20 deep"),
    ],
)
def test_cli_errors_are_one_line(cli_db, args, message):
    result = invoke(cli_db, "search", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_needs_query_or_filter(cli_db):
    result = invoke(cli_db, "search")
    assert result.exit_code == 2 and "give a QUERY or at least one filter" in result.output


def test_search_never_writes(cli_db):
    path = Path(sa.make_url(cli_db).database)

    def digest() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(path.parent.glob(path.name + "*"))}

    before = digest()
    for args in (["search", "everolimus OR sunitinib", "--format", "json"],
                 ["search", "--mesh", "Humans", "--major"],
                 ["search", "NOT x"],
                 ["mesh", "--format", "json"]):
        invoke(cli_db, *args)
    assert digest() == before


# -- the shortcuts that keep large databases fast give the exact answer when they can ---------


def test_driving_from_filters_or_from_the_matches_agrees(loaded, corpus, monkeypatch):
    cases = [
        ("neuroendocrine", {"mesh": ["Humans"]}),
        ("patients", {"publication_type": "Journal Article", "year": (2000, 2025)}),
        (None, {"qualifier": "metabolism", "major": True}),
        (None, {"mesh": ["Neoplasms"], "major": True}),
        (None, {"author": "Yao"}),
        ("cancer*", {"collection": COLLECTION}),
        (None, {"mesh": ["Humans"], "year": (2000, 2010)}),
        ("(Yao[1au] OR 2011[dp]) AND 2010:2012[dp]", {"journal": "J Clin Oncol"}),
    ]
    exact = [search(loaded, q, limit=15, **kw) for q, kw in cases]
    assert all(exact)
    # Every filter checked per match (or per article, newest first): none drives. Then the
    # smallest filter drives whenever it is smaller than the matches.
    for name, value in (("CAP", 0), ("DRIVE", 1e9)):
        with monkeypatch.context() as m:
            m.setattr(search_plan, name, value)
            again = [search(loaded, q, limit=15, **kw) for q, kw in cases]
        assert [[h.pmid for h in r] for r in again] == [[h.pmid for h in r] for r in exact]
        assert [r.total for r in again] == [r.total for r in exact]


def test_the_top_hits_are_the_best_of_all_matches(loaded):
    """No sample is ranked: the first k hits are the first k of every match ranked."""
    everything = search(loaded, "patients", limit=1000)
    assert len(everything) > 20 and everything.total == len(everything) and everything.exact
    for k in (1, 5, 20):
        top = search(loaded, "patients", limit=k)
        assert [h.pmid for h in top] == [h.pmid for h in everything[:k]]
        assert top.total == everything.total


def test_cli_says_how_many_hits_there_are(cli_db, corpus):
    expected = _expect(corpus, lambda a: _has(a, ("patients",)))
    result = invoke(cli_db, "search", "patients", "--limit", "3")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == f"3 of {len(expected)} hits"
    assert len(json.loads(invoke(cli_db, "search", "patients", "--limit", "3", "--format",
                                 "json").output)) == 3  # JSON stays JSON
    few = invoke(cli_db, "search", "curacao")
    assert few.stdout.splitlines()[-1] == "1 hit"


def test_no_database_is_a_clear_error(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'never-created.sqlite'}")
    with pytest.raises(SearchError, match="no such file") as err:
        search(store, "everolimus")
    assert "\n" not in str(err.value)


def test_search_takes_an_engine_or_a_connection_and_never_writes(loaded):
    by_store = [h.pmid for h in search(loaded, "everolimus")]
    assert [h.pmid for h in search(loaded.engine, "everolimus")] == by_store
    with loaded.engine.connect() as conn:
        assert [h.pmid for h in search(conn, "everolimus")] == by_store
    # Given an Engine, search guards the connection it takes ...
    with search_engine.reading(loaded.engine) as conn:
        with pytest.raises(Exception, match="(?i)read.?only"):
            conn.execute("DELETE FROM keywords")
    # ... and hands it back writable.
    with loaded.engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE scratch (x INTEGER)"))
        conn.execute(sa.text("DROP TABLE scratch"))


def test_postgresql_ranks_every_match_with_more_work_mem_for_that_statement(loaded,
                                                                          monkeypatch):
    """The statement that ranks every match runs with RANKING_WORK_MEM (a common word's
    bitmap stays exact); the counts before it and the session after it keep the default."""
    if loaded.dialect != "postgresql":
        pytest.skip("a PostgreSQL setting")
    from pnet_pubmed.store import dbapi

    seen: list[tuple[str, str]] = []
    rows = dbapi.ReadConnection.rows

    def spy(self, statement, params=None):
        kind = "rank" if "ts_rank_cd" in statement else "other"
        cursor = self.raw.cursor()
        cursor.execute("SELECT current_setting('work_mem')")
        seen.append((kind, cursor.fetchone()[0]))
        return rows(self, statement, params)

    monkeypatch.setattr(dbapi.ReadConnection, "rows", spy)
    with loaded.engine.connect() as conn:
        default = conn.exec_driver_sql("SHOW work_mem").scalar()
        assert default != search_engine.RANKING_WORK_MEM
        hits = search(conn, "tumor OR cancer")
        assert hits.total > len(hits) > 0
        assert conn.exec_driver_sql("SHOW work_mem").scalar() == default
    assert ("rank", search_engine.RANKING_WORK_MEM) in seen
    assert {value for kind, value in seen if kind == "other"} <= {default}
