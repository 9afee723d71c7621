"""The stand-in E-utilities server answers like NCBI: formats, query language, faults, limits."""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
import requests
from Bio import Entrez

from tests.eutils_standin import ALL_KINDS, EXTRA_KINDS, FaultPlan, StandinServer, netguard
from tests.eutils_standin.query import QuerySyntaxError, parse
from tests.eutils_standin.textnorm import fold

FIXTURES = Path(__file__).parent / "fixtures"
MODELLED = FIXTURES / "corpus" / "modelled" / "seed-references.xml"
NCBI_EFETCH = FIXTURES / "corpus" / "ncbi-efetch"
SAMPLES = FIXTURES / "ncbi-samples"
IDENTITY = {"tool": "pnet-pubmed-tests", "email": "tests@example.org"}


# -- fixture data, read independently of the server's own parser ---------------------------

@functools.cache
def modelled() -> tuple[dict, ...]:
    out = []
    for art in ET.parse(MODELLED).getroot().iter("PubmedArticle"):
        mc = art.find("MedlineCitation")
        a = mc.find("Article")
        pgn = a.findtext("Pagination/MedlinePgn") or ""
        out.append({
            "pmid": mc.findtext("PMID"),
            "authors": [(x.findtext("LastName"), x.findtext("Initials") or "")
                        for x in a.findall("AuthorList/Author") if x.findtext("LastName")],
            "ta": mc.findtext("MedlineJournalInfo/MedlineTA"),
            "iso": a.findtext("Journal/ISOAbbreviation"),
            "journal": a.findtext("Journal/Title"),
            "year": a.findtext("Journal/JournalIssue/PubDate/Year"),
            "volume": a.findtext("Journal/JournalIssue/Volume"),
            "issue": a.findtext("Journal/JournalIssue/Issue"),
            "pgn": pgn,
            "first_page": a.findtext("Pagination/StartPage") or pgn.split("-")[0],
            "title": "".join(a.find("ArticleTitle").itertext()),
            "doi": next((e.text for e in a.findall("ELocationID")
                         if e.get("EIdType") == "doi"), None),
        })
    return tuple(out)


def with_authors(n: int) -> dict:
    return next(r for r in modelled() if len(r["authors"]) >= n and r["volume"])


def record_slices(path: Path) -> dict[str, str]:
    """PMID -> the record's text exactly as the fixture file has it."""
    text = path.read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r"<(PubmedArticle|PubmedBookArticle)>.*?</\1>", text, re.S):
        out.setdefault(re.search(r"<PMID[^>]*>(\d+)</PMID>", m.group(0))[1], m.group(0))
    return out


# -- small client ----------------------------------------------------------------------------

def call(server: StandinServer, endpoint: str, method: str = "GET", **params) -> requests.Response:
    params = {**IDENTITY, **params}
    if method == "POST":
        return requests.post(server.url + endpoint, data=params, timeout=10)
    return requests.get(server.url + endpoint, params=params, timeout=10)


def esearch(server: StandinServer, term: str, **params) -> dict:
    response = call(server, "esearch.fcgi", db="pubmed", term=term, retmax=10000, **params)
    assert response.status_code == 200
    return Entrez.read(BytesIO(response.content))


def ids(server: StandinServer, term: str) -> set[str]:
    result = esearch(server, term)
    assert int(result["Count"]) == len(result["IdList"])
    return set(result["IdList"])


# -- ESearch ---------------------------------------------------------------------------------

def test_esearch_answer_has_ncbi_layout_and_parses(eutils):
    rec = with_authors(1)
    response = call(eutils, "esearch.fcgi", db="pubmed", term=f"{rec['pmid']}[pmid]")
    sample_head = (SAMPLES / "esearch1.xml").read_text().splitlines()[:2]
    assert response.text.splitlines()[:2] == sample_head
    assert response.headers["Content-Type"].startswith("text/xml")
    assert response.text.splitlines()[2].startswith(
        "<eSearchResult><Count>1</Count><RetMax>1</RetMax><RetStart>0</RetStart><IdList>")
    parsed = Entrez.read(BytesIO(response.content))
    assert parsed["IdList"] == [rec["pmid"]]
    assert parsed["QueryTranslation"] == f'"{rec["pmid"]}"[UID]'


def test_author_journal_year_find_the_record_and_not_excludes_it(eutils):
    rec = with_authors(2)
    last, initials = rec["authors"][0]
    term = f"{last} {initials}[au] AND {rec['ta']}[ta] AND {rec['year']}[dp]"
    assert rec["pmid"] in ids(eutils, term)
    assert rec["pmid"] not in ids(eutils, f"{term} NOT {rec['year']}[dp]")
    assert rec["pmid"] not in ids(eutils, f"{term} NOT {rec['volume']}[vi]")
    # Tag spellings are case-insensitive synonyms.
    assert rec["pmid"] in ids(eutils, f"{last} {initials}[Author] AND {rec['ta']}[JOURNAL]")


def test_first_and_last_author_tags(eutils):
    rec = with_authors(3)
    (first, fi), (second, si) = rec["authors"][:2]
    assert rec["pmid"] in ids(eutils, f"{first} {fi}[1au]")
    assert rec["pmid"] not in ids(eutils, f"{second} {si}[1au]")
    assert rec["pmid"] in ids(eutils, f"{second} {si}[au]")
    last, li = rec["authors"][-1]
    assert rec["pmid"] in ids(eutils, f"{last} {li}[lastau]")
    assert rec["pmid"] not in ids(eutils, f"{first} {fi}[lastau]")


def test_author_initials_are_a_prefix_and_surname_alone_matches(eutils):
    rec = next(r for r in modelled() if len(r["authors"][0][1]) >= 2)
    last, initials = rec["authors"][0]
    assert rec["pmid"] in ids(eutils, f"{last} {initials[0]}[au]")
    assert rec["pmid"] in ids(eutils, f"{last}[au]")
    assert rec["pmid"] not in ids(eutils, f"{last} {initials}q[au]")


def test_diacritics_are_folded_both_ways(eutils):
    accented = [(r, last, ini) for r in modelled() for last, ini in r["authors"]
                if fold(last) != last.lower()]
    assert len(accented) >= 3  # Öberg, Fjällskog, Römer, Castaño, Müller...
    for rec, last, initials in accented:
        ascii_last = fold(last)
        assert ascii_last.isascii()
        assert rec["pmid"] in ids(eutils, f"{ascii_last} {initials}[au]"), last
        assert rec["pmid"] in ids(eutils, f"{last} {initials}[au]"), last


def test_apostrophes_and_multiword_surnames(eutils):
    rec = next(r for r in modelled() if any("'" in last for last, _ in r["authors"]))
    last, initials = next(a for a in rec["authors"] if "'" in a[0])
    assert rec["pmid"] in ids(eutils, f"{last} {initials}[au]")
    assert rec["pmid"] in ids(eutils, f"{last.replace(chr(39), '')} {initials}[au]")
    rec = next(r for r in modelled() if any(" " in last for last, _ in r["authors"]))
    last, initials = next(a for a in rec["authors"] if " " in a[0])
    assert rec["pmid"] in ids(eutils, f"{last} {initials}[au]")


def test_journal_tag_accepts_medline_ta_iso_and_full_title(eutils):
    rec = modelled()[0]
    for name in (rec["ta"], rec["iso"], rec["journal"], rec["ta"].upper().replace(" ", ". ")):
        assert rec["pmid"] in ids(eutils, f'"{name}"[ta]'), name
    # [ta] compares the whole name: one word of it is not a journal.
    assert rec["pmid"] not in ids(eutils, f"{rec['ta'].split()[-1]}[ta] AND {rec['pmid']}[pmid]")


def test_volume_issue_page_doi_pmid_tags(eutils):
    rec = next(r for r in modelled() if r["doi"] and r["issue"] and "-" in r["pgn"])
    pmid = rec["pmid"]
    assert pmid in ids(eutils, f"{rec['volume']}[vi] AND {rec['first_page']}[pg]")
    assert pmid in ids(eutils, f"{rec['pgn']}[pg] AND {rec['issue']}[ip]")
    assert ids(eutils, f"{rec['doi'].upper()}[doi]") == {pmid}
    assert ids(eutils, f'"{rec["doi"]}"[aid]') == {pmid}
    assert ids(eutils, f"{pmid}[uid]") == {pmid}
    # DOIs with parentheses work unquoted: "(" inside a word is part of it.
    odd = next(r for r in modelled() if r["doi"] and "(" in r["doi"])
    assert ids(eutils, f"{odd['doi']}[doi]") == {odd["pmid"]}


def test_untagged_terms_search_all_fields(eutils):
    rec = with_authors(1)
    word = max(re.findall(r"[A-Za-z]{6,}", rec["title"]), key=len)
    assert rec["pmid"] in ids(eutils, word)
    assert rec["pmid"] in ids(eutils, rec["authors"][0][0])
    assert rec["pmid"] in ids(eutils, rec["pmid"])
    assert ids(eutils, f"{word} {rec['authors'][0][0]}") <= ids(eutils, word)


def test_phrase_requires_adjacent_words_unquoted_needs_only_all_words(eutils):
    phrase = ids(eutils, '"neuroendocrine tumors"[ti]')
    words = ids(eutils, "neuroendocrine tumors[ti]")
    assert phrase and phrase < words
    titles = {r["pmid"]: r["title"].lower() for r in modelled()}
    for pmid in words - phrase:
        if pmid in titles:
            assert "neuroendocrine tumors" not in titles[pmid]
            assert "neuroendocrine" in titles[pmid] and "tumors" in titles[pmid]


def test_truncation_is_a_word_prefix(eutils):
    truncated = ids(eutils, "tumo*[ti]")
    spelled = [ids(eutils, f"{w}[ti]") for w in ("tumor", "tumors", "tumour", "tumours")]
    assert all(spelled) and ids(eutils, "tumo[ti]") == set()
    assert truncated >= set().union(*spelled) > spelled[0]


def test_date_ranges(eutils):
    by_year = [ids(eutils, f"{y}[dp]") for y in (2010, 2011, 2012)]
    assert all(by_year)
    assert ids(eutils, "2010:2012[dp]") == set().union(*by_year)
    assert ids(eutils, "2010/01/01:2012/12/31[dp]") == set().union(*by_year)
    assert ids(eutils, "2012:2010[dp]") == set()


def test_boolean_operators_left_to_right_and_parentheses(eutils):
    a, b, c = "yao[au]", "kulke[au]", "2008[dp]"
    sa, sb, sc = ids(eutils, a), ids(eutils, b), ids(eutils, c)
    assert ids(eutils, f"{a} OR {b} AND {c}") == (sa | sb) & sc
    assert ids(eutils, f"{a} OR ({b} AND {c})") == sa | (sb & sc)
    assert (sa | sb) & sc != sa | (sb & sc)  # the two groupings really differ here
    assert ids(eutils, f"{a} NOT {c}") == sa - sc
    assert ids(eutils, f"{a} {c}") == sa & sc  # implicit AND
    assert ids(eutils, f"{a} and {c}") != sa & sc or not (sa - sc)  # lower case is a word


def test_mesh_and_major_topic(eutils):
    article = ET.parse(NCBI_EFETCH / "biopython-pubmed1.xml").getroot().find("PubmedArticle")
    pmid = article.findtext("MedlineCitation/PMID")
    headings = article.findall("MedlineCitation/MeshHeadingList/MeshHeading")
    major = next(h.findtext("DescriptorName") for h in headings
                 if h.find("DescriptorName").get("MajorTopicYN") == "Y")
    minor = next(h for h in headings if h.find("DescriptorName").get("MajorTopicYN") == "N"
                 and all(q.get("MajorTopicYN") == "N" for q in h.findall("QualifierName")))
    minor = minor.findtext("DescriptorName")
    assert pmid in ids(eutils, f'"{major}"[majr]')
    assert pmid in ids(eutils, f'"{minor}"[mh]')
    assert pmid not in ids(eutils, f'"{minor}"[majr] AND {pmid}[pmid]')


def test_no_hits_reports_phrase_not_found(eutils):
    result = esearch(eutils, "qwzxvy[ti] OR qwzxvy")
    assert result["Count"] == "0" and result["IdList"] == []
    assert result["ErrorList"]["PhraseNotFound"] == ["qwzxvy[ti]", "qwzxvy"]
    assert result["WarningList"]["OutputMessage"] == ["No items found."]


@pytest.mark.parametrize("term", ["(yao[au] AND 2008[dp]", "yao[au])", '"yao jc[au]',
                                  "yao[au] AND", "AND yao[au]", "()", "[au]"])
def test_syntax_errors_are_an_error_element(eutils, term):
    response = call(eutils, "esearch.fcgi", db="pubmed", term=term)
    assert response.status_code == 200
    assert "<eSearchResult><ERROR>Invalid query syntax:" in response.text
    with pytest.raises(RuntimeError, match="Invalid query syntax"):
        Entrez.read(BytesIO(response.content))


def test_parser_groups_words_before_a_tag():
    node = parse("eur j cancer[ta] AND yao jc[au]")
    assert (node.left.text, node.left.tag) == ("eur j cancer", "ta")
    assert (node.right.text, node.right.tag) == ("yao jc", "au")
    with pytest.raises(QuerySyntaxError):
        parse("((a)")


def test_retmax_retstart_and_history(eutils):
    full = esearch(eutils, "2008[dp]")
    assert int(full["Count"]) >= 3
    response = call(eutils, "esearch.fcgi", db="pubmed", term="2008[dp]", retstart=1, retmax=2,
                    usehistory="y")
    page = Entrez.read(BytesIO(response.content))
    assert page["Count"] == full["Count"] and page["RetMax"] == "2" and page["RetStart"] == "1"
    assert page["IdList"] == full["IdList"][1:3]
    assert full["IdList"] == sorted(full["IdList"], key=int, reverse=True)
    assert page["QueryKey"] == "1" and page["WebEnv"].startswith("MCID_")
    fetched = call(eutils, "efetch.fcgi", db="pubmed", retmode="xml", WebEnv=page["WebEnv"],
                   query_key=page["QueryKey"], retstart=0, retmax=2)
    pmids = [a["MedlineCitation"]["PMID"] for a in
             Entrez.read(BytesIO(fetched.content))["PubmedArticle"]]
    assert pmids == full["IdList"][:2]


def test_long_term_by_post_equals_get(eutils):
    term = " OR ".join(f"{r['pmid']}[pmid]" for r in modelled())
    posted = call(eutils, "esearch.fcgi", "POST", db="pubmed", term=term, retmax=500)
    assert set(Entrez.read(BytesIO(posted.content))["IdList"]) == {r["pmid"] for r in modelled()}
    assert eutils.requests[-1].method == "POST" and eutils.requests[-1].params["term"] == term


def test_json_retmode(eutils):
    rec = with_authors(1)
    response = call(eutils, "esearch.fcgi", db="pubmed", term=f"{rec['pmid']}[uid]",
                    retmode="json")
    result = response.json()["esearchresult"]
    assert result["count"] == "1" and result["idlist"] == [rec["pmid"]]


def test_many_or_subqueries_are_fast(eutils):
    records = eutils.corpus.records
    parts = [f'("{r.authors[0].display}"[au] AND {r.year}[dp] AND {r.volume or 1}[vi])'
             for r in records if r.authors and r.year][:300]
    assert len(parts) >= 250

    def cpu_seconds(n: int) -> float:
        # CPU time of this thread (dispatch runs here), the best of three: a busy machine
        # slows both sizes alike, so only the ratio is compared.
        best = float("inf")
        for _ in range(3):
            started = time.thread_time()
            response = eutils.dispatch("POST", "esearch.fcgi",
                                       [("term", " OR ".join(parts[:n])), ("retmax", "10000")])
            best = min(best, time.thread_time() - started)
            assert response.status == 200 and b"<Count>" in response.body
        return best

    small, large = cpu_seconds(len(parts) // 10), cpu_seconds(len(parts))
    # Ten times the sub-queries: about ten times the work (linear), not a hundred.
    assert large < 40 * max(small, 1e-3), f"{small * 1000:.1f} ms -> {large * 1000:.1f} ms"


# -- EFetch ----------------------------------------------------------------------------------

def test_efetch_returns_verbatim_records_in_requested_order(eutils):
    slices = {**record_slices(NCBI_EFETCH / "biopython-pubmed2.xml"),
              **record_slices(NCBI_EFETCH / "1000.xml"), **record_slices(MODELLED)}
    wanted = [modelled()[5]["pmid"], "1000", *record_slices(NCBI_EFETCH / "biopython-pubmed2.xml"),
              "99999999999", modelled()[0]["pmid"]]
    response = call(eutils, "efetch.fcgi", db="pubmed", id=",".join(wanted), retmode="xml",
                    rettype="abstract")
    assert response.headers["Content-Type"].startswith("text/xml")
    expected = (
        '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
        '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
        "<PubmedArticleSet>\n"
        + "".join(slices[p] + "\n" for p in wanted if p in slices) + "</PubmedArticleSet>\n")
    assert response.text == expected
    parsed = Entrez.read(BytesIO(response.content))
    assert [a["MedlineCitation"]["PMID"] for a in parsed["PubmedArticle"]] == [
        p for p in wanted if p in slices]


def test_every_corpus_record_is_kept_verbatim(eutils, corpus_files):
    expected: dict[str, str] = {}
    for path in corpus_files:
        for pmid, text in record_slices(path).items():
            expected.setdefault(pmid, text)  # the first file (modelled) wins
    assert len(expected) == 293  # 70 modelled + 223 NCBI records
    assert {r.pmid: r.xml for r in eutils.corpus.records} == expected


def test_efetch_everything_by_post_parses_including_the_book(eutils):
    every = [r.pmid for r in eutils.corpus.records]
    response = call(eutils, "efetch.fcgi", "POST", db="pubmed", id=",".join(every),
                    retmode="xml")
    parsed = Entrez.read(BytesIO(response.content))
    assert len(parsed["PubmedArticle"]) + len(parsed["PubmedBookArticle"]) == len(every)
    assert [b["BookDocument"]["PMID"] for b in parsed["PubmedBookArticle"]] == ["20301546"]


def test_epost_then_efetch_and_esummary_by_webenv(eutils):
    chosen = [r["pmid"] for r in modelled()[:3]]
    posted = call(eutils, "epost.fcgi", "POST", db="pubmed", id=",".join(chosen))
    sample = (SAMPLES / "epost1.xml").read_text()
    assert posted.text.split("<ePostResult>")[0] == sample.split("<ePostResult>")[0]
    post = Entrez.read(BytesIO(posted.content))
    assert post["QueryKey"] == "1"
    fetched = call(eutils, "efetch.fcgi", db="pubmed", retmode="xml", WebEnv=post["WebEnv"],
                   query_key=post["QueryKey"])
    articles = Entrez.read(BytesIO(fetched.content))["PubmedArticle"]
    got = [a["MedlineCitation"]["PMID"] for a in articles]
    assert got == chosen
    summary = call(eutils, "esummary.fcgi", db="pubmed", WebEnv=post["WebEnv"], query_key="1")
    docs = Entrez.read(BytesIO(summary.content))
    first = modelled()[0]
    assert docs[0]["Id"] == first["pmid"]
    assert docs[0]["Source"] == first["ta"]
    assert docs[0]["AuthorList"][0] == " ".join(first["authors"][0])
    assert docs[0]["Volume"] == first["volume"] and docs[0]["Pages"] == first["pgn"]
    assert docs[0]["FullJournalName"] == first["journal"]
    assert docs[0]["SO"].startswith(f"{first['year']};{first['volume']}")
    second = call(eutils, "epost.fcgi", db="pubmed", id="1000", WebEnv=post["WebEnv"])
    assert Entrez.read(BytesIO(second.content))["QueryKey"] == "2"


def test_errors_for_bad_db_empty_ids_and_unknown_history(eutils):
    assert "Invalid db name specified: nothing" in call(
        eutils, "epost.fcgi", db="nothing", id="1").text
    assert "Empty ID list; Nothing to store" in call(eutils, "epost.fcgi", db="pubmed", id="").text
    assert "<ERROR>" in call(eutils, "efetch.fcgi", db="pubmed", retmode="xml").text
    assert "<ERROR>" in call(eutils, "efetch.fcgi", db="pubmed", WebEnv="MCID_nope",
                             query_key="1").text
    assert call(eutils, "nonesuch.fcgi").status_code == 404


# -- ECitMatch -------------------------------------------------------------------------------

def bdata_line(rec: dict, key: str, **override) -> str:
    fields = {"journal": rec["ta"].lower(), "year": rec["year"], "volume": rec["volume"],
              "page": rec["first_page"], "author": " ".join(rec["authors"][0]).lower()}
    fields.update(override)
    return "|".join([*fields.values(), key]) + "|"


def test_ecitmatch_found_ambiguous_not_found_invalid_journal(eutils):
    rec = with_authors(1)
    crowded = max(modelled(), key=lambda r: sum(
        1 for o in modelled() if (o["ta"], o["year"]) == (r["ta"], r["year"])))
    lines = [
        bdata_line(rec, "A1"),
        bdata_line(crowded, "A2", volume="", page="", author=""),
        bdata_line(rec, "A3", page="999999"),
        bdata_line(rec, "A4", journal="computers"),
        bdata_line(rec, "A5", journal=rec["journal"], author=""),
        bdata_line(rec, "A6", author=fold(rec["authors"][0][0])),
    ]
    response = call(eutils, "ecitmatch.cgi", db="pubmed", retmode="xml", bdata="\r".join(lines))
    assert response.headers["Content-Type"].startswith("text/plain")
    out = response.text.split("\n")
    assert out[-1] == "" and len(out) == len(lines) + 1
    for line, answer in zip(lines, out, strict=False):
        assert answer.startswith(line)  # the input is echoed as received
    results = [a[len(line):] for line, a in zip(lines, out, strict=False)]
    assert results[0] == rec["pmid"]
    n = int(re.fullmatch(r"AMBIGUOUS \((\d+) citations\)", results[1])[1])
    crowded_hits = ids(eutils, f'"{crowded["ta"]}"[ta] AND {crowded["year"]}[dp]')
    assert n == len(crowded_hits) >= 2
    assert results[2:4] == ["NOT_FOUND", "NOT_FOUND;INVALID_JOURNAL"]
    assert results[4] == rec["pmid"]
    assert results[5] == rec["pmid"]


def test_ecitmatch_accepts_newlines_and_folds_diacritics(eutils):
    rec = next(r for r in modelled() if fold(r["authors"][0][0]) != r["authors"][0][0].lower())
    line = bdata_line(rec, "D1", author=fold(" ".join(rec["authors"][0])))
    posted = call(eutils, "ecitmatch.cgi", "POST", db="pubmed", retmode="xml",
                  bdata=f"{line}\n{line}\n")
    assert posted.text == f"{line}{rec['pmid']}\n" * 2


# -- request log and identity ----------------------------------------------------------------

def test_request_log_identity_and_reset(eutils):
    call(eutils, "esearch.fcgi", db="pubmed", term="yao[au]")
    requests.get(eutils.url + "esearch.fcgi", params={"term": "yao[au]"}, timeout=5)
    requests.post(eutils.url + "einfo.fcgi", data={"tool": "x"}, timeout=5)
    assert [(r.method, r.endpoint, r.status) for r in eutils.requests] == [
        ("GET", "esearch.fcgi", 200), ("GET", "esearch.fcgi", 200), ("POST", "einfo.fcgi", 200)]
    assert eutils.requests[0].params == {**IDENTITY, "db": "pubmed", "term": "yao[au]"}
    assert eutils.identity_violations == 2
    eutils.reset_log()
    assert eutils.requests == [] and eutils.identity_violations == 0


def test_fixture_points_environment_at_server(eutils, tmp_path):
    assert os.environ["PNET_PUBMED_EUTILS_URL"] == eutils.url
    assert eutils.url.startswith("http://127.0.0.1:") and eutils.url.endswith("/entrez/eutils/")
    assert os.environ["PNET_PUBMED_DB"] == f"sqlite:///{tmp_path}/test.sqlite"
    assert os.environ["PNET_PUBMED_CACHE"] == str(tmp_path / "cache")
    assert os.environ["NCBI_EMAIL"] == "tests@example.org"


def test_stopped_server_refuses_connections(corpus_files):
    server = StandinServer(corpus_files).start()
    url = server.url
    session = requests.Session()
    assert session.get(url + "einfo.fcgi", timeout=5).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url + "einfo.fcgi", timeout=5)  # also on the kept-alive connection


def test_network_guard_refuses_non_loopback():
    with pytest.raises(netguard.NetworkBlockedError):
        socket.create_connection(("eutils.ncbi.nlm.nih.gov", 443), timeout=1)
    with socket.socket() as sock, pytest.raises(netguard.NetworkBlockedError):
        sock.connect(("192.0.2.1", 80))
    assert len(netguard.blocked) == 2
    netguard.blocked.clear()  # refused on purpose; do not fail this test at teardown


# -- faults ----------------------------------------------------------------------------------

def one_fault(make_eutils, kind: str, **plan) -> StandinServer:
    return make_eutils(faults=FaultPlan(seed=1, rate=1.0, kinds=(kind,),
                                        max_failures_per_request=1, **plan))


def test_fault_decisions_are_deterministic(make_eutils):
    plan = FaultPlan(seed=42, rate=0.5, kinds=("500", "503", "html200", "429"))

    def run() -> tuple[list[tuple[int, int]], Counter]:
        server = make_eutils(faults=plan)
        seen = []
        for i in range(12):
            attempts = 1
            while True:
                r = call(server, "esearch.fcgi", db="pubmed", term=f"{i}[vi]")
                if r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml"):
                    break
                attempts += 1
            seen.append((i, attempts))
            assert attempts <= plan.max_failures_per_request + 1
        return seen, server.faults_injected

    first, second = run(), run()
    assert first == second
    assert sum(first[1].values()) > 0
    decisions = [plan.decide("efetch.fcgi", f"sig{i}", 0, 0)[0] for i in range(20)]
    assert decisions == [plan.decide("efetch.fcgi", f"sig{i}", 0, 0)[0] for i in range(20)]
    assert None in decisions and set(decisions) - {None}


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_http_error_faults(make_eutils, kind):
    server = one_fault(make_eutils, kind)
    first = call(server, "efetch.fcgi", db="pubmed", id="1000", retmode="xml")
    assert first.status_code == int(kind)
    assert first.headers["Content-Type"].startswith("text/html") and "<html" in first.text.lower()
    again = call(server, "efetch.fcgi", db="pubmed", id="1000", retmode="xml")
    assert again.status_code == 200 and "<PubmedArticleSet>" in again.text
    assert server.faults_injected == Counter({kind: 1})
    assert [r.fault for r in server.requests] == [kind, None]


def test_429_fault_and_html200_fault(make_eutils):
    server = one_fault(make_eutils, "429")
    r = call(server, "esummary.fcgi", db="pubmed", id="1000")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json() == {"error": "API rate limit exceeded", "api-key": "127.0.0.1",
                        "count": "4", "limit": "3"}
    server = one_fault(make_eutils, "html200")
    r = call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<eSearchResult>" not in r.text


def test_truncated_fault(make_eutils, eutils):
    server = one_fault(make_eutils, "truncated")
    full = call(eutils, "efetch.fcgi", db="pubmed", id="1000,18323556", retmode="xml").content
    cut = call(server, "efetch.fcgi", db="pubmed", id="1000,18323556", retmode="xml").content
    assert 0 < len(cut) < len(full) and full.startswith(cut)
    with pytest.raises(Exception):  # noqa: B017 - any parse failure will do
        Entrez.read(BytesIO(cut))
    lines = [bdata_line(r, f"T{i}") for i, r in enumerate(modelled()[:4])]
    text = call(server, "ecitmatch.cgi", db="pubmed", bdata="\r".join(lines)).text
    assert len(text.splitlines()) < len(lines)


def test_drop_and_slow_faults(make_eutils):
    server = one_fault(make_eutils, "drop")
    with pytest.raises(requests.ConnectionError):
        call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    assert call(server, "esearch.fcgi", db="pubmed", term="yao[au]").status_code == 200
    assert [r.status for r in server.requests] == [0, 200]
    server = one_fault(make_eutils, "slow", slow_seconds=0.3)
    started = time.perf_counter()
    r = call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    assert time.perf_counter() - started >= 0.3
    assert Entrez.read(BytesIO(r.content))["IdList"]
    assert server.faults_injected == Counter({"slow": 1})


def test_esearch_error_fault_only_hits_esearch(make_eutils):
    server = one_fault(make_eutils, "esearch_error")
    fetched = call(server, "efetch.fcgi", db="pubmed", id="1000", retmode="xml")
    assert fetched.status_code == 200 and "<PubmedArticle>" in fetched.text
    assert server.faults_injected == Counter()
    r = call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    assert r.status_code == 200 and "<ERROR>Search Backend failed" in r.text
    with pytest.raises(RuntimeError, match="Search Backend failed"):
        Entrez.read(BytesIO(r.content))


def test_fault_plan_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        FaultPlan(seed=1, kinds=("teapot",))
    assert set(ALL_KINDS) >= {"429", "drop", "truncated", "esearch_error"}


def test_extra_kinds_are_only_drawn_when_named_and_endpoints_narrow_faults():
    assert not set(EXTRA_KINDS) & set(FaultPlan(seed=1).kinds)
    with pytest.raises(ValueError, match="redirect_to"):
        FaultPlan(seed=1, kinds=("redirect",))
    plan = FaultPlan(seed=1, kinds=("500", "missing_record"), endpoints=("efetch.fcgi",))
    assert plan.kinds_for("esearch.fcgi") == ()
    assert plan.kinds_for("efetch.fcgi") == ("500", "missing_record")
    assert FaultPlan(seed=1, kinds=("missing_record",)).kinds_for("ecitmatch.cgi") == ()


def test_429bare_redirect_and_size_faults(make_eutils):
    server = one_fault(make_eutils, "429bare")
    r = call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    assert r.status_code == 429 and "Retry-After" not in r.headers
    server = one_fault(make_eutils, "redirect", redirect_to="http://127.0.0.1:9/e/")
    r = requests.get(server.url + "esearch.fcgi", params={"term": "x", "api_key": "K"},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 307
    assert r.headers["Location"] == "http://127.0.0.1:9/e/esearch.fcgi?term=x&api_key=K"
    server = one_fault(make_eutils, "oversize", oversize_bytes=3_000_000)
    r = call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    assert r.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in r.headers
    assert len(r.content) > 3_000_000
    server = one_fault(make_eutils, "gzip_bomb", bomb_bytes=5_000_000)
    r = requests.get(server.url + "esearch.fcgi", params={"term": "x"}, stream=True, timeout=10)
    assert r.headers["Content-Encoding"] == "gzip"
    assert int(r.headers["Content-Length"]) < 50_000
    assert len(r.content) == 5_000_000 and not r.content.strip(b"\0")


def test_trickle_fault_sends_one_byte_at_a_time(make_eutils):
    server = one_fault(make_eutils, "trickle", trickle_interval=0.002)
    started = time.perf_counter()
    r = call(server, "esearch.fcgi", db="pubmed", term="yao[au]")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and Entrez.read(BytesIO(r.content))["IdList"]
    assert elapsed >= 0.002 * len(r.content)


def test_efetch_record_faults(make_eutils):
    ids = "1000,18323556,11334727"
    pmids = lambda r: re.findall(r"<MedlineCitation[^>]*>\s*<PMID[^>]*>(\d+)", r.text)  # noqa: E731
    server = one_fault(make_eutils, "foreign_record")
    extra = pmids(call(server, "efetch.fcgi", db="pubmed", id=ids))
    assert extra[:3] == ids.split(",") and len(extra) == 4 and extra[3] not in ids
    server = one_fault(make_eutils, "duplicate_record")
    twice = pmids(call(server, "efetch.fcgi", db="pubmed", id=ids))
    assert len(twice) == 4 and len(set(twice)) == 3
    server = one_fault(make_eutils, "missing_record")
    assert len(pmids(call(server, "efetch.fcgi", db="pubmed", id=ids))) == 2
    server = one_fault(make_eutils, "swapped_pmids")
    swapped = pmids(call(server, "efetch.fcgi", db="pubmed", id=ids))
    assert sorted(swapped) == sorted(ids.split(",")) and swapped != ids.split(",")
    assert server.faults_injected == Counter({"swapped_pmids": 1})


# -- rate limit ------------------------------------------------------------------------------

def test_rate_limit_429_with_retry_after(make_eutils):
    server = make_eutils(rate_limit=3)
    statuses = [call(server, "einfo.fcgi").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = server.requests[-1]
    assert limited.status == 429 and limited.fault == "rate_limit"
    assert server.rate_limited == 1
    r = call(server, "einfo.fcgi")
    assert r.headers["Retry-After"] == "1"
    body = json.loads(r.text)
    assert body["error"] == "API rate limit exceeded" and body["limit"] == "3"
    keyed = [call(server, "einfo.fcgi", api_key="k").status_code for _ in range(11)]
    assert keyed == [200] * 10 + [429]
    time.sleep(1.05)
    assert call(server, "einfo.fcgi").status_code == 200


# -- command line ----------------------------------------------------------------------------

def test_module_runs_in_foreground_and_prints_url():
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "tests.eutils_standin", "--port", "0", "--rate-limit", "3"]
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            url = proc.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/entrez/eutils/", url)
            r = requests.get(url + "esearch.fcgi", params={"term": "1000[pmid]"}, timeout=10)
            assert "<Id>1000</Id>" in r.text
        finally:
            proc.terminate()
            proc.wait(timeout=10)
