"""Export of matched references: BibTeX, RIS, CSL-JSON and CSV read back with their parsers."""

from __future__ import annotations

import csv
import io
import json

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware

from pnet_pubmed.outputs import export as ex
from pnet_pubmed.values import (
    AbstractSection,
    Article,
    Author,
    Citation,
    Match,
    MeshHeading,
    Qualifier,
)

from .test_search import (  # noqa: F401  (fixtures)
    COLLECTION,
    _indexed_store,
    _new_db,
    corpus,
    invoke,
    load,
    review_pmids,
)

TRICKY = Article(
    pmid="99999991",
    title="Ga-68 DOTATATE & 50% {uptake}_in pNET: RADIANT-3 #2 ~ café.",
    abstract=(AbstractSection("Line one\nwith a backslash \\ and $x^2$.", "BACKGROUND"),),
    journal_title="The Lancet. Oncology",
    iso_abbreviation="Lancet Oncol",
    year=2016,
    volume="17",
    issue="3",
    pages="e91-9",
    start_page="e91",
    end_page="e99",
    authors=(Author(last_name="Öberg", fore_name="Kjell", initials="K"),
             Author(collective_name="RADIANT-3 Study Group")),
    doi="10.1016/S1470-2045(15)00611-5",
    mesh=(MeshHeading("Carcinoma, Neuroendocrine", "D018278", True,
                      (Qualifier("drug therapy", "Q000188", False),)),
          MeshHeading("Humans", "D006801", False)),
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, tmp_path_factory, corpus):  # noqa: F811
    url, drop = _new_db(request.param, tmp_path_factory.mktemp("export"), request)
    s = _indexed_store(url)
    load(s, corpus)
    s.save_articles([TRICKY])
    s.save_citations("tricky", [Citation(key="1", raw="Öberg K. Ga-68", position=1),
                                Citation(key="2", raw="Unfetched 2020", position=2,
                                         title="A record never fetched", year=2020)])
    s.save_matches("tricky", [Match(key="1", status="matched", pmid=TRICKY.pmid),
                              Match(key="2", status="matched", pmid="99999992")])
    yield s
    s.close()
    drop()


def _matched(corpus):  # noqa: F811
    by_pmid = {a.pmid: a for a in corpus}
    return [by_pmid[p] for p in review_pmids(corpus)]


def test_records_follow_the_list(store, corpus):  # noqa: F811
    recs = ex.records(store, COLLECTION)
    assert [r.article.pmid for r in recs] == review_pmids(corpus)  # matched only, in order
    assert [r.ident for r in recs] == [str(i) for i in range(1, len(recs) + 1)]
    everything = ex.records(store)
    assert {r.ident for r in everything} >= {"other:A", f"{COLLECTION}:1", "tricky:1"}
    with pytest.raises(ex.ExportError, match="no collection named 'nope'"):
        ex.records(store, "nope")


def test_bibtex_parses_back(store, corpus):  # noqa: F811
    text = ex.export(store, "bibtex", COLLECTION)
    lib = bibtexparser.parse_string(text)
    assert not lib.failed_blocks
    entries = {e.key: e for e in lib.entries}
    arts = _matched(corpus)
    assert len(entries) == len(arts)
    for i, a in enumerate(arts, 1):
        e = entries[f"ref{i}"]
        assert e.fields_dict["pmid"].value == a.pmid
        if a.doi:
            assert e.fields_dict["doi"].value == a.doi
        if a.mesh:
            assert e.fields_dict["keywords"].value.split("; ") == [h.descriptor for h in a.mesh]
        if a.abstract:
            assert "abstract" in e.fields_dict
        assert e.fields_dict["year"].value == str(a.year)


def test_bibtex_escapes_and_protects(store):
    text = ex.export(store, "bibtex", "tricky")
    lib = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not lib.failed_blocks
    e = {e.key: e for e in lib.entries}["ref1"]
    f = {k: v.value for k, v in e.fields_dict.items()}
    assert "\\&" in text and "50\\%" in text and "\\#2" in text and "\\_in" in text
    assert "{RADIANT-3}" in text and "{pNET:}" in text  # kept upper case by BibTeX styles
    assert f["title"].replace("{", "").replace("}", "") .startswith("Ga-68 DOTATATE & 50%")
    assert "café" in f["title"]
    assert f["pages"] in ("e91--e99", "e91–e99")
    assert f["author"].startswith("Öberg, Kjell and ")
    assert "RADIANT-3 Study Group" in f["author"]
    assert f["keywords"] == "Carcinoma, Neuroendocrine; Humans"
    assert f["doi"] == TRICKY.doi and f["pmid"] == TRICKY.pmid
    # The reference matched to a record that was never fetched keeps its citation's fields.
    assert {e.key: e for e in lib.entries}["ref2"].fields_dict["title"].value.startswith(
        "A record never fetched")


def test_ris_parses_back(store, corpus):  # noqa: F811
    entries = rispy.loads(ex.export(store, "ris", COLLECTION))
    arts = _matched(corpus)
    assert [e["accession_number"] for e in entries] == [a.pmid for a in arts]
    for e, a in zip(entries, arts, strict=True):
        assert e["type_of_reference"] == "JOUR"
        assert e.get("keywords", []) == [h.descriptor for h in a.mesh]
        assert e.get("doi") == a.doi
        assert ("abstract" in e) == bool(a.abstract)
        assert "\n" not in e.get("abstract", "")
        assert e["id"] in {str(i) for i in range(1, len(arts) + 1)}
    tricky = rispy.loads(ex.export(store, "ris", "tricky"))[0]
    assert tricky["authors"] == ["Öberg, Kjell", "RADIANT-3 Study Group"]
    assert (tricky["start_page"], tricky["end_page"]) == ("e91", "e99")
    assert tricky["secondary_title"] == "The Lancet. Oncology"


def test_csljson_loads(store, corpus):  # noqa: F811
    items = json.loads(ex.export(store, "csljson", COLLECTION))
    arts = _matched(corpus)
    assert [i["PMID"] for i in items] == [a.pmid for a in arts]
    for item, a in zip(items, arts, strict=True):
        assert item["type"] == "article-journal"
        assert item["issued"]["date-parts"][0][0] == a.year
        assert item.get("DOI") == a.doi
        assert ("keyword" in item) == bool(a.mesh)
    tricky = json.loads(ex.export(store, "csljson", "tricky"))[0]
    assert tricky["author"] == [{"family": "Öberg", "given": "Kjell"},
                                {"literal": "RADIANT-3 Study Group"}]
    assert tricky["page"] == "e91-e99" and tricky["container-title-short"] == "Lancet Oncol"


def test_csv(store, corpus):  # noqa: F811
    rows = list(csv.DictReader(io.StringIO(ex.export(store, "csv", COLLECTION))))
    assert list(rows[0]) == list(ex.CSV_COLUMNS)
    arts = _matched(corpus)
    assert [r["pmid"] for r in rows] == [a.pmid for a in arts]
    for r, a in zip(rows, arts, strict=True):
        assert r["mesh"] == "; ".join(h.descriptor for h in a.mesh)
        assert r["major_mesh"] == "; ".join(h.descriptor for h in a.mesh if h.is_major_topic)
        assert r["abstract"] == a.abstract_text
        assert r["collection"] == COLLECTION


def test_unknown_format(store):
    with pytest.raises(ex.ExportError, match="unknown export format 'docx'"):
        ex.export(store, "docx")


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory, corpus):  # noqa: F811
    url = f"sqlite:///{tmp_path_factory.mktemp('cli-export') / 'cli.sqlite'}"
    s = _indexed_store(url)
    load(s, corpus)
    s.close()
    return url


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csljson", "csv"])
def test_cli_export(cli_db, tmp_path, fmt):
    out = invoke(cli_db, "export", "--collection", COLLECTION, "--format", fmt)
    assert out.exit_code == 0
    path = tmp_path / f"refs.{fmt}"
    to_file = invoke(cli_db, "export", "-c", COLLECTION, "--format", fmt, "-o", str(path))
    assert to_file.exit_code == 0 and "references written to" in to_file.output
    assert path.read_text(encoding="utf-8") in out.output


def test_cli_export_errors(cli_db):
    result = invoke(cli_db, "export", "--collection", "nope", "--format", "ris")
    assert result.exit_code == 1
    # The one "no collection" message of every command (issue 12), naming those there are.
    assert result.output.strip() == (
        "Error: no collection named 'nope' (collections: other, review)")
    missing = invoke(cli_db, "export")
    assert missing.exit_code == 2 and "--format" in missing.output
