"""MeSH as PubMed searches it, through the CLI on SQLite and PostgreSQL: headings explode to
the descriptors below them, entry terms name their descriptor, unknown headings name the
closest ones, and the profile rolls up the tree."""

from __future__ import annotations

import json
from collections import defaultdict

from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.meshtree import vocabulary
from pnet_pubmed.search import search
from pnet_pubmed.values import Article, MeshHeading

from .test_search import corpus, fresh  # noqa: F401  (fixtures)
from .test_search_pubmed import db, found, records  # noqa: F401  (fixtures)


def invoke(url: str, *args: str):
    return CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)


def with_heading(articles, uis) -> set[str]:
    return {a.pmid for a in articles if any(h.ui in uis for h in a.mesh)}


def test_a_heading_explodes_to_the_descriptors_below_it(db, records):  # noqa: F811
    mesh = vocabulary()
    ui = mesh.resolve("Neoplasms").ui
    below = mesh.narrower(ui)
    exploded, itself = with_heading(records, below), with_heading(records, {ui})
    assert itself and itself < exploded  # records indexed with Insulinoma, Lung Neoplasms, …
    assert found(db, "", "--mesh", "Neoplasms") == exploded
    assert found(db, "", "--mesh", "Neoplasms", "--no-explode") == itself
    assert found(db, "Neoplasms[mh]") == found(db, "neoplasms[MeSH Terms]") == exploded
    assert found(db, "Neoplasms[mh:noexp]") == itself
    majors = {a.pmid for a in records for h in a.mesh
              if h.ui in below and (h.major or any(q.major for q in h.qualifiers))}
    assert found(db, "Neoplasms[majr]") == found(db, "", "--mesh", "Neoplasms", "--major") == majors


def test_an_entry_term_says_which_descriptor_it_used(db, records):  # noqa: F811
    mesh = vocabulary()
    heading = mesh.resolve("Pancreatic Neoplasms")
    entry = next(t for t in mesh.entry_terms(heading.ui) if t.lower() != heading.name.lower())
    result = invoke(db, "search", "--mesh", entry, "--format", "json", "--limit", "1000")
    assert result.exit_code == 0
    assert result.stderr.strip() == (f"using descriptor Pancreatic Neoplasms ({heading.ui}) "
                                     f'for entry term "{entry}"')
    pmids = {h["pmid"] for h in json.loads(result.stdout)}
    assert pmids and pmids == with_heading(records, mesh.narrower(heading.ui))
    insulinoma = invoke(db, "search", "--mesh", "beta-Cell Tumor", "--limit", "1000")
    assert 'using descriptor Insulinoma (D007340) for entry term "beta-Cell Tumor"' \
        in insulinoma.stderr
    assert search(db, None, mesh=[entry]).notes == (result.stderr.strip(),)


def test_an_unknown_heading_names_the_closest_ones(db):  # noqa: F811
    for args in (["--mesh", "Pancreatik Neoplasms"], ["Pancreatik Neoplasms[mh]"]):
        result = invoke(db, "search", *args)
        assert result.exit_code == 1
        assert 'no MeSH descriptor or entry term "Pancreatik Neoplasms"; closest: Pancreatic ' \
               "Neoplasms (D010190)" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_heading_the_database_holds_but_the_vocabulary_does_not(fresh):  # noqa: F811
    local = Article(pmid="99999001", title="A record indexed with a local heading.",
                    mesh=(MeshHeading("Injected Descriptor", "D999901", True),))
    fresh.save_articles([local])
    assert "D999901" not in vocabulary()
    assert [h.pmid for h in search(fresh, None, mesh=["injected descriptor"])] == ["99999001"]
    assert [h.pmid for h in search(fresh, None, mesh=["D999901"])] == ["99999001"]


def _rolled_up(stored, depth: int) -> list[dict]:
    mesh = vocabulary()
    articles: dict[str, set[str]] = defaultdict(set)
    starred: dict[str, set[str]] = defaultdict(set)
    for a in stored:
        for h in a.mesh:
            for up in mesh.ancestors_at_depth(h.ui, depth):
                articles[up].add(a.pmid)
                if h.major or any(q.major for q in h.qualifiers):
                    starred[up].add(a.pmid)
    rows = [{"descriptor": mesh.name(up), "ui": up, "articles": len(p),
             "major_articles": len(starred[up])} for up, p in articles.items()]
    return sorted(rows, key=lambda r: (-r["articles"], -r["major_articles"], r["descriptor"]))


def test_the_profile_rolls_up_the_tree(db, records):  # noqa: F811
    for depth in (1, 2):
        result = invoke(db, "mesh", "--depth", str(depth), "--top", "100000", "--format",
                        "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == _rolled_up(records, depth)
    top = json.loads(invoke(db, "mesh", "--depth", "1", "--top", "3", "--format",
                            "json").stdout)
    assert top == _rolled_up(records, 1)[:3]
    # Depth 1 is the top of the tree: Neoplasms holds every neoplasm-indexed record.
    neoplasms = next(r for r in _rolled_up(records, 1) if r["descriptor"] == "Neoplasms")
    ui = vocabulary().resolve("Neoplasms").ui
    assert neoplasms["articles"] == len(with_heading(records, vocabulary().narrower(ui)))
    bad = invoke(db, "mesh", "--depth", "0")
    assert bad.exit_code == 2 and "--depth" in bad.output
