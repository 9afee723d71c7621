"""Tests for pnet_pubmed.pubmed: PubMed XML read with lxml, checked against ElementTree.

The field-by-field comparison with Bio.Entrez is in tests/test_pubmed_records.py."""

from __future__ import annotations

import io
import json
import re
import socket
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import Bio.Entrez.Parser
import pytest
from Bio.Entrez.Parser import ValidationError

from pnet_pubmed.pubmed import (
    PubmedXMLError,
    _page_range,
    article_from_dict,
    article_to_dict,
    iter_articles,
    parse_articles,
    validate_pubmed_xml,
)
from tests.pubmed_reference import read_reference

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
NCBI = CORPUS / "ncbi-efetch"
SEED = CORPUS / "modelled" / "seed-references.xml"
FILES = sorted(NCBI.glob("*.xml")) + [SEED]
ESEARCH = Path(__file__).parent / "fixtures" / "ncbi-samples" / "esearch1.xml"


def _read(name: str) -> bytes:
    return (NCBI / name).read_bytes()


# ----------------------------------------------------------------------------- no network


class NetworkUsed(AssertionError):
    pass


NETWORK_CALLS: list[str] = []


def _no_network(*args, **kwargs):
    NETWORK_CALLS.append(repr(args)[:200])
    raise NetworkUsed(f"network access attempted: {args!r:.200}")


@pytest.fixture(scope="module", autouse=True)
def offline():
    """Every test here runs with Bio.Entrez's downloader and all sockets cut off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Bio.Entrez.Parser, "urlopen", _no_network)
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        yield
    assert NETWORK_CALLS == []


_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)


@pytest.fixture(scope="module")
def corpus(offline) -> dict[Path, list]:
    """Every corpus record, by file, from one EFetch-shaped document holding them all.

    One document, as the Bio.Entrez reference reads it (tests/test_pubmed_records.py); reading
    each file on its own, with its own DOCTYPE, is tested for one file of each DTD below.
    """
    bodies, counts = [], []
    for f in FILES:
        data = f.read_bytes()
        start = data.index(b">", data.index(b"<PubmedArticleSet")) + 1
        bodies.append(data[start : data.rindex(b"</PubmedArticleSet>")])
        counts.append(len(ET.fromstring(data)))
    doc = f'<?xml version="1.0" ?>\n{_DOCTYPE}\n<PubmedArticleSet>'.encode()
    doc += b"".join(bodies) + b"</PubmedArticleSet>"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the named DTD is shipped: no substitution
        articles = parse_articles(doc)
    assert len(articles) == sum(counts)
    by_file, at = {}, 0
    for f, n in zip(FILES, counts, strict=True):
        by_file[f], at = articles[at : at + n], at + n
    return by_file


def _doctype_of(path: Path) -> str:
    m = re.search(rb"<!DOCTYPE[^>]*?(pubmed_\d+\.dtd)", path.read_bytes()[:500])
    return m[1].decode() if m else "none"


# One file per DOCTYPE in the corpus (pubmed_180101, 180601, 190101, 250101 and none), the book,
# and the big seed file.
_BY_DOCTYPE = sorted({*{_doctype_of(f): f for f in FILES}.values(), NCBI / "20301546.xml", SEED})


@pytest.mark.parametrize("path", _BY_DOCTYPE, ids=lambda p: f"{p.name}-{_doctype_of(p)}")
def test_each_file_alone_with_its_own_doctype(corpus, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_articles(path.read_bytes()) == corpus[path]


def test_corpus_doctypes_are_all_covered():
    assert {_doctype_of(f) for f in _BY_DOCTYPE} == {
        "pubmed_180101.dtd",
        "pubmed_180601.dtd",
        "pubmed_190101.dtd",
        "pubmed_250101.dtd",
        "none",
    }


# ----------------------------------------------------------------------------- ElementTree view


def _t(el) -> str | None:
    """Text of an element as ElementTree sees it, blanks collapsed like the parser does."""
    if el is None:
        return None
    return re.sub(r"[ \t\r\n]+", " ", "".join(el.itertext())).strip()


def _et_summary(rec: ET.Element) -> dict:
    """What an independent ElementTree reading of one record says the Article must hold."""
    if rec.tag == "PubmedBookArticle":
        doc = rec.find("BookDocument")
        data = rec.find("PubmedBookData")
        title = doc.find("ArticleTitle")
        if title is None:
            title = doc.find("Book/BookTitle")
        authors = [
            a
            for al in doc.findall("AuthorList")
            if al.get("Type", "authors") == "authors"
            for a in al.findall("Author")
        ]
        abstract = doc.findall("Abstract/AbstractText")
        ids = doc.findall("ArticleIdList/ArticleId") + data.findall("ArticleIdList/ArticleId")
        elocs = doc.findall("Book/ELocationID")
        pub_types = doc.findall("PublicationType")
        mesh = []
        languages = doc.findall("Language")
        keywords = doc.findall("KeywordList/Keyword")
        journal = dict.fromkeys(["title", "issn", "volume", "issue"])
        chemicals, cc, status = [], [], None
        pmid = doc.findtext("PMID")
        pgn = doc.findtext("Pagination/MedlinePgn")
    else:
        mc = rec.find("MedlineCitation")
        art = mc.find("Article")
        data = rec.find("PubmedData")
        title = art.find("ArticleTitle")
        authors = art.findall("AuthorList/Author")
        abstract = art.findall("Abstract/AbstractText")
        ids = data.findall("ArticleIdList/ArticleId") if data is not None else []
        elocs = art.findall("ELocationID")
        pub_types = art.findall("PublicationTypeList/PublicationType")
        mesh = mc.findall("MeshHeadingList/MeshHeading")
        languages = art.findall("Language")
        keywords = mc.findall("KeywordList/Keyword")
        journal = {
            "title": _t(art.find("Journal/Title")),
            "issn": _t(art.find("Journal/ISSN")) or _t(mc.find("MedlineJournalInfo/ISSNLinking")),
            "volume": _t(art.find("Journal/JournalIssue/Volume")),
            "issue": _t(art.find("Journal/JournalIssue/Issue")),
        }
        chemicals = [_t(c.find("NameOfSubstance")) for c in mc.findall("ChemicalList/Chemical")]
        cc = [
            (c.get("RefType"), _t(c.find("PMID")), _t(c.find("RefSource")))
            for c in mc.findall("CommentsCorrectionsList/CommentsCorrections")
        ]
        status = mc.get("Status")
        pmid = mc.findtext("PMID")
        pgn = art.findtext("Pagination/MedlinePgn")
    authors = [a for a in authors if a.get("ValidYN") != "N"]
    doi = next((_t(i) for i in ids if i.get("IdType") == "doi"), None)
    if doi is None:
        doi = next((_t(e) for e in elocs if e.get("EIdType") == "doi"), None)
    return {
        "pmid": pmid.strip(),
        "title": _t(title),
        "abstract": [(a.get("Label"), a.get("NlmCategory"), _t(a)) for a in abstract],
        "journal": journal,
        "pages": pgn.strip() if pgn else None,
        "authors": len(authors),
        "collective": [
            _t(a.find("CollectiveName")) for a in authors if a.find("CollectiveName") is not None
        ],
        "affiliations": [len(a.findall("AffiliationInfo")) for a in authors],
        "orcids": [
            re.sub(r"\D", "", i.text)[-15:]
            for a in authors
            for i in a.findall("Identifier")
            if i.get("Source") == "ORCID"
        ],
        "doi": doi,
        "pmcid": next((_t(i) for i in ids if i.get("IdType") == "pmc"), None),
        "languages": [_t(x) for x in languages],
        "publication_types": [(_t(p), p.get("UI")) for p in pub_types],
        "mesh": [
            (
                _t(h.find("DescriptorName")),
                h.find("DescriptorName").get("UI"),
                h.find("DescriptorName").get("MajorTopicYN") == "Y",
                [(q.get("UI"), q.get("MajorTopicYN") == "Y") for q in h.findall("QualifierName")],
            )
            for h in mesh
        ],
        "major_descriptors": sorted(
            h.find("DescriptorName").get("UI")
            for h in mesh
            if h.find("DescriptorName").get("MajorTopicYN") == "Y"
        ),
        "keywords": [_t(k) for k in keywords if _t(k)],
        "chemicals": chemicals,
        "comments_corrections": cc,
        "status": status,
        "publication_status": _t(data.find("PublicationStatus")) if data is not None else None,
        "is_book": rec.tag == "PubmedBookArticle",
    }


def _article_summary(a) -> dict:
    return {
        "pmid": a.pmid,
        "title": a.title,
        "abstract": [(s.label, s.nlm_category, s.text) for s in a.abstract],
        "journal": (
            dict.fromkeys(["title", "issn", "volume", "issue"])
            if a.is_book
            else {"title": a.journal_title, "issn": a.issn, "volume": a.volume, "issue": a.issue}
        ),
        "pages": a.pages,
        "authors": len(a.authors),
        "collective": [x.collective_name for x in a.authors if x.collective_name],
        "affiliations": [len(x.affiliations) for x in a.authors],
        "orcids": [re.sub(r"\D", "", x.orcid)[-15:] for x in a.authors if x.orcid],
        "doi": a.doi,
        "pmcid": a.pmcid,
        "languages": list(a.languages),
        "publication_types": [(p.name, p.ui) for p in a.publication_types],
        "mesh": [
            (m.descriptor, m.ui, m.major, [(q.ui, q.major) for q in m.qualifiers]) for m in a.mesh
        ],
        "major_descriptors": sorted(m.ui for m in a.mesh if m.major),
        "keywords": [k.text for k in a.keywords],
        "chemicals": [c.name for c in a.chemicals],
        "comments_corrections": [(c.ref_type, c.pmid, c.source) for c in a.comments_corrections],
        "status": a.status,
        "publication_status": a.publication_status,
        "is_book": a.is_book,
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_record_agrees_with_elementtree(corpus, path):
    records = list(ET.parse(path).getroot())
    articles = corpus[path]
    assert [a.pmid for a in articles] == [
        r.findtext("MedlineCitation/PMID") or r.findtext("BookDocument/PMID") for r in records
    ]
    for rec, article in zip(records, articles, strict=True):
        assert _article_summary(article) == _et_summary(rec)


def test_corpus_size_and_coverage(corpus):
    articles = [a for arts in corpus.values() for a in arts]
    assert len(articles) == 293
    assert len(corpus[SEED]) == 70
    assert sum(a.is_book for a in articles) == 1
    assert all(a.title for a in articles)
    assert sum(1 for a in articles if a.mesh) > 150
    assert any(q.major for a in articles for m in a.mesh for q in m.qualifiers)


# ----------------------------------------------------------------------------- hand-checked


def _one(corpus, name: str):
    (article,) = corpus[NCBI / name]
    return article


def test_structured_abstract(corpus):
    a = _one(corpus, "10440612.xml")
    assert [(s.label, s.nlm_category) for s in a.abstract] == [
        ("BACKGROUND", "BACKGROUND"),
        ("METHODS", "METHODS"),
        ("RESULTS", "RESULTS"),
        ("CONCLUSIONS", "CONCLUSIONS"),
    ]
    assert a.abstract[0].text.startswith("In sporadic colorectal adenomas mutations in the")
    assert a.abstract_text.startswith("BACKGROUND: In sporadic colorectal adenomas")
    assert "\nMETHODS: Frozen sections from 54 duodenal polyps" in a.abstract_text
    assert (a.pub_date, a.year, a.volume, a.issue) == ("1999 Jun", 1999, "34", "6")
    assert (a.pages, a.start_page, a.end_page) == ("611-7", "611", "617")
    assert a.doi == "10.1080/003655299750026083"
    assert a.comments_corrections[0].ref_type == "CommentIn"
    assert a.comments_corrections[0].pmid == "10440601"
    # Non-ASCII and multi-word surnames come through untouched.
    assert [x.last_name for x in a.authors[:2]] == ["Norheim Andersen", "Løvig"]
    assert a.authors[3].fore_name == "T O" and a.authors[3].initials == "TO"
    assert (a.journal_title, a.iso_abbreviation) == (
        "Scandinavian journal of gastroenterology",
        "Scand J Gastroenterol",
    )
    assert (a.medline_ta, a.nlm_unique_id, a.issn, a.issn_linking) == (
        "Scand J Gastroenterol",
        "0060105",
        "0036-5521",
        "0036-5521",
    )
    genes_apc = next(m for m in a.mesh if m.descriptor == "Genes, APC")
    assert (genes_apc.ui, genes_apc.major, genes_apc.qualifiers) == ("D017491", True, ())
    adenoma = next(m for m in a.mesh if m.descriptor == "Adenoma")
    assert not adenoma.major and adenoma.is_major_topic
    assert [(q.name, q.ui, q.major) for q in adenoma.qualifiers] == [
        ("genetics", "Q000235", True),
        ("pathology", "Q000473", False),
    ]


def test_collective_author(corpus):
    a = _one(corpus, "34843274.xml")
    (author,) = a.authors
    assert author.collective_name == (
        "Guideline Development Panel for the Treatment of Depressive Disorders"
    )
    assert author.last_name is None and author.display == author.collective_name
    assert a.issn == "1935-990X" and a.issn_linking == "0003-066X"


def test_errata_and_comments(corpus):
    erratum = _one(corpus, "23985001.xml").comments_corrections
    assert [(c.ref_type, c.pmid, c.source) for c in erratum] == [
        ("ErratumIn", None, "Expert Rev Gastroenterol Hepatol. 2013 Nov;7(8):767")
    ]
    a = _one(corpus, "35649368.xml")
    assert a.comments_corrections[0].ref_type == "ErratumIn"
    assert a.comments_corrections[0].pmid == "35767954"
    # MEDLINE writes "0" for a substance without a registry number.
    assert [(c.name, c.ui, c.registry_number) for c in a.chemicals] == [
        ("Fatty Acids", "D005227", None),
        ("Membrane Lipids", "D008563", None),
        ("Phospholipids", "D010743", None),
        ("Acetyl Coenzyme A", "D000105", "72-89-9"),
    ]
    for_ = _one(corpus, "38833988.xml").comments_corrections
    assert ("ErratumFor", "33279609") in [(c.ref_type, c.pmid) for c in for_]
    on = _one(corpus, "35679569.xml").comments_corrections
    assert [(c.ref_type, c.pmid) for c in on] == [
        ("CommentOn", "35679550"),
        ("CommentOn", "35679567"),
    ]


def test_book(corpus):
    a = _one(corpus, "20301546.xml")
    assert a.is_book and a.status is None and a.publication_status == "ppublish"
    assert a.title == "Hereditary Motor and Sensory Neuropathy with Agenesis of the Corpus Callosum"
    assert a.extra["book_title"] == "GeneReviews®"  # <sup>&#174;</sup> kept as text
    assert a.extra["publisher"] == "University of Washington, Seattle"
    assert a.extra["book_accession"] == "NBK1372"
    # The chapter's authors, not the book's editors.
    assert [x.last_name for x in a.authors] == ["Gauvreau", "Brisson", "Dupré"]
    assert a.authors[1].fore_name == "Jean-Denis"
    assert (a.year, a.pub_date, a.journal_title) == (1993, "1993", None)
    assert [s.label for s in a.abstract] == [
        "CLINICAL CHARACTERISTICS",
        "DIAGNOSIS/TESTING",
        "MANAGEMENT",
        "GENETIC COUNSELING",
    ]
    assert a.abstract[2].text.startswith("Treatment of manifestations: Walking aids")
    assert [(p.name, p.ui) for p in a.publication_types] == [("Review", "D016454")]


def test_translated_title_season_and_diacritics(corpus):
    a = _one(corpus, "28139132.xml")
    assert a.title == (
        "[Takotsubo cardiomyopathy: incidence, etiology, complications, therapy and prognosis]."
    )
    assert a.extra["vernacular_title"].startswith("Takotsubo syndrom: incidence, etiologie")
    assert (a.pub_date, a.year, a.languages) == ("2016 Winter", 2016, ("cze",))
    assert [x.last_name for x in a.authors][:2] == ["Babický", "Holm"]
    assert a.authors[1].fore_name == "František"
    assert a.doi is None and a.elocation is None


def test_other_abstract_is_not_the_abstract(corpus):
    for name in ["30776274.xml", "31671389.xml"]:
        (rec,) = ET.parse(NCBI / name).getroot()
        other = " ".join(_t(x) for x in rec.findall(".//OtherAbstract/AbstractText"))
        a = _one(corpus, name)
        assert other and other not in a.abstract_text


def test_inline_markup_keeps_all_text(corpus):
    titles = {
        "34690539.xml": "Using Citizen Science to Detect Rare and Endangered Species: New Records "
        "of the Great White Shark Carcharodon Carcharias off the Libyan Coast.",
        "38914053.xml": "Doped SnO2thin films fabricated at low temperature by atomic layer "
        "deposition with a precise incorporation of niobium atoms.",
        "37167981.xml": "Monte Carlo simulation of micro-x-ray fluorescence (μ-XRF) based "
        "detection of immunomagnetically labeled tumor cells.",
    }
    for name, title in titles.items():
        assert _one(corpus, name).title == title
    # MathML, <sub>/<sup>/<i> and a literal "<" side by side in one abstract.
    a = _one(corpus, "biopython-pubmed6.xml")
    assert a.title.startswith('A "Blood Relationship" Between the Overlooked')
    text = a.abstract[0].text
    assert '"Minimum Lactate Equivalent" (LEmin)' in text
    assert "(P < 0.001; ES: 3.54)" in text
    assert "<" not in text.replace("P < ", "")
    assert "\n" not in text and "  " not in text


def test_numeric_month_pagination_without_start_page(corpus):
    a = _one(corpus, "biopython-pubmed4.xml")
    assert a.pub_date == "2017 Jun" and a.year == 2017
    assert (a.pages, a.start_page, a.end_page) == ("1116-1122", "1116", "1122")
    assert a.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
        "pancreatic cancer."
    )


def test_orcid_and_elocation(corpus):
    a = _one(corpus, "biopython-pubmed7.xml")
    assert [x.orcid for x in a.authors if x.orcid] == [
        "0000-0002-4590-7461",
        "0000-0003-3525-2788",
    ]
    dante = next(x for x in a.authors if x.orcid == "0000-0002-4590-7461")
    assert dante.fore_name == "Dante"
    assert dante.affiliations == (
        "University of Western Ontario, Robarts Research Institute, London, Ontario, Canada.",
        "University of Western Ontario, Department of Medical Biophysics, London, Ontario, Canada.",
    )
    assert (a.pages, a.start_page, a.end_page) == ("026002", "026002", None)
    assert a.elocation == "10.1117/1.JMI.5.2.026002" == a.doi


def test_last_name_only_author(corpus):
    a = _one(corpus, "5678901.xml")
    brunet = next(x for x in a.authors if x.last_name == "Brunet")
    assert (brunet.fore_name, brunet.initials, brunet.display) == (None, None, "Brunet")


def test_empty_set(corpus):
    assert corpus[NCBI / "37909814.xml"] == []
    assert validate_pubmed_xml(_read("37909814.xml")) == 0


def test_seed_references(corpus):
    first = corpus[SEED][0]
    assert first.pmid == "98587916"
    assert first.title.startswith("The doxorubicin-streptozotocin combination")
    assert (first.start_page, first.end_page, first.year) == ("515", "520", 2004)
    assert [x.display for x in first.authors] == ["Delaunoit T", "Ducreux M", "Boige V"]
    assert validate_pubmed_xml(SEED.read_bytes()) == 70


# ----------------------------------------------------------------------------- synthetic records


def _synthetic(
    pubdate="<PubDate><Year>2001</Year></PubDate>",
    title="A title.",
    pagination="<Pagination><MedlinePgn>514-23</MedlinePgn></Pagination>",
    authors='<Author ValidYN="Y"><LastName>Smith</LastName><Initials>J</Initials></Author>',
    article_date="",
    doctype=_DOCTYPE,
) -> bytes:
    return f"""<?xml version="1.0" ?>
{doctype}
<PubmedArticleSet>
<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">123</PMID>
<Article PubModel="Print"><Journal><JournalIssue CitedMedium="Print"><Volume>1</Volume>
{pubdate}</JournalIssue><Title>Test journal</Title></Journal>
<ArticleTitle>{title}</ArticleTitle>{pagination}
<AuthorList CompleteYN="Y">{authors}</AuthorList><Language>eng</Language>
<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType>
</PublicationTypeList>{article_date}</Article>
<MedlineJournalInfo><MedlineTA>Test J</MedlineTA></MedlineJournalInfo></MedlineCitation>
<PubmedData><History><PubMedPubDate PubStatus="pubmed"><Year>2003</Year><Month>1</Month>
<Day>2</Day></PubMedPubDate></History><PublicationStatus>ppublish</PublicationStatus>
<ArticleIdList><ArticleId IdType="pubmed">123</ArticleId></ArticleIdList></PubmedData>
</PubmedArticle>
</PubmedArticleSet>
""".encode()


def test_medline_date():
    # No corpus record has one; this is the form NLM uses for spans and vague dates.
    (a,) = parse_articles(
        _synthetic(pubdate="<PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate>")
    )
    assert (a.year, a.pub_date) == (1998, "1998 Dec-1999 Jan")


def test_year_fallbacks_and_day():
    (a,) = parse_articles(
        _synthetic(pubdate="<PubDate><Year>2011</Year><Month>Feb</Month><Day>03</Day></PubDate>")
    )
    assert (a.year, a.pub_date) == (2011, "2011 Feb 3")
    electronic = (
        '<ArticleDate DateType="Electronic"><Year>2002</Year><Month>05</Month><Day>06</Day>'
        "</ArticleDate>"
    )
    no_year = "<PubDate><MedlineDate>Spring</MedlineDate></PubDate>"
    (a,) = parse_articles(_synthetic(pubdate=no_year, article_date=electronic))
    assert (a.year, a.pub_date) == (2002, "Spring")
    (a,) = parse_articles(_synthetic(pubdate=no_year))
    assert a.year == 2003  # PubMedPubDate PubStatus="pubmed"


def test_pages_from_medline_pgn():
    (a,) = parse_articles(_synthetic())
    assert (a.pages, a.start_page, a.end_page) == ("514-23", "514", "523")


@pytest.mark.parametrize(
    ("pgn", "start", "end"),
    [
        ("514-23", "514", "523"),
        ("1014-9", "1014", "1019"),
        ("99-101", "99", "101"),
        ("123", "123", None),
        ("S12-5", "S12", "S15"),
        ("H337-H349", "H337", "H349"),
        ("e157-e161", "e157", "e161"),
        ("650-7; discussion 657-9", "650", "657"),
        ("67-8, 73", "67", "68"),
        ("iii-iv", "iii", "iv"),
        ("", None, None),
        (None, None, None),
    ],
)
def test_page_range(pgn, start, end):
    assert _page_range(pgn) == (start, end)


def test_escaped_text_and_markup_are_told_apart():
    (a,) = parse_articles(
        _synthetic(title="p &lt; 0.05 &amp; <i>BRCA1</i> in CO<sub>2</sub> &lt;i&gt;not a tag")
    )
    assert a.title == "p < 0.05 & BRCA1 in CO2 <i>not a tag"


def test_invalid_authors_are_left_out():
    authors = (
        '<Author ValidYN="Y"><LastName>Smith</LastName><Initials>J</Initials></Author>'
        '<Author ValidYN="N"><LastName>Smiht</LastName><Initials>J</Initials></Author>'
        '<Author ValidYN="Y"><CollectiveName>The <i>X</i> Group</CollectiveName></Author>'
    )
    (a,) = parse_articles(_synthetic(authors=authors))
    assert [x.display for x in a.authors] == ["Smith J", "The X Group"]


def test_missing_doctype_declaration_or_bom():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_articles(_synthetic(doctype="")) == parse_articles(_synthetic())
    # ... and without an XML declaration or with a BOM.
    bare = _synthetic(doctype="").split(b"\n", 1)[1]
    assert len(parse_articles(bare)) == 1
    assert len(parse_articles(b"\xef\xbb\xbf" + _synthetic())) == 1


# ----------------------------------------------------------------------------- DTDs, offline


def test_unknown_dtd_is_neither_loaded_nor_needed():
    data = _read("biopython-pubmed1.xml")
    newer = data.replace(b"pubmed_250101.dtd", b"pubmed_990101.dtd")
    assert newer != data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_articles(newer) == parse_articles(data)
    # The reference reader would have to download that DTD; it refuses instead.
    with pytest.raises(ValueError, match="no DTD"):
        read_reference(newer)


def test_unknown_elements_are_skipped_where_bio_entrez_validation_refuses():
    data = _synthetic(article_date="<NewElement2099>x</NewElement2099>")
    with pytest.raises(ValidationError, match="NewElement2099"):
        read_reference(data)  # the named DTD is present, so Bio.Entrez validates against it
    (a,) = parse_articles(data)
    assert a.pmid == "123"
    assert a == parse_articles(_synthetic())[0]


def test_external_entities_and_schemas_are_refused():
    subset = _DOCTYPE[:-1] + (
        ' [<!ENTITY % more SYSTEM "https://dtd.nlm.nih.gov/ncbi/pubmed/out/more_2099.mod"> %more;]>'
    )
    with pytest.raises(PubmedXMLError, match="more_2099.mod"):
        parse_articles(_synthetic(doctype=subset))
    schema = _synthetic().replace(
        b"<PubmedArticleSet>",
        b'<PubmedArticleSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:noNamespaceSchemaLocation="https://eutils.ncbi.nlm.nih.gov/x.xsd">',
    )
    with pytest.raises(PubmedXMLError, match="Schema"):
        parse_articles(schema)
    assert NETWORK_CALLS == []


# ----------------------------------------------------------------------------- bad answers


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>",
        b"<html><body><h1>Service unavailable</h1></body></html>",
        b'{"error":"API rate limit exceeded","count":"11"}',
        b"Error: something went wrong",
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eFetchResult PUBLIC "-//NLM//DTD '
        b'efetch 20131226//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">'
        b"\n<eFetchResult>\n\t<ERROR>Empty id list - nothing todo</ERROR>\n</eFetchResult>\n",
        b'<?xml version="1.0"?><PubmedArticleSet><PubmedArticle>',
        b'<?xml version="1.0"?><PubmedArticleSet></PubmedArticleSet><PubmedArticleSet/>',
        b'<?xml version="1.0"?><PubmedArticleSet></PubmedArticleSet>junk',
        b'<?xml version="1.0"?><PubmedArticleSet>\xff\xfe</PubmedArticleSet>',
        b'<?xml version="1.0"?><PubmedArticleSet><ERROR>x</ERROR></PubmedArticleSet>'.replace(
            b"<PubmedArticleSet>", _DOCTYPE.encode() + b"<PubmedArticleSet>"
        ),
    ],
    ids=lambda b: repr(b[:30]),
)
def test_bad_bodies_raise(body):
    with pytest.raises(PubmedXMLError) as info:
        parse_articles(body)
    assert "\n" not in str(info.value)
    with pytest.raises(PubmedXMLError):
        list(iter_articles(io.BytesIO(body)))
    with pytest.raises(PubmedXMLError):
        validate_pubmed_xml(body)


def test_other_eutils_answer_is_refused():
    with pytest.raises(PubmedXMLError, match="eSearchResult"):
        parse_articles(ESEARCH.read_bytes())


def _cut_points(data: bytes, spread: int, tail: int) -> list[int]:
    """Every offset in the prolog and the last `tail` bytes, and `spread` through the rest."""
    end = len(data.rstrip())
    prolog = data.index(b"<PubmedArticleSet>") + 40
    middle = range(0, end, max(1, end // spread))
    return sorted(set(range(prolog)) | set(middle) | set(range(end - tail, end)))


@pytest.mark.parametrize(
    ("path", "spread", "tail"),
    [
        (NCBI / "biopython-pubmed1.xml", 250, 150),
        (NCBI / "1234567.xml", 250, 150),
        (NCBI / "20301546.xml", 250, 150),
        (SEED, 80, 40),  # 150 kB: each cut costs a pass over it
    ],
    ids=lambda v: v.name if isinstance(v, Path) else str(v),
)
def test_truncated_answers_raise_at_any_cut(path, spread, tail):
    data = path.read_bytes()
    expected = len(parse_articles(data))
    cuts = _cut_points(data, spread, tail)
    assert len(cuts) > 300
    for cut in cuts:
        with pytest.raises(PubmedXMLError) as info:
            parse_articles(data[:cut])
        assert "\n" not in str(info.value), cut
    # Only trailing whitespace may go.
    assert len(parse_articles(data.rstrip())) == expected


def test_corrupted_answers_raise():
    data = _read("biopython-pubmed1.xml")
    middle = len(data) // 2
    for bad in [
        data[:middle] + b"<" + data[middle:],
        data[:middle] + b"\xc3\x28" + data[middle:],  # invalid UTF-8
        data.replace(b"</Article>", b"", 1),
        data.replace(b"<PubmedArticle>", b"<PubmedArticle><PubmedArticle>", 1),
        data + data,
    ]:
        with pytest.raises(PubmedXMLError):
            parse_articles(bad)


def test_streamed_truncation_raises_after_the_good_records():
    data = SEED.read_bytes()
    for cut in [len(data) // 3, len(data) // 2, len(data) - 30]:
        got = []
        with pytest.raises(PubmedXMLError):
            for article in iter_articles(io.BytesIO(data[:cut])):
                got.append(article)
        assert len(got) < 70


# ----------------------------------------------------------------------------- API shapes


class _CountingReader(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_iter_articles_streams_and_matches_parse(corpus):
    data = SEED.read_bytes()
    stream = _CountingReader(data)
    articles = iter_articles(stream)
    first = next(articles)
    assert first == corpus[SEED][0]
    assert stream.consumed < len(data)  # the rest is not read yet
    assert [first, *articles] == corpus[SEED]
    for name in ["20301546.xml", "biopython-pubmed6.xml", "1000.xml"]:
        assert list(iter_articles(io.BytesIO(_read(name)))) == corpus[NCBI / name]


def test_parse_articles_accepts_streams_not_text(corpus):
    with open(NCBI / "1000.xml", "rb") as f:
        assert parse_articles(f) == corpus[NCBI / "1000.xml"]
    with pytest.raises(TypeError):
        parse_articles(io.StringIO("<PubmedArticleSet/>"))
    with pytest.raises(TypeError):
        list(iter_articles(io.StringIO("<PubmedArticleSet/>")))


def test_dict_round_trip_on_every_record(corpus):
    for articles in corpus.values():
        for a in articles:
            d = article_to_dict(a)
            assert article_from_dict(d) == a
            back = article_from_dict(json.loads(json.dumps(d)))
            assert back == a and back.extra == a.extra


def test_dict_shape(corpus):
    d = article_to_dict(_one(corpus, "10440612.xml"))
    expected_keys = (
        "pmid title abstract abstract_sections journal year pub_date volume issue pages "
        "authors doi pmcid languages publication_types mesh keywords chemicals "
        "comments_corrections status"
    ).split()
    assert set(expected_keys) <= set(d)
    assert set(d["journal"]) == {
        "title",
        "iso_abbreviation",
        "medline_ta",
        "nlm_unique_id",
        "issn",
        "issn_linking",
    }
    assert set(d["authors"][0]) == {
        "last_name",
        "fore_name",
        "initials",
        "collective_name",
        "affiliations",
        "orcid",
    }
    assert d["abstract_sections"][0] == {
        "label": "BACKGROUND",
        "nlm_category": "BACKGROUND",
        "text": d["abstract"].split("\n")[0].removeprefix("BACKGROUND: "),
    }
    assert d["publication_types"] == ["Journal Article", "Research Support, Non-U.S. Gov't"]
    assert set(d["mesh"][0]) == {"descriptor", "ui", "major", "qualifiers"}
    assert set(d["mesh"][0]["qualifiers"][0]) == {"name", "ui", "major"}
    assert json.loads(json.dumps(d)) == d


def test_dict_reader_tolerates_plain_lists():
    a = article_from_dict(
        {"pmid": 1, "title": "T", "publication_types": ["Review"], "keywords": ["k"]}
    )
    assert a.pmid == "1" and a.publication_types[0].name == "Review"
    assert a.keywords[0].text == "k" and not a.keywords[0].major
