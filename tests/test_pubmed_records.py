"""pnet_pubmed.pubmed as a streaming reader: Bio.Entrez as the reference on every corpus record,
records that cannot be read, unknown elements, update files (DeleteCitation, DateRevised,
notices), gzip streams, entities and DTDs, and flat memory on a large stream."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import fields
from pathlib import Path

import pytest

from pnet_pubmed import pubmed
from pnet_pubmed.pubmed import (
    Deletion,
    PubmedXMLError,
    RecordError,
    iter_articles,
    iter_records,
    parse_articles,
    parse_records,
    validate_pubmed_xml,
)
from pnet_pubmed.values import Article
from tests.pubmed_reference import DEFAULT_DOCTYPE, read_reference

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
NCBI = CORPUS / "ncbi-efetch"
SEED = CORPUS / "modelled" / "seed-references.xml"
UPDATE = CORPUS / "modelled" / "update-file.xml"
FILES = [*sorted(NCBI.glob("*.xml")), SEED]


def _body(data: bytes) -> bytes:
    start = data.index(b">", data.index(b"<PubmedArticleSet")) + 1
    return data[start : data.rindex(b"</PubmedArticleSet>")]


def _doc(*bodies: bytes | str, doctype: bytes = DEFAULT_DOCTYPE) -> bytes:
    parts = [b.encode() if isinstance(b, str) else b for b in bodies]
    return (
        b'<?xml version="1.0" ?>\n'
        + doctype
        + b"\n<PubmedArticleSet>"
        + b"".join(parts)
        + b"</PubmedArticleSet>\n"
    )


def _differences(fast: list[Article], reference: list[Article]) -> list[tuple]:
    """(pmid, field, fast, reference) for every field that differs, compare=False ones too."""
    out = []
    for a, b in zip(fast, reference, strict=True):
        for f in fields(Article):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if x != y:
                out.append((a.pmid, f.name, x, y))
    return out


# ----------------------------------------------------------------------------- Bio.Entrez reference


@pytest.fixture(scope="module")
def whole_corpus() -> bytes:
    """Every verbatim NCBI record and every modelled one, as one validated document."""
    return _doc(*(_body(f.read_bytes()) for f in FILES))


def test_every_corpus_record_equals_bio_entrez_field_by_field(whole_corpus):
    expected_records = sum(len(ET.fromstring(f.read_bytes())) for f in FILES)
    reference = read_reference(whole_corpus)  # Bio.Entrez.read(validate=True), public API only
    fast = parse_records(whole_corpus)
    assert fast.errors == [] and fast.deleted == []
    journals = [a for a in fast.articles if not a.is_book]
    books = [a for a in fast.articles if a.is_book]
    assert len(journals) == len(reference["PubmedArticle"])
    assert len(books) == len(reference["PubmedBookArticle"]) >= 1
    assert len(fast.articles) == expected_records >= 290
    assert _differences(journals, reference["PubmedArticle"]) == []
    assert _differences(books, reference["PubmedBookArticle"]) == []
    # Fields that many records carry are really compared, not None on both sides.
    assert sum(a.date_revised is not None for a in fast.articles) >= 200
    assert sum(bool(a.comments_corrections) for a in fast.articles) >= 15
    assert sum(bool(a.extra) for a in fast.articles) >= 1


def test_each_file_alone_reads_as_in_the_whole_document(whole_corpus):
    whole = parse_articles(whole_corpus)
    at = 0
    for f in FILES:
        alone = parse_articles(f.read_bytes())
        assert alone == whole[at : at + len(alone)], f.name
        assert [a.date_revised for a in alone] == [a.date_revised for a in whole[at:][: len(alone)]]
        at += len(alone)
    assert at == len(whole)


def test_update_file_equals_bio_entrez_with_notices_and_deletions():
    data = UPDATE.read_bytes()
    reference = read_reference(data)
    fast = parse_records(data)
    assert _differences(fast.articles, reference["PubmedArticle"]) == []
    assert fast.deleted == reference["DeleteCitation"] == ["99000199", "10440612"]
    by_pmid = {a.pmid: a for a in fast.articles}
    retracted = by_pmid["99000101"]
    assert [(c.ref_type, c.pmid) for c in retracted.comments_corrections] == [
        ("RetractionIn", "99000102"),
        ("ErratumIn", "99000103"),
        ("UpdateIn", "99000104"),
    ]
    assert ("Retracted Publication", "D016441") in [
        (p.name, p.ui) for p in retracted.publication_types
    ]
    assert by_pmid["99000102"].comments_corrections[0].ref_type == "RetractionOf"
    assert by_pmid["99000103"].comments_corrections[0].ref_type == "ErratumFor"
    assert by_pmid["99000105"].comments_corrections[0].pmid == "23985001"
    assert (retracted.status, retracted.date_revised) == ("MEDLINE", "2024-02-09")
    assert by_pmid["99000105"].status == "Publisher"
    # A revised version of a corpus record: newer DateRevised, one notice more.
    (old,) = parse_articles(NCBI / "23985001.xml")
    new = by_pmid["23985001"]
    assert (old.date_revised, new.date_revised) == ("2022-04-19", "2025-11-03")
    assert new.comments_corrections[1:] == old.comments_corrections
    assert new.comments_corrections[0].ref_type == "ExpressionOfConcernIn"


def test_iter_records_yields_articles_then_deletions_in_document_order():
    items = list(iter_records(UPDATE.read_bytes()))
    assert [type(i).__name__ for i in items] == ["Article"] * 5 + ["Deletion"] * 2
    assert items[-2:] == [Deletion("99000199"), Deletion("10440612")]
    only_deletions = _doc(
        '<DeleteCitation><PMID Version="1">1</PMID><PMID>22</PMID></DeleteCitation>'
    )
    assert list(iter_records(only_deletions)) == [Deletion("1"), Deletion("22")]
    assert parse_records(only_deletions).deleted == ["1", "22"]
    assert list(iter_articles(UPDATE.read_bytes())) == parse_articles(UPDATE.read_bytes())


# ----------------------------------------------------------------------------- unreadable records


def _record(pmid: str = "111", *, citation: str | None = None, mesh: str = "") -> str:
    citation = (
        citation
        if citation is not None
        else f"""<MedlineCitation Status="MEDLINE">
<PMID Version="1">{pmid}</PMID><DateRevised><Year>2020</Year><Month>5</Month><Day>7</Day>
</DateRevised><Article><Journal><JournalIssue><Volume>1</Volume><PubDate><Year>2001</Year>
</PubDate></JournalIssue><Title>Test journal</Title></Journal>
<ArticleTitle>Title of {pmid}.</ArticleTitle></Article>
<MedlineJournalInfo><MedlineTA>Test J</MedlineTA></MedlineJournalInfo>{mesh}</MedlineCitation>"""
    )
    return f"""<PubmedArticle>{citation}<PubmedData><PublicationStatus>ppublish</PublicationStatus>
<ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle>"""


BROKEN = {
    "no PMID": (_record("222").replace('<PMID Version="1">222</PMID>', ""), "222", "no PMID"),
    "empty PMID": (_record("222").replace(">222</PMID>", "> </PMID>"), "222", "no PMID"),
    "PMID not a number": (
        _record("222").replace(">222</PMID>", ">22x2</PMID>"),
        "222",
        "'22x2' is not a number",
    ),
    "no MedlineCitation": (_record("222", citation=""), "222", "no MedlineCitation"),
    "no Article": (
        _record("222", citation="<MedlineCitation><PMID>222</PMID></MedlineCitation>"),
        "222",
        "no Article",
    ),
    "MeSH heading without descriptor": (
        _record(
            "222",
            mesh="<MeshHeadingList><MeshHeading><QualifierName UI='Q1'>x</QualifierName>"
            "</MeshHeading></MeshHeadingList>",
        ),
        "222",
        "MeshHeading without DescriptorName",
    ),
    "book without BookDocument": (
        "<PubmedBookArticle><PubmedBookData><ArticleIdList><ArticleId IdType='pubmed'>222"
        "</ArticleId></ArticleIdList></PubmedBookData></PubmedBookArticle>",
        "222",
        "no BookDocument",
    ),
    "nothing to name it by": ("<PubmedArticle/>", None, "no MedlineCitation"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_record_that_cannot_be_read_is_reported_and_the_others_returned(case):
    broken, pmid, reason = BROKEN[case]
    data = _doc(_record("111"), broken, _record("333"))
    items = list(iter_records(data))
    assert [type(i).__name__ for i in items] == ["Article", "RecordError", "Article"]
    error = items[1]
    assert isinstance(error, RecordError)
    assert (error.position, error.pmid) == (2, pmid)
    assert reason in error.reason and "\n" not in error.reason
    which = f"PMID {pmid}" if pmid else "#2 (no PMID)"
    assert str(error).startswith(f"PubMed record {which} could not be read: ")
    records = parse_records(data)
    assert [a.pmid for a in records.articles] == ["111", "333"]
    assert records.errors == [error]
    assert [a.pmid for a in parse_articles(data)] == ["111", "333"]
    assert validate_pubmed_xml(data) == 3
    assert records.articles[0].date_revised == "2020-05-07"


def test_unknown_elements_and_attributes_are_skipped_silently():
    plain = _body((NCBI / "23985001.xml").read_bytes()).decode()
    grown = (
        plain.replace(
            "<PubmedArticle>", '<PubmedArticle Flag2099="x"><NewRecordPart>1</NewRecordPart>'
        )
        .replace('Status="MEDLINE"', 'Status="MEDLINE" NewAttr="1"')
        .replace("<Article ", "<NewCitationPart><Nested>z</Nested></NewCitationPart><Article ")
        .replace("<ArticleTitle>", '<TitleVariant>other</TitleVariant><ArticleTitle Lang="en">')
        .replace("<LastName>Kanwar", "<Pronouns>they</Pronouns><LastName Script='Latn'>Kanwar")
        .replace("<PubDate>", "<PubDate Kind='x'><Week>33</Week>")
        .replace("</MeshHeadingList>", "</MeshHeadingList><NewList2099><Item/></NewList2099>")
    )
    assert grown.count("2099") == 3 and "Pronouns" in grown
    data = _doc(grown, "<NewSetLevel2099>between</NewSetLevel2099>", _record("111"))
    records = parse_records(data)
    assert records.errors == []
    expected = parse_articles(NCBI / "23985001.xml") + parse_articles(_doc(_record("111")))
    assert records.articles == expected


def test_ncbi_error_element_and_namespaces_are_not_records():
    with pytest.raises(PubmedXMLError, match="NCBI reported an error: Backend failed"):
        parse_records(_doc(_record("111"), "<ERROR>Backend failed</ERROR>"))
    namespaced = _doc(_record("111")).replace(
        b"<PubmedArticleSet>", b'<PubmedArticleSet xmlns="http://example.org/ns">'
    )
    with pytest.raises(PubmedXMLError, match="namespace"):
        parse_records(namespaced)


# ----------------------------------------------------------------------------- files and gzip


def test_paths_streams_and_gzip_read_alike(tmp_path):
    data = UPDATE.read_bytes()
    expected = list(iter_records(data))
    plain = tmp_path / "pubmed26n0001.xml"
    plain.write_bytes(data)
    packed = tmp_path / "pubmed26n0002.xml.gz"
    packed.write_bytes(gzip.compress(data))
    misnamed = tmp_path / "plain-but-named.xml.gz"
    misnamed.write_bytes(data)
    for source in (plain, str(plain), packed, misnamed):
        assert list(iter_records(source)) == expected, source
    with open(packed, "rb") as f:
        assert list(iter_records(f)) == expected
    # Several gzip members (as concatenated .gz files are) read as one stream.
    half = len(data) // 2
    members = gzip.compress(data[:half]) + gzip.compress(data[half:])
    assert list(iter_records(io.BytesIO(members))) == expected
    # Bytes are an answer from the network, already decoded: never decompressed here.
    with pytest.raises(PubmedXMLError, match="not XML"):
        parse_records(gzip.compress(data))


def test_truncated_or_corrupt_gzip_is_an_error_for_the_file():
    data = gzip.compress((SEED).read_bytes())
    for cut in [10, 100, len(data) // 3, len(data) // 2, len(data) - 9, len(data) - 1]:
        with pytest.raises(PubmedXMLError) as info:
            parse_records(io.BytesIO(data[:cut]))
        assert "\n" not in str(info.value)
    middle = len(data) // 2
    flipped = bytes(b ^ 0x5A for b in data[middle : middle + 40])
    corrupt = data[:middle] + flipped + data[middle + 40 :]
    with pytest.raises(PubmedXMLError):
        parse_records(io.BytesIO(corrupt))


def test_a_stream_is_read_as_it_is_consumed():
    data = gzip.compress(_doc(_body(SEED.read_bytes()) * 20))
    assert len(data) > 400_000
    stream = io.BytesIO(data)
    records = iter_records(stream)
    first = next(records)
    assert isinstance(first, Article) and first.pmid == "98587916"
    assert stream.tell() < len(data) / 2
    assert len([first, *records]) == 70 * 20


# ----------------------------------------------------------------------------- entities and DTDs


def test_entity_declarations_are_refused_before_parsing(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = DEFAULT_DOCTYPE[:-1] + f' [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
    with pytest.raises(PubmedXMLError, match="internal subset"):
        parse_records(_doc(_record("111").replace("Title of", "&xxe; Title of"), doctype=xxe))
    lol = b"".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">'.encode() for i in range(10)
    )
    bomb = b"<!DOCTYPE PubmedArticleSet [" + lol + b"]>"
    with pytest.raises(PubmedXMLError, match="internal subset"):
        parse_records(_doc(_record("111").replace("Title of", "&l9; Title of"), doctype=bomb))


def test_lxml_itself_expands_no_entity_and_reads_no_file(tmp_path, monkeypatch):
    """Behind the DOCTYPE check, the parser settings alone stop XXE and entity bombs."""
    monkeypatch.setattr(pubmed, "_check_head", lambda head: None)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = DEFAULT_DOCTYPE[:-1] + f' [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode()
    (a,) = parse_articles(_doc(_record("111").replace("Title of", "&xxe; Title of"), doctype=xxe))
    assert "TOP-SECRET" not in a.title and a.title.endswith("Title of 111.")
    lol = b"".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">'.encode() for i in range(10)
    )
    bomb = b"<!DOCTYPE PubmedArticleSet [" + lol + b"]>"
    try:
        (a,) = parse_articles(
            _doc(_record("111").replace("Title of", "&l9; Title of"), doctype=bomb)
        )
    except PubmedXMLError as e:  # libxml2 2.11+ stops the amplification itself
        assert "amplification" in str(e)
    else:
        assert len(a.title) < 100


def test_no_dtd_is_ever_opened(monkeypatch):
    # A DOCTYPE naming a local file that does not exist: loading it would fail loudly.
    local = b'<!DOCTYPE PubmedArticleSet SYSTEM "/nonexistent/pubmed_999999.dtd">'
    (a,) = parse_articles(_doc(_record("111"), doctype=local))
    assert a.pmid == "111"


# ----------------------------------------------------------------------------- memory

_MEMORY_PROBE = textwrap.dedent(
    """
    import io, re, resource, sys
    from pnet_pubmed.pubmed import iter_records

    record = re.search(rb"<PubmedArticle>.*?</PubmedArticle>", open(sys.argv[1], "rb").read(),
                       re.S)[0]
    n = int(sys.argv[2])

    class Generated(io.RawIOBase):
        # A stream of n records made on the fly: the document never exists in memory.
        def __init__(self):
            self.parts = iter([b"<?xml version='1.0'?><PubmedArticleSet>",
                               *(record for _ in range(n)), b"</PubmedArticleSet>"])
            self.buffer = b""
        def readable(self):
            return True
        def read(self, size=-1):
            while len(self.buffer) < size and (part := next(self.parts, None)) is not None:
                self.buffer += part
            out, self.buffer = self.buffer[:size], self.buffer[size:]
            return out

    def rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    it = iter_records(Generated())
    for _ in range(1000):
        next(it)
    before = rss_mb()
    count = 1000 + sum(1 for _ in it)
    print(count, len(record) * n, before, rss_mb())
    """
)


def test_memory_stays_flat_on_a_large_stream():
    # About 100 MB of XML; kept in memory as a tree it would take well over 500 MB.
    n = 10_000
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(NCBI / "23985001.xml"), str(n)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    ).stdout.split()
    count, size, before, after = int(out[0]), int(out[1]), float(out[2]), float(out[3])
    assert count == n and size > 90_000_000
    assert after - before < 30, (before, after)  # MB


def test_text_and_dict_round_trip_keep_date_revised():
    (a,) = parse_articles(NCBI / "23985001.xml")
    d = pubmed.article_to_dict(a)
    assert d["date_revised"] == "2022-04-19"
    assert pubmed.article_from_dict(d).date_revised == "2022-04-19"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", a.date_revised)


def test_libxml2_limits_stay_in_force():
    """huge_tree stays off: a 10 MB text node or nesting past 256 levels ends the document."""
    huge = _record("111").replace("Title of", "x" * 11_000_000 + " Title of")
    with pytest.raises(PubmedXMLError, match="(?i)huge|limit"):
        parse_records(_doc(huge))
    deep = _record("111").replace("<Article>", "<Article>" + "<n>" * 300 + "</n>" * 300)
    with pytest.raises(PubmedXMLError, match="(?i)depth"):
        parse_records(_doc(deep))
    # Just inside both limits, the record reads.
    fine = _record("111").replace("<Article>", "<Article>" + "<n>" * 200 + "</n>" * 200)
    assert [a.pmid for a in parse_articles(_doc(fine))] == ["111"]


def test_a_file_opened_from_a_path_is_closed_when_reading_stops(tmp_path):
    path = tmp_path / "update.xml.gz"
    path.write_bytes(gzip.compress(UPDATE.read_bytes()))

    def open_fds() -> int:
        return len(list(Path("/proc/self/fd").iterdir()))

    before = open_fds()
    records = iter_records(path)
    next(records)
    assert open_fds() == before + 1
    records.close()  # abandoned after one record
    assert open_fds() == before
    assert len(list(iter_records(path))) == 7 and open_fds() == before
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<html>nope</html>")
    with pytest.raises(PubmedXMLError):
        list(iter_records(broken))
    assert open_fds() == before
