"""Retractions, expressions of concern, errata and updates (flags) and `refresh`, through the CLI.

The flagged records are those of tests/fixtures/corpus/modelled/update-file.xml (written after the
DTD and real records: a retracted article with its notice, erratum and update, an expression of
concern about real record 23985001 and a revised copy of it) and real NCBI records revised here
as NLM revises them (an In-Process record indexed with MeSH, an author corrected).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed import flags as fl
from pnet_pubmed.cli import main
from pnet_pubmed.config import Settings
from pnet_pubmed.pubmed import parse_records
from pnet_pubmed.refresh import refresh
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store
from tests.conftest import TEST_EMAIL
from tests.eutils_standin import default_corpus_files

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"
UPDATE = FIXTURES / "modelled" / "update-file.xml"
NCBI = FIXTURES / "ncbi-efetch"
IN_PROCESS = NCBI / "39607518.xml"  # a real In-Process record: no MeSH yet

RETRACTED = "99000101"  # RetractionIn 99000102, ErratumIn 99000103, UpdateIn 99000104
CONCERN = "23985001"  # the update file's copy: ExpressionOfConcernIn 99000105, an ErratumIn


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result


def _db():
    import os

    return Store(os.environ["PNET_PUBMED_DB"])


@pytest.fixture
def flagged(make_eutils):
    """A collection `ids` citing the retracted record, the one with an expression of concern,
    and a plain record, linked against a stand-in whose corpus has the update file first."""
    server = make_eutils([UPDATE, *default_corpus_files()])
    result = run("link", "-", "--collection", "ids", input=f"{RETRACTED}, {CONCERN} 11334727\n")
    assert result.exit_code == 0, result.output
    return server


# -- flags -------------------------------------------------------------------------------------
def test_refs_marks_each_flag_with_the_pmid_of_its_notice(flagged):
    rows = [json.loads(x) for x in run("refs", "-c", "ids", "--format", "jsonl").output.split("\n")
            if x]
    by_pmid = {r["pmid"]: r for r in rows}
    assert [(f["flag"], f["notice_pmid"]) for f in by_pmid[RETRACTED]["flags"]] == [
        ("retracted", "99000102"), ("erratum", "99000103"), ("updated", "99000104")]
    assert by_pmid[RETRACTED]["flags"][0]["source"] == "J Clin Oncol. 2016 Mar 1;34(7):771"
    # An erratum the record cites by its source only has no notice PMID.
    assert [(f["flag"], f["notice_pmid"]) for f in by_pmid[CONCERN]["flags"]] == [
        ("expression_of_concern", "99000105"), ("erratum", None)]
    assert by_pmid["11334727"]["flags"] == []

    table = run("refs", "-c", "ids").output
    line = next(x for x in table.splitlines() if RETRACTED in x)
    assert "retracted 99000102; erratum 99000103" in line
    header = table.splitlines()[0].split()
    assert header[:4] == ["key", "status", "pmid", "flags"]  # one collection: no column for it

    cells = {r["pmid"]: r for r in csv.DictReader(io.StringIO(run("refs", "-c", "ids", "--format",
                                                                  "csv").output))}
    assert cells[RETRACTED]["flags"] == "retracted 99000102; erratum 99000103; updated 99000104"
    assert cells[CONCERN]["flags"] == "expression_of_concern 99000105; erratum"
    assert cells["11334727"]["flags"] == ""


def test_show_prints_the_flags_first(flagged):
    lines = run("show", RETRACTED).output.splitlines()
    assert lines[0] == ("RETRACTED: retraction notice PMID 99000102 (J Clin Oncol. 2016 Mar "
                        "1;34(7):771)")
    assert lines[1].startswith("ERRATUM: erratum PMID 99000103")
    assert lines[2].startswith("UPDATED: updated version PMID 99000104")
    assert lines[3].startswith(f"PMID {RETRACTED}")
    assert "Record: MEDLINE, revised 2024-02-09" in lines
    data = json.loads(run("show", RETRACTED, "--format", "json").output)
    assert data["flags"][0] == {"flag": "retracted", "notice_pmid": "99000102",
                                "source": "J Clin Oncol. 2016 Mar 1;34(7):771"}
    assert (data["date_revised"], data["status"]) == ("2024-02-09", "MEDLINE")
    # An unflagged record starts with its PMID as before.
    assert run("show", "11334727").output.startswith("PMID 11334727")


def test_report_opens_with_the_cited_retracted_articles(flagged, tmp_path):
    out = tmp_path / "r.html"
    assert run("report", "-c", "ids", "--out", str(out)).exit_code == 0
    page = out.read_text(encoding="utf-8")
    retracted = page.index('<section id="retracted"><h2>Cited retracted articles (1)</h2>')
    assert retracted < page.index('id="summary"')  # before everything else
    section = page[retracted: page.index("</section>", retracted)]
    assert RETRACTED in section and "99000102" in section and CONCERN not in section
    notices = page[page.index('<section id="notices">'):]
    assert "Expressions of concern, errata and updates (2)" in notices
    assert "expression of concern PMID 99000105" in notices
    assert "cite retracted articles" in page


def test_report_has_no_retraction_section_without_retracted_articles(eutils, tmp_path):
    assert run("link").exit_code == 0
    out = tmp_path / "r.html"
    assert run("report", "--out", str(out)).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert "Cited retracted articles" not in page and 'id="retracted"' not in page


def test_export_carries_the_flags(flagged):
    import bibtexparser

    library = bibtexparser.parse_string(run("export", "-c", "ids", "--format", "bibtex").output)
    notes = {e.fields_dict["pmid"].value: e.fields_dict["note"].value for e in library.entries}
    assert notes[RETRACTED].startswith("Reference 1. RETRACTED: retraction notice PMID 99000102")
    assert notes["11334727"] == "Reference 3"
    ris = run("export", "-c", "ids", "--format", "ris").output
    record = next(r for r in ris.split("ER  -") if f"AN  - {RETRACTED}" in r)
    assert re.search(r"N1  - Reference 1\. RETRACTED: retraction notice PMID 99000102.*"
                     r"ERRATUM: erratum PMID 99000103", record)
    items = {i["PMID"]: i for i in json.loads(run("export", "-c", "ids", "--format",
                                                  "csljson").output)}
    assert "EXPRESSION OF CONCERN: expression of concern PMID 99000105" in items[CONCERN]["note"]
    assert items["11334727"]["note"] == "Reference 3"


def _pubtype_only_variant() -> bytes:
    """The retracted record as a new PMID, its RetractionIn gone: only the publication type."""
    xml = UPDATE.read_text(encoding="utf-8")
    start = xml.index("<PubmedArticle>")
    end = xml.index("</PubmedArticle>") + len("</PubmedArticle>")
    record = xml[start:end].replace(RETRACTED, "99000199")
    record = re.sub(r'<CommentsCorrections RefType="RetractionIn">.*?</CommentsCorrections>', "",
                    record, flags=re.S)
    return f"<PubmedArticleSet>{record}</PubmedArticleSet>".encode()


def test_the_view_and_the_python_rule_agree_on_every_corpus_record(db_url):
    articles = []
    seed = FIXTURES / "modelled" / "seed-references.xml"
    for path in [*sorted(NCBI.glob("*.xml")), seed, UPDATE]:
        articles += parse_records(path.read_bytes()).articles
    articles += parse_records(_pubtype_only_variant()).articles
    unique = {a.pmid: a for a in articles}
    with Store(db_url) as store:
        store.upgrade()
        store.save_articles(list(unique.values()))
        from_view = store.article_flags(unique)
    from_python = {p: fl.article_flags(a) for p, a in unique.items() if fl.article_flags(a)}
    assert from_view == from_python
    assert [(f.flag, f.notice_pmid) for f in from_view["99000199"]] == [
        ("retracted", None), ("erratum", "99000103"), ("updated", "99000104")]
    assert {f.flag for fs in from_view.values() for f in fs} == set(fl.FLAGS)
    # The notices themselves are not flagged: they are what the flags point to.
    assert "99000102" not in from_view and "99000105" not in from_view


# -- DateRevised, status, fetched_at -----------------------------------------------------------
def test_date_revised_and_status_are_stored(db_url):
    parsed = parse_records(UPDATE.read_bytes()).articles
    with Store(db_url) as store:
        store.upgrade()
        store.save_articles(parsed)
        back = store.articles(a.pmid for a in parsed)
    assert back == parsed  # Article equality includes date_revised now
    assert [(a.status, a.date_revised) for a in back][:2] == [
        ("MEDLINE", "2024-02-09"), ("PubMed-not-MEDLINE", "2016-03-02")]


def test_an_older_copy_never_replaces_a_newer_one(db_url):
    (old,) = parse_records((NCBI / f"{CONCERN}.xml").read_bytes()).articles
    new = next(a for a in parse_records(UPDATE.read_bytes()).articles if a.pmid == CONCERN)
    t1 = datetime.now(UTC)
    with Store(db_url) as store:
        store.upgrade()
        assert store.save_articles([new], {CONCERN: t1}) == 1
        # An answer cached before (a link run serving its cache) does not bring the old one back
        assert store.save_articles([old], {CONCERN: t1 - timedelta(days=3)}) == 0
        assert store.article(CONCERN).date_revised == "2025-11-03"
        assert store.save_articles([old], {CONCERN: t1 + timedelta(seconds=1)}) == 1
        assert store.article(CONCERN).date_revised == "2022-04-19"


# -- refresh -----------------------------------------------------------------------------------
def _indexed_copy() -> Path:
    """39607518 as NLM revises it once indexed: MEDLINE, new DateRevised, MeSH, an author's
    name corrected, the title changed."""
    xml = IN_PROCESS.read_text(encoding="utf-8")
    xml = xml.replace('Status="In-Process"', 'Status="MEDLINE"')
    xml = re.sub(r"<DateRevised>.*?</DateRevised>", "<DateRevised><Year>2025</Year><Month>03"
                 "</Month><Day>01</Day></DateRevised>", xml, count=1, flags=re.S)
    xml = xml.replace("<ArticleTitle>[Microsurgery].</ArticleTitle>",
                      "<ArticleTitle>[Microsurgery today].</ArticleTitle>")
    xml = xml.replace("<LastName>Unglaub</LastName>", "<LastName>Unglaub-Meyer</LastName>", 1)
    mesh = ('<MeshHeadingList><MeshHeading><DescriptorName UI="D008866" MajorTopicYN="Y">'
            "Microsurgery</DescriptorName></MeshHeading><MeshHeading><DescriptorName "
            'UI="D006801" MajorTopicYN="N">Humans</DescriptorName></MeshHeading>'
            "</MeshHeadingList>")
    xml = xml.replace("<CitationSubset>IM</CitationSubset>",
                      "<CitationSubset>IM</CitationSubset>" + mesh, 1)
    assert "Unglaub-Meyer" in xml and "D008866" in xml
    return xml


def _link_then_serve(make_eutils, tmp_path, text: str, revised: list[Path]):
    """Link `text` as collection ids; then a stand-in on the same address whose corpus has the
    revised files first (the same address: the cached answers still apply to it)."""
    first = make_eutils()
    assert run("link", "-", "-c", "ids", input=text).exit_code == 0
    port = first.port
    first.stop()
    return make_eutils([*revised, *default_corpus_files()], port=port)


def test_refresh_fetches_past_the_cache_and_says_what_changed(make_eutils, tmp_path):
    indexed = tmp_path / "indexed.xml"
    indexed.write_text(_indexed_copy(), encoding="utf-8")
    server = _link_then_serve(make_eutils, tmp_path, f"{CONCERN} 39607518 11334727",
                              [UPDATE, indexed])
    assert _db().article(CONCERN).date_revised == "2022-04-19"

    result = run("refresh", "-c", "ids")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"PMID {CONCERN} (revised 2022-04-19 → 2025-11-03)" in out
    assert "  new flag: EXPRESSION OF CONCERN: expression of concern PMID 99000105" in out
    block = out.split(f"PMID {CONCERN} ")[1].split("\nPMID ")[0]
    assert "also changed" not in block  # the new notice is the flag, said once
    assert "PMID 39607518 (revised 2024-11-28 → 2025-03-01)" in out
    assert "  MeSH added: Microsurgery; Humans" in out
    assert "  status: In-Process → MEDLINE" in out
    assert "  title: [Microsurgery]. → [Microsurgery today]." in out
    assert "Unglaub-Meyer" in out.split("  authors: ")[1].splitlines()[0]
    assert "ids: 3 records fetched again — 2 updated, 1 unchanged, 0 no longer in PubMed" in out
    # Past the cache: one EFetch POST reached the server, though the cache had the answer.
    assert [(r.method, r.endpoint) for r in server.requests] == [("POST", "efetch.fcgi")]

    store = _db()
    assert store.article(CONCERN).date_revised == "2025-11-03"
    assert [h.descriptor for h in store.article("39607518").mesh] == ["Microsurgery", "Humans"]
    flags = json.loads(run("refs", "-c", "ids", "--format", "jsonl").output.split("\n")[0])
    assert flags["flags"][0]["flag"] == "expression_of_concern"

    again = run("refresh", "-c", "ids", "--json")
    data = json.loads(again.output)
    assert (data["selected"], data["updated"], data["unchanged"]) == (3, 0, 3)


def test_a_link_served_from_the_cache_does_not_undo_a_refresh(make_eutils, tmp_path):
    first = make_eutils()
    assert run("link", "-", "-c", "ids", input=f"{CONCERN} 11334727").exit_code == 0
    assert run("link", "-", "-c", "one", input=CONCERN).exit_code == 0
    port = first.port
    first.stop()
    server = make_eutils([UPDATE, *default_corpus_files()], port=port)
    assert run("refresh", "-c", "one").exit_code == 0  # fetches [23985001] alone
    assert _db().article(CONCERN).date_revised == "2025-11-03"
    # The cached answer for ids ([11334727, 23985001]) still holds the older copy: link serves
    # it, and the store keeps the newer one.
    server.reset_log()
    assert run("link", "-", "-c", "ids", input=f"{CONCERN} 11334727").exit_code == 0
    assert server.requests == []
    assert _db().article(CONCERN).date_revised == "2025-11-03"
    row = json.loads(run("refs", "-c", "ids", "--format", "jsonl").output.split("\n")[0])
    assert row["flags"][0]["flag"] == "expression_of_concern"


def test_refresh_selects_by_age_and_status(make_eutils, tmp_path):
    server = _link_then_serve(make_eutils, tmp_path, "39607518 39653886 11334727", [])
    store = _db()
    assert [store.article(p).status for p in ("39607518", "39653886", "11334727")] == [
        "In-Process", "In-Process", "MEDLINE"]

    data = json.loads(run("refresh", "--older-than", "1", "--json").output)
    assert data["selected"] == 0 and data["requests_sent"] == 0 and server.requests == []

    old = datetime.now(UTC) - timedelta(days=40)
    with store.transaction() as conn:
        conn.execute(sa.text("UPDATE articles SET fetched_at = :t WHERE pmid = '39607518'"),
                     {"t": old.strftime("%Y-%m-%d %H:%M:%S.%f")})
    data = json.loads(run("refresh", "--older-than", "30", "--json").output)
    assert (data["selected"], data["unchanged"]) == (1, 1)
    # Checked now: no longer older than 30 days.
    assert json.loads(run("refresh", "--older-than", "30", "--json").output)["selected"] == 0

    # Records still to be indexed; the status is matched whatever its case on the command line.
    data = json.loads(run("refresh", "--status-not", "medline", "--json").output)
    assert (data["selected"], data["unchanged"]) == (2, 2)
    data = json.loads(run("refresh", "--status-not", "MEDLINE", "--status-not", "In-Process",
                          "--json").output)
    assert data["selected"] == 0


def test_refresh_keeps_a_record_ncbi_no_longer_has(make_eutils, tmp_path):
    first = make_eutils()
    assert run("link", "-", "-c", "ids", input="39607518 11334727").exit_code == 0
    port = first.port
    first.stop()
    seed = FIXTURES / "modelled" / "seed-references.xml"  # holds 11334727, not 39607518
    make_eutils([seed], port=port)
    result = run("refresh")
    assert result.exit_code == 0, result.output
    assert ("PMID 39607518: NCBI has no record under this PMID any more (deleted or merged); "
            "the stored copy is kept") in result.output
    assert "1 unchanged, 1 no longer in PubMed" in result.output
    assert _db().article("39607518") is not None


def test_refresh_batches_within_the_rate_limit(make_eutils, tmp_path):
    server = make_eutils(rate_limit=3)
    settings = Settings(db_url=f"sqlite:///{tmp_path}/r.sqlite", cache_dir=tmp_path / "c",
                        eutils_url=server.url, email=TEST_EMAIL, efetch_batch=10)
    from pnet_pubmed.pipeline import link

    link(None, None, settings)
    server.reset_log()
    summary = refresh(settings, "pnet-review-2015")
    assert summary.selected == 65 and summary.unchanged == 65 and not summary.changes
    sent = [r for r in server.requests if r.status == 200]
    assert len(sent) == 7 and {r.endpoint for r in sent} == {"efetch.fcgi"}
    assert all(r.method == "POST" for r in sent)
    assert server.rate_limited == 0
    times = sorted(r.time for r in server.requests)
    assert all(b - a >= 0.95 for a, b in zip(times, times[3:], strict=False))


def test_refresh_errors_are_one_line(eutils, monkeypatch):
    assert run("link").exit_code == 0
    result = run("refresh", "-c", "nosuch")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no collection named 'nosuch' (collections: pnet-review-2015)"]
    result = run("refresh", "--status-not", "Indexed")
    assert result.exit_code == 2 and "Invalid value for '--status-not'" in result.output
    monkeypatch.delenv("NCBI_EMAIL")
    monkeypatch.delenv("PNET_PUBMED_EUTILS_URL")
    result = run("refresh")
    assert result.exit_code == 1 and "NCBI_EMAIL" in result.output


def test_the_migration_adds_date_revised_to_a_database_of_revision_0003(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path}/old.sqlite"
    store = Store(url, index=SearchIndex())  # revision 0008 indexes the stored article again
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_readonly_role")
        conn.execute(sa.text(
            "INSERT INTO articles (pmid, title, languages, is_book, fetched_at) "
            "VALUES ('1', 'Old', '[]', 0, '2020-01-01 00:00:00.000000')"))
        conn.execute(sa.text("INSERT INTO publication_types (pmid, position, name, ui) "
                             "VALUES ('1', 1, 'Retracted Publication', 'D016441')"))
    store.upgrade()
    assert store.current_revision() == store.head_revision()
    old = store.article("1")
    assert (old.title, old.date_revised) == ("Old", None)
    assert store.article_flags(["1"]) == {"1": (fl.Flag("retracted"),)}
    store.close()


def test_compare_names_other_changes_apart_from_the_flags():
    from dataclasses import replace

    from pnet_pubmed.refresh import compare
    from pnet_pubmed.values import CommentCorrection, PublicationType

    (old,) = parse_records((NCBI / f"{CONCERN}.xml").read_bytes()).articles
    retracted = replace(old, publication_types=(*old.publication_types,
                                                PublicationType("Retracted Publication",
                                                                "D016441")),
                        comments_corrections=(CommentCorrection("RetractionIn", "1"),
                                              *old.comments_corrections))
    change = compare(old, retracted)
    assert change.flags_added == (fl.Flag("retracted", "1"),) and change.other == ()
    commented = replace(old, pmcid="PMC1", comments_corrections=(
        *old.comments_corrections, CommentCorrection("CommentIn", "2")))
    assert compare(old, commented).other == ("pmcid", "comments_corrections")
    assert compare(old, commented).lines()[-1] == "  also changed: pmcid, comments_corrections"


def test_store_selection_touch_and_delete_on_both_backends(db_url):
    from pnet_pubmed.values import Citation, Match

    records = {a.pmid: a for a in parse_records(UPDATE.read_bytes()).articles}
    cited = ["99000101", "99000102", CONCERN]
    with Store(db_url) as store:
        store.upgrade()
        old = datetime.now(UTC) - timedelta(days=40)
        store.save_articles(list(records.values()), dict.fromkeys(records, old))
        for name, pmids in (("a", cited), ("b", cited[:1])):
            store.save_citations(name, [Citation(key=str(i), raw=p, position=i, kind="pmid",
                                                 pmid=p) for i, p in enumerate(pmids, 1)])
            store.save_matches(name, [Match(str(i), "matched", p) for i, p in
                                      enumerate(pmids, 1)])
        # 99000103 and 99000105 are stored but cited by no collection: never selected.
        assert store.refresh_selection() == sorted(cited)
        assert store.refresh_selection("b") == ["99000101"]
        assert store.refresh_selection(status_not=("MEDLINE",)) == ["99000102"]
        assert store.refresh_selection(status_not=("MEDLINE", "Publisher",
                                                   "PubMed-not-MEDLINE")) == []
        cutoff = datetime.now(UTC) - timedelta(days=30)
        assert store.refresh_selection(older_than=cutoff) == sorted(cited)
        store.touch_articles(["99000101"])
        assert store.refresh_selection(older_than=cutoff) == ["23985001", "99000102"]
        done = store.delete_collection("a")
        assert done == {"collection": "a", "references": 3, "records": 3,
                        "records_cited_elsewhere": 1}
        assert store.known_pmids(records) == set(records)
        assert [c["name"] for c in store.collections()] == ["b"]
        assert store.refresh_selection() == ["99000101"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sql_reads_the_flags_view_as_the_reader_role(backend, tmp_path):
    from pnet_pubmed.sqlquery import run_query
    from tests.linked_db import database_url

    with database_url(backend, tmp_path) as url:
        with Store(url) as store:
            store.upgrade()
            store.save_articles(parse_records(UPDATE.read_bytes()).articles)
            result = run_query(store, "SELECT flag, notice_pmid FROM article_flags "
                                      "WHERE pmid = '99000101' ORDER BY notice_pmid",
                               limit=10, timeout=10)
        assert [(r["flag"], r["notice_pmid"]) for r in result.records()] == [
            ("retracted", "99000102"), ("erratum", "99000103"), ("updated", "99000104")]
