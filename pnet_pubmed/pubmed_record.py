"""One PubmedArticle or PubmedBookArticle element (lxml) to an Article, or a RecordError.

Only what pnet-pubmed keeps is read, by tag; any other element or attribute is passed over, so
elements NCBI adds to its DTD later change nothing. A record missing what an Article cannot do
without (its PMID, its MedlineCitation or Article, a MeSH heading's descriptor) is a RecordError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pnet_pubmed.util import one_line
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

__all__ = ["RecordError", "element_text", "one_line", "read_record"]


@dataclass(frozen=True)
class RecordError:
    """A record of a well-formed document that could not be read; the others are not affected.

    position is the record's 1-based place among the document's records; pmid is None when the
    record names none that can be read.
    """

    position: int
    pmid: str | None
    reason: str

    def __str__(self) -> str:
        which = f"PMID {self.pmid}" if self.pmid else f"#{self.position} (no PMID)"
        return f"PubMed record {which} could not be read: {self.reason}"


class _Unreadable(ValueError):
    """Raised inside one record's conversion: the record becomes a RecordError."""


_BLANKS = re.compile(r"[ \t\r\n]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.lower(): i for i, m in enumerate(_MONTHS, 1)}
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ORCID = re.compile(r"(\d{4}-?\d{4}-?\d{4}-?\d{3}[\dXx])\s*$")
_PAGE = re.compile(r"^([^\d]*)(\d+)([^\d]*)$")


def element_text(el: Any) -> str:
    """All the text of an element: inline markup dropped, runs of blanks made one space, stripped.

    Only the layout whitespace of pretty-printed XML (MathML spread over lines) is collapsed;
    typographic spaces such as U+2003, which some abstracts use after a label, are kept.
    """
    if el is None:
        return ""
    text = "".join(el.itertext()) if len(el) else el.text or ""
    if "\n" in text or "\t" in text or "\r" in text or "  " in text:
        text = _BLANKS.sub(" ", text)
    return text.strip()


def _opt(el: Any) -> str | None:
    return element_text(el) or None


def _first(el: Any) -> dict[str, Any]:
    """The first child of each tag."""
    return {} if el is None else {child.tag: child for child in reversed(el)}


def _children(el: Any, repeated: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The first child of each tag, and every child of the tags that repeat, in one pass."""
    first: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {tag: [] for tag in repeated}
    for child in el:
        bucket = lists.get(child.tag)
        if bucket is not None:
            bucket.append(child)
        else:
            first.setdefault(child.tag, child)
    return first, lists


def _all(el: Any, tag: str) -> list[Any]:
    return [] if el is None else [c for c in el if c.tag == tag]


def _date(el: Any) -> dict[str, str]:
    """A date element's parts as texts: Year, Month, Day, Season, MedlineDate."""
    return {} if el is None else {c.tag: element_text(c) for c in el}


def _printed_date(date: dict[str, str]) -> str | None:
    """A PubDate as PubMed prints it: "2011 Feb 10", "2008 Summer", "1998 Dec-1999 Jan"."""
    if not date:
        return None
    if "MedlineDate" in date:
        return date["MedlineDate"] or None
    parts = [date.get("Year", "")]
    month = date.get("Month", "")
    if month.isdigit() and 1 <= int(month) <= 12:
        month = _MONTHS[int(month) - 1]
    parts.append(month or date.get("Season", ""))
    if month:
        day = date.get("Day", "")
        parts.append(str(int(day)) if day.isdigit() else day)
    return " ".join(p for p in parts if p) or None


def _year_of(date: dict[str, str]) -> int | None:
    year = date.get("Year", "")
    if year.isdigit():
        return int(year)
    m = _YEAR.search(date.get("MedlineDate", ""))
    return int(m[1]) if m else None


def _iso_date(date: dict[str, str]) -> str | None:
    """A DateRevised as "YYYY-MM-DD" ("YYYY-MM" or "YYYY" when parts are missing)."""
    year = date.get("Year", "")
    if not (year.isdigit() and len(year) == 4):
        return None
    month = date.get("Month", "")
    number = int(month) if month.isdigit() else _MONTH_NUMBER.get(month[:3].lower(), 0)
    if not 1 <= number <= 12:
        return year
    day = date.get("Day", "")
    if not (day.isdigit() and 1 <= int(day) <= 31):
        return f"{year}-{number:02d}"
    return f"{year}-{number:02d}-{int(day):02d}"


def _pages(pagination: Any) -> tuple[str | None, str | None, str | None]:
    """MedlinePgn with its first and last page; derived from MedlinePgn when not given."""
    p = _first(pagination)
    pages = _opt(p.get("MedlinePgn"))
    if "StartPage" in p:
        return pages, _opt(p["StartPage"]), _opt(p.get("EndPage"))
    return (pages, *_page_range(pages))


def _page_range(medline_pgn: str | None) -> tuple[str | None, str | None]:
    """First page and last page of a MedlinePgn, the last expanded: "514-23" gives 514 and 523."""
    if not medline_pgn:
        return None, None
    first = re.split(r"[,;]", medline_pgn, maxsplit=1)[0].strip()
    start, _, end = (p.strip() for p in first.partition("-"))
    if not end:
        return start or None, None
    s, e = _PAGE.match(start), _PAGE.match(end)
    if s and e and len(e[2]) < len(s[2]) and e[1] in ("", s[1]) and e[3] in ("", s[3]):
        # PubMed drops the leading digits the last page shares with the first.
        end = s[1] + s[2][: len(s[2]) - len(e[2])] + e[2] + e[3]
    return start or None, end


def _orcid(el: Any) -> str | None:
    text = element_text(el)
    m = _ORCID.search(text)
    if not m:
        return text or None
    digits = m[1].replace("-", "").upper()
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def _authors(author_list: Any) -> tuple[Author, ...]:
    authors = []
    for a in author_list if author_list is not None else ():
        if a.tag != "Author" or a.get("ValidYN") == "N":
            continue  # ValidYN="N": a misspelt name NLM keeps only for searching
        last = fore = initials = collective = orcid = None
        orcid_seen = False
        affiliations = []
        for c in a:
            tag = c.tag
            if tag == "LastName":
                last = _opt(c)
            elif tag == "ForeName":
                fore = _opt(c)
            elif tag == "Initials":
                initials = _opt(c)
            elif tag == "CollectiveName":
                collective = _opt(c)
            elif tag == "AffiliationInfo":
                for x in c:
                    if x.tag == "Affiliation":
                        if text := element_text(x):
                            affiliations.append(text)
                        break
            elif tag == "Identifier" and not orcid_seen and c.get("Source") == "ORCID":
                orcid, orcid_seen = _orcid(c), True
        authors.append(
            Author(
                last_name=last,
                fore_name=fore,
                initials=initials,
                collective_name=collective,
                affiliations=tuple(affiliations),
                orcid=orcid,
            )
        )
    return tuple(authors)


def _abstract(abstract: Any) -> tuple[AbstractSection, ...]:
    return tuple(
        AbstractSection(
            text=element_text(t),
            label=t.get("Label") or None,
            nlm_category=t.get("NlmCategory") or None,
        )
        for t in _all(abstract, "AbstractText")
    )


def _ids(id_list: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for i in _all(id_list, "ArticleId"):
        ids.setdefault(i.get("IdType") or "", element_text(i))
    return ids


def _elocations(elocs: list[Any]) -> list[tuple[str | None, str]]:
    return [(e.get("EIdType"), element_text(e)) for e in elocs if e.get("ValidYN") != "N"]


def _keywords(keyword_lists: list[Any]) -> tuple[Keyword, ...]:
    return tuple(
        Keyword(text, k.get("MajorTopicYN") == "Y")
        for kl in keyword_lists
        for k in kl
        if k.tag == "Keyword" and (text := element_text(k))
    )


def _publication_types(types: list[Any]) -> tuple[PublicationType, ...]:
    return tuple(PublicationType(element_text(p), p.get("UI")) for p in types)


def _history_year(history: Any, status: str) -> int | None:
    for d in _all(history, "PubMedPubDate"):
        if d.get("PubStatus") == status:
            return _year_of(_date(d))
    return None


def _mesh(heading_list: Any) -> tuple[MeshHeading, ...]:
    headings = []
    for h in _all(heading_list, "MeshHeading"):
        descriptor = None
        qualifiers = []
        for c in h:
            if c.tag == "DescriptorName" and descriptor is None:
                descriptor = c
            elif c.tag == "QualifierName":
                qualifiers.append(
                    Qualifier(element_text(c), c.get("UI"), c.get("MajorTopicYN") == "Y")
                )
        if descriptor is None:
            raise _Unreadable("a MeshHeading without DescriptorName")
        headings.append(
            MeshHeading(
                descriptor=element_text(descriptor),
                ui=descriptor.get("UI"),
                major=descriptor.get("MajorTopicYN") == "Y",
                qualifiers=tuple(qualifiers),
            )
        )
    return tuple(headings)


def _chemicals(chemical_list: Any) -> tuple[Chemical, ...]:
    chemicals = []
    for c in _all(chemical_list, "Chemical"):
        parts = _first(c)
        name = parts.get("NameOfSubstance")
        rn = _opt(parts.get("RegistryNumber"))
        chemicals.append(
            Chemical(
                name=element_text(name),
                ui=name.get("UI") if name is not None else None,
                registry_number=rn if rn != "0" else None,  # "0": MEDLINE's "no number"
            )
        )
    return tuple(chemicals)


def _comments(cc_list: Any) -> tuple[CommentCorrection, ...]:
    out = []
    for c in _all(cc_list, "CommentsCorrections"):
        parts = _first(c)
        out.append(
            CommentCorrection(
                ref_type=c.get("RefType") or "",
                pmid=_opt(parts.get("PMID")),
                source=_opt(parts.get("RefSource")),
            )
        )
    return tuple(out)


def _pmid(el: Any) -> str:
    pmid = element_text(el)
    if not pmid:
        raise _Unreadable("no PMID")
    if not pmid.isdigit() or not pmid.isascii():
        raise _Unreadable(f"PMID {one_line(pmid, 40)!r} is not a number")
    return pmid


def _pmid_guess(record: Any) -> str | None:
    """The PMID of a record that failed, from wherever it can be read, for the error."""
    for path in ("MedlineCitation/PMID", "BookDocument/PMID"):
        text = element_text(record.find(path))
        if text.isdigit():
            return text
    for path in ("PubmedData/ArticleIdList/ArticleId", "PubmedBookData/ArticleIdList/ArticleId"):
        for el in record.iterfind(path):
            if el.get("IdType") == "pubmed" and (text := element_text(el)).isdigit():
                return text
    return None


def read_record(record: Any, position: int) -> Article | RecordError:
    try:
        if record.tag == "PubmedBookArticle":
            return _book_to_article(record)
        return _to_article(record)
    except (_Unreadable, ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        reason = str(e) if isinstance(e, _Unreadable) else f"{type(e).__name__}: {e}"
        return RecordError(position, _pmid_guess(record), one_line(reason, 160))


def _to_article(record: Any) -> Article:
    top = _first(record)
    mc = top.get("MedlineCitation")
    if mc is None:
        raise _Unreadable("no MedlineCitation")
    data = _first(top.get("PubmedData"))
    cit = _first(mc)
    pmid = _pmid(cit.get("PMID"))
    art_el = cit.get("Article")
    if art_el is None:
        raise _Unreadable("no Article in its MedlineCitation")

    art, lists = _children(art_el, ("ELocationID", "Language", "ArticleDate"))
    elocs, languages, article_dates = lists["ELocationID"], lists["Language"], lists["ArticleDate"]
    journal = _first(art.get("Journal"))
    issue = _first(journal.get("JournalIssue"))
    pub_date = _date(issue.get("PubDate"))
    info = _first(cit.get("MedlineJournalInfo"))
    ids = _ids(data.get("ArticleIdList"))
    elocations = _elocations(elocs)

    year = _year_of(pub_date)
    if year is None and article_dates:
        year = _year_of(_date(article_dates[0]))
    if year is None:
        year = _history_year(data.get("History"), "pubmed")

    pages, start_page, end_page = _pages(art.get("Pagination"))

    extra = {}
    if "VernacularTitle" in art:
        extra["vernacular_title"] = element_text(art["VernacularTitle"])
    issn_linking = _opt(info.get("ISSNLinking"))
    pub_types = _all(art.get("PublicationTypeList"), "PublicationType")

    return Article(
        pmid=pmid,
        title=element_text(art.get("ArticleTitle")),
        abstract=_abstract(art.get("Abstract")),
        journal_title=_opt(journal.get("Title")),
        iso_abbreviation=_opt(journal.get("ISOAbbreviation")),
        medline_ta=_opt(info.get("MedlineTA")),
        nlm_unique_id=_opt(info.get("NlmUniqueID")),
        issn=_opt(journal.get("ISSN")) or issn_linking,
        issn_linking=issn_linking,
        year=year,
        pub_date=_printed_date(pub_date),
        volume=_opt(issue.get("Volume")),
        issue=_opt(issue.get("Issue")),
        pages=pages,
        start_page=start_page,
        end_page=end_page,
        elocation=elocations[0][1] if elocations else None,
        authors=_authors(art.get("AuthorList")),
        doi=ids.get("doi") or next((v for t, v in elocations if t == "doi"), None),
        pmcid=ids.get("pmc"),
        languages=tuple(element_text(lang) for lang in languages),
        publication_types=_publication_types(pub_types),
        mesh=_mesh(cit.get("MeshHeadingList")),
        keywords=_keywords(_all(mc, "KeywordList")),
        chemicals=_chemicals(cit.get("ChemicalList")),
        comments_corrections=_comments(cit.get("CommentsCorrectionsList")),
        status=mc.get("Status"),
        publication_status=_opt(data.get("PublicationStatus")),
        is_book=False,
        extra=extra,
        date_revised=_iso_date(_date(cit.get("DateRevised"))),
    )


def _author_list(lists: list[Any]) -> Any:
    """The AuthorList of authors among a book's AuthorLists (books also list editors)."""
    for author_list in lists:
        if author_list.get("Type") in (None, "authors"):
            return author_list
    return None


def _book_to_article(record: Any) -> Article:
    top = _first(record)
    doc_el = top.get("BookDocument")
    if doc_el is None:
        raise _Unreadable("no BookDocument")
    doc, lists = _children(doc_el, ("AuthorList", "Language", "KeywordList", "PublicationType"))
    author_lists, languages = lists["AuthorList"], lists["Language"]
    keyword_lists, pub_types = lists["KeywordList"], lists["PublicationType"]
    pmid = _pmid(doc.get("PMID"))
    book_el = doc.get("Book")
    book = _first(book_el)
    data = _first(top.get("PubmedBookData"))
    ids = {**_ids(data.get("ArticleIdList")), **_ids(doc.get("ArticleIdList"))}
    elocations = _elocations(_all(book_el, "ELocationID"))
    book_title = element_text(book.get("BookTitle"))
    # A chapter (a GeneReviews entry) has its own title; a whole book only the book's.
    title = element_text(doc.get("ArticleTitle")) or book_title

    authors = _author_list(author_lists)
    if authors is None or not len(authors):
        authors = _author_list(_all(book_el, "AuthorList"))
    pub_date = _date(book.get("PubDate"))
    year = _year_of(pub_date)
    if year is None:
        year = _history_year(data.get("History"), "pubmed")
    pages, start_page, end_page = _pages(doc.get("Pagination"))

    extra: dict[str, Any] = {"book_title": book_title}
    publisher = _first(book.get("Publisher")).get("PublisherName")
    if publisher is not None:
        extra["publisher"] = element_text(publisher)
    isbns = _all(book_el, "Isbn")
    if isbns:
        extra["isbn"] = [element_text(i) for i in isbns]
    if "bookaccession" in ids:
        extra["book_accession"] = ids["bookaccession"]

    return Article(
        pmid=pmid,
        title=title,
        abstract=_abstract(doc.get("Abstract")),
        year=year,
        pub_date=_printed_date(pub_date),
        volume=_opt(book.get("Volume")),
        pages=pages,
        start_page=start_page,
        end_page=end_page,
        elocation=elocations[0][1] if elocations else None,
        authors=_authors(authors),
        doi=ids.get("doi") or next((v for t, v in elocations if t == "doi"), None),
        pmcid=ids.get("pmc"),
        languages=tuple(element_text(lang) for lang in languages),
        publication_types=_publication_types(pub_types),
        keywords=_keywords(keyword_lists),
        publication_status=_opt(data.get("PublicationStatus")),
        is_book=True,
        extra=extra,
        date_revised=_iso_date(_date(doc.get("DateRevised"))),
    )
