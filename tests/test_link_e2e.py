"""`pnet-pubmed link` on the bundled list against the stand-in, checked in the database."""

from __future__ import annotations

import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import BUNDLED_COLLECTION
from pnet_pubmed.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "seed_expectations.json").read_text())["references"]
MODELLED = FIXTURES / "corpus" / "modelled" / "seed-references.xml"


def modelled_records() -> dict[str, ET.Element]:
    root = ET.parse(MODELLED).getroot()
    return {a.findtext("MedlineCitation/PMID"): a for a in root.iter("PubmedArticle")}


def coordinates(record: ET.Element) -> tuple:
    art = record.find("MedlineCitation/Article")
    return (
        record.findtext("MedlineCitation/MedlineJournalInfo/MedlineTA"),
        art.findtext("Journal/JournalIssue/Volume"),
        art.findtext("Pagination/StartPage"),
        "".join(art.find("ArticleTitle").itertext()),
    )


def expected_pmids() -> dict[str, str]:
    """Reference key -> PMID of the record the reviewed expectations describe."""
    by_coordinates = {coordinates(r): pmid for pmid, r in modelled_records().items()}
    out = {}
    for key, e in EXPECTED.items():
        if e["status"] == "matched":
            out[key] = by_coordinates[(e["journal"], e["volume"], e["first_page"], e["title"])]
    return out


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def refs_jsonl() -> list[dict]:
    result = invoke("refs", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture
def linked(eutils):
    result = invoke("link", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    return eutils, summary


def test_every_reference_with_a_record_is_linked_to_it_and_no_other(linked):
    server, summary = linked
    rows = {r["key"]: r for r in refs_jsonl()}
    assert len(rows) == 72
    truth = expected_pmids()
    assert len(truth) == 65
    for key, expected in EXPECTED.items():
        row = rows[key]
        assert row["status"] == expected["status"], (key, row)
        if expected["status"] == "matched":
            assert row["pmid"] == truth[key], (key, row)
        else:
            assert row["pmid"] is None
    assert summary["matched"] == 65 and summary["not_found"] == 7


def test_meeting_abstracts_are_not_found_with_a_reason(linked):
    rows = {r["key"]: r for r in refs_jsonl()}
    abstracts = [k for k, e in EXPECTED.items() if e.get("kind") == "meeting_abstract"]
    assert len(abstracts) == 7
    for key in abstracts:
        assert rows[key]["status"] == "not_found"
        assert "meeting abstract" in rows[key]["reason"]


def test_near_misses_in_the_corpus_are_never_linked(linked):
    linked_pmids = {r["pmid"] for r in refs_jsonl() if r["pmid"]}
    near_misses = set(modelled_records()) - set(expected_pmids().values())
    assert len(near_misses) == 5
    assert not linked_pmids & near_misses


def test_later_full_papers_are_named_but_not_linked(linked):
    rows = refs_jsonl()
    near_misses = set(modelled_records()) - set(expected_pmids().values())
    for pmid in near_misses:
        naming = [r for r in rows if f"PMID {pmid}" in (r["reason"] or "")]
        assert len(naming) == 1, pmid
        assert naming[0]["status"] == "not_found" and naming[0]["pmid"] is None
        assert "meeting abstract" in naming[0]["reason"]


def test_first_run_is_cheap_and_second_run_is_served_from_the_cache(linked):
    server, summary = linked
    assert summary["requests_sent"] <= 12
    assert len(server.requests) == summary["requests_sent"]
    assert server.identity_violations == 0
    before = refs_jsonl()
    server.reset_log()
    again = invoke("link", "--json")
    assert again.exit_code == 0, again.output
    assert len(server.requests) == 0
    assert refs_jsonl() == before


def test_records_are_enriched_in_the_database(linked):
    records = modelled_records()
    truth = expected_pmids()
    for _key, pmid in truth.items():
        result = invoke("show", pmid, "--format", "json")
        assert result.exit_code == 0, result.output
        shown = json.loads(result.output)
        record = records[pmid]
        assert shown["pmid"] == pmid
        assert shown["title"] == "".join(record.find(".//ArticleTitle").itertext()).strip()
        abstract = " ".join("".join(t.itertext()) for t in record.iter("AbstractText"))
        if abstract:
            assert shown["abstract"] and shown["abstract"].split()[-1] in abstract
        headings = record.findall(".//MeshHeading")
        assert len(shown["mesh"]) == len(headings)
        for shown_h, h in zip(shown["mesh"], headings, strict=True):
            d = h.find("DescriptorName")
            assert shown_h["ui"] == d.get("UI")
            assert shown_h["major"] == (d.get("MajorTopicYN") == "Y")
            assert [q["ui"] for q in shown_h["qualifiers"]] == [
                q.get("UI") for q in h.findall("QualifierName")]
        doi = record.findtext(".//ArticleId[@IdType='doi']")
        assert shown["doi"] == doi
    with_mesh = [p for p in truth.values() if records[p].find(".//MeshHeading") is not None]
    assert with_mesh, "the fixture should have records with MeSH headings"


def test_rerun_duplicates_nothing(linked, tmp_path):
    db = Settings.from_env().db_url.removeprefix("sqlite:///")

    def counts():
        with sqlite3.connect(db) as con:
            return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("collections", "refs", "articles", "authors",
                              "article_mesh_headings", "mesh_descriptors")}

    first = counts()
    assert first["refs"] == 72 and first["articles"] == 65
    assert invoke("link").exit_code == 0
    assert counts() == first


def test_summary_line_and_collection_name(eutils):
    result = invoke("link")
    assert result.exit_code == 0
    assert f"{BUNDLED_COLLECTION}: 72 references" in result.output
    assert "65 matched" in result.output and "7 not found" in result.output
    assert "HTTP requests sent" in result.output


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"\x00\x01\x02\xff\xfe binary \x00", "binary"),
    ],
)
def test_bad_input_files_get_one_line_and_lose_nothing(linked, tmp_path, content, message):
    before = refs_jsonl()
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(main, ["link", str(path)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(error_lines) == 1 and error_lines[0].startswith("Error:")
    assert message in error_lines[0].lower()
    assert refs_jsonl() == before


def test_lines_that_are_not_references_are_kept_as_not_found(eutils, tmp_path):
    path = tmp_path / "mixed.txt"
    seed = (Path(__file__).parents[1] / "pnet_pubmed" / "data" / "references.txt").read_text()
    path.write_text("hello world\n" + seed.splitlines()[0] + "\nhttps://example.org/x\n")
    result = invoke("link", str(path), "--collection", "mixed")
    assert result.exit_code == 0, result.output
    rows = refs_jsonl()
    assert len(rows) == 3
    statuses = [r["status"] for r in rows]
    assert statuses.count("matched") == 1 and statuses.count("not_found") == 2
    for r in rows:
        if r["status"] == "not_found":
            assert r["reason"].startswith("unparsed")


def test_store_reads_the_same_rows_as_the_cli(linked):
    rows = Store(os.environ["PNET_PUBMED_DB"]).references(BUNDLED_COLLECTION)
    assert [r["key"] for r in rows] == [str(i) for i in range(1, 73)]


STYLES = ["vancouver.txt", "ama.txt", "apa.txt", "harvard.txt", "refs.bib", "refs.ris", "refs.json"]


@pytest.mark.parametrize("style", STYLES)
def test_restyled_lists_link_exactly_like_the_seed_list(linked, style):
    server, _ = linked
    store = Store(os.environ["PNET_PUBMED_DB"])
    seed = [(r["status"], r["pmid"]) for r in store.references(BUNDLED_COLLECTION)]
    server.reset_log()
    result = invoke("link", str(FIXTURES / "styles" / style), "--collection", style)
    assert result.exit_code == 0, result.output
    assert len(server.requests) <= 12
    rows = [r for r in store.references(style) if r["kind"] != "unparsed"]
    assert [(r["status"], r["pmid"]) for r in rows] == seed


def test_lists_of_pmids_and_dois_link_to_those_records(eutils, tmp_path):
    records = modelled_records()
    with_doi = {pmid: r.findtext(".//ArticleId[@IdType='doi']") for pmid, r in records.items()}
    with_doi = {p: d for p, d in with_doi.items() if d}
    pmids = sorted(records)[:5]
    absent = next(str(n) for n in range(98765432, 98765532) if str(n) not in records)
    lines = pmids + [absent] + [f"doi:{d}" for d in list(with_doi.values())[:5]]
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(lines) + "\n")
    result = invoke("link", str(path), "--collection", "ids")
    assert result.exit_code == 0, result.output
    rows = Store(os.environ["PNET_PUBMED_DB"]).references("ids")
    assert [r["pmid"] for r in rows[:5]] == pmids
    assert all(r["method"] == "pmid" for r in rows[:5])
    assert rows[5]["status"] == "not_found" and absent in rows[5]["reason"]
    assert [r["pmid"] for r in rows[6:]] == list(with_doi)[:5]
    assert all(r["status"] == "matched" for r in rows[6:])
