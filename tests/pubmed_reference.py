"""The reference reading of PubMed XML: Bio.Entrez's public, DTD-validating parser.

pnet_pubmed.pubmed reads PubMed XML with lxml; tests compare it, field by field, to what this
module makes of the same documents with `Bio.Entrez.read(..., validate=True, escape=True)`.
It is the conversion the package used before the lxml parser, kept apart from it on purpose: a
second, independent implementation (Bio's DTD-driven data structures, its own text and date
handling), used only by tests and benchmarks. Nothing here is imported by the package.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import unescape

import Bio.Entrez
from Bio import Entrez

from pnet_pubmed.values import (
    AbstractSection,
    Article,
    Author,
    Chemical,
    CommentCorrection,
    Keyword,
    MeshHeading,
    PublicationType,
    Qualifier,
)

# The DTDs Biopython ships: Bio.Entrez reads the one a document names from there, and would
# download any other, so documents naming another are refused here instead.
SHIPPED_DTDS = Path(Bio.Entrez.__file__).parent / "DTDs"
DEFAULT_DOCTYPE = (
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)
_DTD_NAME = re.compile(rb"<!DOCTYPE[^>\[]*?([\w.-]+\.dtd)")


def _readable_by_bio(data: bytes) -> bytes:
    """The document with an XML declaration and a shipped DOCTYPE, which Bio.Entrez needs."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    head = data[:4096]
    if b"<!DOCTYPE" not in head:
        at = data.index(b"<PubmedArticleSet")
        data = data[:at] + DEFAULT_DOCTYPE + b"\n" + data[at:]
    else:
        name = _DTD_NAME.search(head)
        if not name or not (SHIPPED_DTDS / name[1].decode()).is_file():
            raise ValueError(f"the reference reader has no DTD for {head[:300]!r}")
    if not data.lstrip().startswith(b"<?xml"):
        data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + data
    return data


def read_reference(data: bytes) -> dict[str, list[Article]]:
    """Articles and books of a PubmedArticleSet, by Bio.Entrez, each list in document order.

    Raises what Bio.Entrez raises: a ValidationError for an element its DTD does not declare.
    """
    record = Entrez.read(io.BytesIO(_readable_by_bio(data)), validate=True, escape=True)
    return {
        "PubmedArticle": [to_article(r) for r in record.get("PubmedArticle", [])],
        "PubmedBookArticle": [book_to_article(r) for r in record.get("PubmedBookArticle", [])],
        "DeleteCitation": [str(p) for p in record.get("DeleteCitation", [])],
    }


# --------------------------------------------------------------------------- records to values

# Tags as Bio.Entrez writes inline markup back into text (escape=True keeps text "<" as "&lt;").
_TAG = re.compile(r"""<(?:[^<>"']|"[^"]*"|'[^']*')*>""")
_BLANKS = re.compile(r"[ \t\r\n]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ORCID = re.compile(r"(\d{4}-?\d{4}-?\d{4}-?\d{3}[\dXx])\s*$")
_PAGE = re.compile(r"^([^\d]*)(\d+)([^\d]*)$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return _BLANKS.sub(" ", unescape(_TAG.sub("", str(value)))).strip()


def _opt(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _attr(element: Any, name: str) -> str | None:
    return getattr(element, "attributes", {}).get(name)


def _yes(element: Any, name: str = "MajorTopicYN") -> bool:
    return _attr(element, name) == "Y"


def _printed_date(date: Any) -> str | None:
    if not date:
        return None
    if date.get("MedlineDate") is not None:
        return _opt(date["MedlineDate"])
    parts = [_text(date.get("Year"))]
    month = _text(date.get("Month"))
    if month.isdigit() and 1 <= int(month) <= 12:
        month = _MONTHS[int(month) - 1]
    parts.append(month or _text(date.get("Season")))
    if month:
        day = _text(date.get("Day"))
        parts.append(str(int(day)) if day.isdigit() else day)
    return " ".join(p for p in parts if p) or None


def _year_of(date: Any) -> int | None:
    if not date:
        return None
    year = _text(date.get("Year"))
    if year.isdigit():
        return int(year)
    m = _YEAR.search(_text(date.get("MedlineDate")))
    return int(m[1]) if m else None


def _revised(date: Any) -> str | None:
    """DateRevised as year-month-day; the DTD makes all three numeric and required."""
    if not date:
        return None
    y, m, d = (_text(date.get(k)) for k in ("Year", "Month", "Day"))
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def _pages(pagination: dict) -> tuple[str | None, str | None, str | None]:
    pages = _opt(pagination.get("MedlinePgn"))
    if pagination.get("StartPage") is not None:
        return pages, _opt(pagination["StartPage"]), _opt(pagination.get("EndPage"))
    if not pages:
        return pages, None, None
    first = re.split(r"[,;]", pages, maxsplit=1)[0].strip()
    start, _, end = (p.strip() for p in first.partition("-"))
    if not end:
        return pages, start or None, None
    s, e = _PAGE.match(start), _PAGE.match(end)
    if s and e and len(e[2]) < len(s[2]) and e[1] in ("", s[1]) and e[3] in ("", s[3]):
        end = s[1] + s[2][: len(s[2]) - len(e[2])] + e[2] + e[3]
    return pages, start or None, end


def _orcid(value: Any) -> str | None:
    text = _text(value)
    m = _ORCID.search(text)
    if not m:
        return text or None
    digits = m[1].replace("-", "").upper()
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def _authors(author_list: Any) -> tuple[Author, ...]:
    authors = []
    for a in author_list or ():
        if _attr(a, "ValidYN") == "N":
            continue
        orcid = next(
            (_orcid(i) for i in a.get("Identifier", ()) if _attr(i, "Source") == "ORCID"), None
        )
        affiliations = tuple(
            text
            for info in a.get("AffiliationInfo", ())
            if (text := _text(info.get("Affiliation")))
        )
        authors.append(
            Author(
                last_name=_opt(a.get("LastName")),
                fore_name=_opt(a.get("ForeName")),
                initials=_opt(a.get("Initials")),
                collective_name=_opt(a.get("CollectiveName")),
                affiliations=affiliations,
                orcid=orcid,
            )
        )
    return tuple(authors)


def _author_list(lists: Any) -> Any:
    if lists is None:
        return None
    if getattr(lists, "tag", None) == "AuthorList":
        return lists
    for author_list in lists:
        if _attr(author_list, "Type") in (None, "authors"):
            return author_list
    return None


def _abstract(abstract: Any) -> tuple[AbstractSection, ...]:
    if not abstract:
        return ()
    return tuple(
        AbstractSection(
            text=_text(t),
            label=_attr(t, "Label") or None,
            nlm_category=_attr(t, "NlmCategory") or None,
        )
        for t in abstract.get("AbstractText", ())
    )


def _ids(id_list: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for i in id_list or ():
        ids.setdefault(_attr(i, "IdType") or "", _text(i))
    return ids


def _elocations(elocs: Any) -> list[tuple[str | None, str]]:
    return [(_attr(e, "EIdType"), _text(e)) for e in elocs or () if _attr(e, "ValidYN") != "N"]


def _keywords(keyword_lists: Any) -> tuple[Keyword, ...]:
    return tuple(
        Keyword(text, _yes(k)) for kl in keyword_lists or () for k in kl if (text := _text(k))
    )


def _history_year(history: Any, status: str) -> int | None:
    for d in history or ():
        if _attr(d, "PubStatus") == status:
            return _year_of(d)
    return None


def to_article(record: Any) -> Article:
    mc = record["MedlineCitation"]
    art = mc["Article"]
    data = record.get("PubmedData") or {}
    journal = art.get("Journal") or {}
    issue = journal.get("JournalIssue") or {}
    pub_date = issue.get("PubDate") or {}
    info = mc.get("MedlineJournalInfo") or {}
    pagination = art.get("Pagination") or {}
    ids = _ids(data.get("ArticleIdList"))
    elocs = _elocations(art.get("ELocationID"))

    year = _year_of(pub_date)
    if year is None and art.get("ArticleDate"):
        year = _year_of(art["ArticleDate"][0])
    if year is None:
        year = _history_year(data.get("History"), "pubmed")

    pages, start_page, end_page = _pages(pagination)

    extra = {}
    if art.get("VernacularTitle") is not None:
        extra["vernacular_title"] = _text(art["VernacularTitle"])

    return Article(
        pmid=_text(mc["PMID"]),
        title=_text(art.get("ArticleTitle")),
        abstract=_abstract(art.get("Abstract")),
        journal_title=_opt(journal.get("Title")),
        iso_abbreviation=_opt(journal.get("ISOAbbreviation")),
        medline_ta=_opt(info.get("MedlineTA")),
        nlm_unique_id=_opt(info.get("NlmUniqueID")),
        issn=_opt(journal.get("ISSN")) or _opt(info.get("ISSNLinking")),
        issn_linking=_opt(info.get("ISSNLinking")),
        year=year,
        pub_date=_printed_date(pub_date),
        volume=_opt(issue.get("Volume")),
        issue=_opt(issue.get("Issue")),
        pages=pages,
        start_page=start_page,
        end_page=end_page,
        elocation=elocs[0][1] if elocs else None,
        authors=_authors(_author_list(art.get("AuthorList"))),
        doi=ids.get("doi") or next((v for t, v in elocs if t == "doi"), None),
        pmcid=ids.get("pmc"),
        languages=tuple(_text(lang) for lang in art.get("Language", ())),
        publication_types=tuple(
            PublicationType(_text(p), _attr(p, "UI")) for p in art.get("PublicationTypeList", ())
        ),
        mesh=tuple(
            MeshHeading(
                descriptor=_text(h["DescriptorName"]),
                ui=_attr(h["DescriptorName"], "UI"),
                major=_yes(h["DescriptorName"]),
                qualifiers=tuple(
                    Qualifier(_text(q), _attr(q, "UI"), _yes(q)) for q in h.get("QualifierName", ())
                ),
            )
            for h in mc.get("MeshHeadingList", ())
        ),
        keywords=_keywords(mc.get("KeywordList")),
        chemicals=tuple(
            Chemical(
                name=_text(c.get("NameOfSubstance")),
                ui=_attr(c.get("NameOfSubstance"), "UI"),
                registry_number=rn if (rn := _opt(c.get("RegistryNumber"))) != "0" else None,
            )
            for c in mc.get("ChemicalList", ())
        ),
        comments_corrections=tuple(
            CommentCorrection(
                ref_type=_attr(c, "RefType") or "",
                pmid=_opt(c.get("PMID")),
                source=_opt(c.get("RefSource")),
            )
            for c in mc.get("CommentsCorrectionsList", ())
        ),
        status=_attr(mc, "Status"),
        publication_status=_opt(data.get("PublicationStatus")),
        is_book=False,
        extra=extra,
        date_revised=_revised(mc.get("DateRevised")),
    )


def book_to_article(record: Any) -> Article:
    doc = record["BookDocument"]
    book = doc.get("Book") or {}
    data = record.get("PubmedBookData") or {}
    ids = {**_ids(data.get("ArticleIdList")), **_ids(doc.get("ArticleIdList"))}
    elocs = _elocations(book.get("ELocationID"))
    pagination = doc.get("Pagination") or {}
    book_title = _text(book.get("BookTitle"))
    title = _text(doc.get("ArticleTitle")) or book_title

    authors = _author_list(doc.get("AuthorList"))
    if not authors:
        authors = _author_list(book.get("AuthorList"))
    year = _year_of(book.get("PubDate"))
    if year is None:
        year = _history_year(data.get("History"), "pubmed")
    pages, start_page, end_page = _pages(pagination)

    extra: dict[str, Any] = {"book_title": book_title}
    publisher = (book.get("Publisher") or {}).get("PublisherName")
    if publisher is not None:
        extra["publisher"] = _text(publisher)
    if book.get("Isbn"):
        extra["isbn"] = [_text(i) for i in book["Isbn"]]
    if "bookaccession" in ids:
        extra["book_accession"] = ids["bookaccession"]

    return Article(
        pmid=_text(doc["PMID"]),
        title=title,
        abstract=_abstract(doc.get("Abstract")),
        year=year,
        pub_date=_printed_date(book.get("PubDate")),
        volume=_opt(book.get("Volume")),
        pages=pages,
        start_page=start_page,
        end_page=end_page,
        elocation=elocs[0][1] if elocs else None,
        authors=_authors(authors),
        doi=ids.get("doi") or next((v for t, v in elocs if t == "doi"), None),
        pmcid=ids.get("pmc"),
        languages=tuple(_text(lang) for lang in doc.get("Language", ())),
        publication_types=tuple(
            PublicationType(_text(p), _attr(p, "UI")) for p in doc.get("PublicationType", ())
        ),
        keywords=_keywords(doc.get("KeywordList")),
        publication_status=_opt(data.get("PublicationStatus")),
        is_book=True,
        extra=extra,
        date_revised=_revised(doc.get("DateRevised")),
    )
