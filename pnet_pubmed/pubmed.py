"""PubMed EFetch XML to Article values, read offline with Bio.Entrez's DTD-aware parser."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlparse
from xml.parsers import expat
from xml.sax.saxutils import unescape

from Bio.Entrez.Parser import DataHandler, ListElement

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

__all__ = [
    "PubmedXMLError",
    "article_from_dict",
    "article_to_dict",
    "iter_articles",
    "parse_articles",
    "validate_pubmed_xml",
]

ROOT = "PubmedArticleSet"
_RECORD_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
# Real answers never need more; a longer prolog is not something NCBI sends.
_HEAD_LIMIT = 64 * 1024
_CHUNK = 64 * 1024


class PubmedXMLError(ValueError):
    """The data is not a complete, well-formed PubmedArticleSet (one-line message)."""


# --------------------------------------------------------------------------- reading the XML


_PROLOG = re.compile(
    rb"""
    (?P<bom>\xef\xbb\xbf)?
    (?P<decl><\?xml[ \t\r\n][^>]*\?>)?
    (?:\s+|<!--.*?-->|<\?.*?\?>)*
    (?P<doctype><!DOCTYPE\s+(?P<dtname>[^\s>\[]+)(?P<dtid>[^>\[]*)(?:\[.*?\]\s*)?>)?
    (?:\s+|<!--.*?-->|<\?.*?\?>)*
    (?P<root><(?P<rootname>[^\s/>!?<]+)(?:\s[^<>]*)?>)
    """,
    re.S | re.X,
)
_SYSTEM_ID = re.compile(rb"""["']([^"']*)["']\s*$""")
_PUBMED_DTD = re.compile(r"pubmed_(\d{6})\.dtd")


def _dtd_available(filename: str) -> bool:
    # The same two places Bio.Entrez looks before it would go to the network.
    dirs = [DataHandler.local_dtd_dir, DataHandler.global_dtd_dir]
    return any(d and os.path.isfile(os.path.join(d, filename)) for d in dirs)


def _newest_pubmed_dtd() -> str:
    names = sorted(n for n in os.listdir(DataHandler.global_dtd_dir) if _PUBMED_DTD.fullmatch(n))
    if not names:
        raise PubmedXMLError("Biopython ships no pubmed_*.dtd; cannot read PubMed XML offline")
    return names[-1]


def _doctype(dtd: str) -> bytes:
    return (
        f'<!DOCTYPE {ROOT} PUBLIC "-//NLM//DTD PubMedArticle//EN" '
        f'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/{dtd}">'
    ).encode()


def _one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _describe_junk(head: bytes) -> str:
    """Why a body with no recognisable XML prolog and root was refused."""
    if not head.strip():
        return "empty body, not PubMed XML"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "an HTML page, not PubMed XML"
    if not start.startswith(b"<"):
        return f"not XML (starts with {_one_line(start[:40].decode('utf-8', 'replace'))!r})"
    return "truncated or malformed XML: no complete root element"


def _prepare_head(head: bytes) -> tuple[bytes, bool]:
    """Check the prolog and root of a PubmedArticleSet and make it readable by Bio.Entrez offline.

    Returns the head to parse instead and whether to validate against the DTD. Bio.Entrez needs an
    XML declaration and a DOCTYPE naming a DTD it has; without one it refuses the data, and with an
    unknown one it would download it. A missing DOCTYPE (records saved by other tools lack it) or a
    DTD Biopython does not ship (a newer NCBI release) is replaced by the newest shipped PubMed DTD,
    read without validation, since the data was not written against that DTD.
    """
    m = _PROLOG.match(head)
    if m is None:
        raise PubmedXMLError(_describe_junk(head))
    rootname = m["rootname"].decode("utf-8", "replace")
    if rootname != ROOT:
        if rootname.lower() == "html":
            raise PubmedXMLError("an HTML page, not PubMed XML")
        raise PubmedXMLError(f"root element is <{_one_line(rootname, 60)}>, not <{ROOT}>")
    validate = True
    doctype = None  # replacement DOCTYPE, if any
    if m["doctype"] is None:
        doctype, validate = _doctype(_newest_pubmed_dtd()), False
    else:
        if m["dtname"] != ROOT.encode():
            raise PubmedXMLError(f"DOCTYPE names {m['dtname'].decode('utf-8', 'replace')!r}")
        sid = _SYSTEM_ID.search(m["dtid"])
        filename = os.path.basename(urlparse(sid[1].decode("utf-8", "replace")).path) if sid else ""
        if not filename or not _dtd_available(filename):
            fallback = _newest_pubmed_dtd()
            warnings.warn(
                f"PubMed DTD {filename or '(none)'!r} is not shipped with this Biopython; "
                f"reading with {fallback} without validation",
                stacklevel=3,
            )
            doctype, validate = _doctype(fallback), False
    # Insertions add no line breaks, so expat's line numbers still point into the original.
    if doctype is not None:
        if m["doctype"] is not None:
            head = head[: m.start("doctype")] + doctype + head[m.end("doctype") :]
        else:
            head = head[: m.start("root")] + doctype + head[m.start("root") :]
    if m["decl"] is None:
        # Bio.Entrez only starts handling elements after an XML declaration.
        bom = len(m["bom"] or b"")
        head = b'<?xml version="1.0" encoding="UTF-8"?>' + head[bom:]
    return head, validate


class _Feed:
    """The input as Bio.Entrez reads it: the prepared head, then the rest of the stream.

    A plain expat parser checks every byte for well-formedness on the way and is finalised at the
    end, so a truncated or corrupted answer raises instead of ending a record list early, whatever
    Bio.Entrez's own end-of-data checks do.
    """

    def __init__(self, head: bytes, rest: BinaryIO | None, checked: bool = False) -> None:
        self._head = head
        self._rest = rest
        self._check = None if checked else expat.ParserCreate()
        self._finished = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._head:
            # All of it at once: Bio.Entrez gives up unless its first read takes it past the
            # root's start tag, which the head always holds.
            chunk, self._head = self._head, b""
        elif self._rest is not None:
            chunk = self._rest.read(size if size and size > 0 else -1)
            if not isinstance(chunk, bytes):
                raise TypeError("iter_articles needs a binary stream")
        else:
            chunk = b""
        if self._check is not None:
            try:
                if chunk:
                    self._check.Parse(chunk, False)
                elif not self._finished:
                    self._finished = True
                    self._check.Parse(b"", True)
            except expat.ExpatError as e:
                raise PubmedXMLError(f"truncated or malformed XML: {_one_line(e)}") from None
        return chunk


def _check_well_formed(data: bytes) -> None:
    try:
        expat.ParserCreate().Parse(data, True)
    except expat.ExpatError as e:
        raise PubmedXMLError(f"truncated or malformed XML: {_one_line(e)}") from None


class _OfflineError(Exception):
    """Bio.Entrez would have gone to the network for a DTD or schema."""


class _Handler(DataHandler):
    """Bio.Entrez's DataHandler that reads a PubmedArticleSet as a list and never downloads."""

    def __init__(self, validate: bool) -> None:
        # escape=True: inline markup (<i>, <sup>, MathML) arrives as raw tags among escaped text,
        # so tags can be told apart from a literal "<" in the text and removed without loss.
        super().__init__(validate=validate, escape=True, ignore_errors=False)

    def elementDecl(self, name, model):  # noqa: N802 (Bio.Entrez's name)
        super().elementDecl(name, model)
        if name == ROOT:
            # The DTD makes the set a dict of lists (articles apart from books), which loses their
            # order and which Bio.Entrez cannot stream; as a list it keeps both.
            allowed = _RECORD_TAGS | {"DeleteCitation"}
            self.constructors[name] = (ListElement, (allowed,))

    def externalEntityRefHandler(self, context, base, systemId, publicId):  # noqa: N802, N803
        # Bio.Entrez looks the file up by its base name and downloads it when missing: refuse.
        filename = os.path.basename(urlparse(systemId or "").path)
        handle = self.open_dtd_file(filename) if filename else None
        if handle is None:
            raise _OfflineError(f"DTD file {filename!r} is not available offline")
        handle.close()
        return super().externalEntityRefHandler(context, base, systemId, publicId)

    def schemaHandler(self, name, attrs):  # noqa: N802
        # An xsi: namespace would make Bio.Entrez fetch an XML Schema; PubMed XML has none.
        raise _OfflineError("XML Schema reference in PubMed XML")


# Bio.Entrez and expat signal bad input with all of these (NotXMLError, CorruptedXMLError and
# ValidationError are ValueErrors; RuntimeError and AssertionError come from its sanity checks).
_BIO_ERRORS = (
    expat.ExpatError,
    ValueError,
    RuntimeError,
    AssertionError,
    LookupError,
    AttributeError,
    TypeError,
    _OfflineError,
)


def _open(stream: BinaryIO) -> tuple[_Feed, bool]:
    probe = stream.read(0)
    if not isinstance(probe, bytes):
        raise TypeError("PubMed XML must be read from a binary stream")
    head = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not isinstance(chunk, bytes):
            raise TypeError("PubMed XML must be read from a binary stream")
        head += chunk
        # Stop as soon as the root's start tag is in; bounded so junk cannot make us buffer it all.
        if not chunk or len(head) >= _HEAD_LIMIT or _PROLOG.match(head):
            break
    prepared, validate = _prepare_head(head)
    return _Feed(prepared, stream), validate


def _records(feed: _Feed, validate: bool) -> Iterator[Any]:
    records = _Handler(validate).parse(feed)
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except PubmedXMLError:
            raise
        except _BIO_ERRORS as e:
            raise PubmedXMLError(f"not a valid {ROOT}: {_one_line(e)}") from e
        if getattr(record, "tag", None) in _RECORD_TAGS:
            yield record  # DeleteCitation entries (only in bulk files) are not records


def iter_articles(stream: BinaryIO) -> Iterator[Article]:
    """Articles of an EFetch answer one by one, for answers too big to hold.

    Records come out as they are read, so a broken stream raises PubmedXMLError only when the
    reader gets to the break; callers that must refuse bad answers whole use parse_articles.
    """
    feed, validate = _open(stream)
    for record in _records(feed, validate):
        yield _to_article(record)


def parse_articles(data: bytes | BinaryIO) -> list[Article]:
    """All articles of an EFetch answer, in document order; PubmedXMLError for anything broken."""
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
    else:
        data = data.read()
        if not isinstance(data, bytes):
            raise TypeError("PubMed XML must be read from a binary stream")
    head, validate = _prepare_head(data[:_HEAD_LIMIT])
    data = head + data[_HEAD_LIMIT:]
    # A plain expat pass costs little next to Bio.Entrez loading the DTD, and refuses a broken
    # answer before that work and whatever Bio.Entrez's own end-of-data checks do.
    _check_well_formed(data)
    feed = _Feed(data, None, checked=True)
    return [_to_article(r) for r in _records(feed, validate)]


def validate_pubmed_xml(data: bytes) -> int:
    """Number of records in a complete PubmedArticleSet, or PubmedXMLError."""
    return len(parse_articles(data))


# --------------------------------------------------------------------------- records to values

# Tags as Bio.Entrez writes inline markup back into text (escape=True keeps text "<" as "&lt;").
_TAG = re.compile(r"""<(?:[^<>"']|"[^"]*"|'[^']*')*>""")
_BLANKS = re.compile(r"[ \t\r\n]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ORCID = re.compile(r"(\d{4}-?\d{4}-?\d{4}-?\d{3}[\dXx])\s*$")
_PAGE = re.compile(r"^([^\d]*)(\d+)([^\d]*)$")


def _text(value: Any) -> str:
    """All the text of an element: inline markup dropped, runs of blanks made one space, stripped.

    Only the layout whitespace of pretty-printed XML (MathML spread over lines) is collapsed;
    typographic spaces such as U+2003, which some abstracts use after a label, are kept.
    """
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
    """A PubDate as PubMed prints it: "2011 Feb 10", "2008 Summer", "1998 Dec-1999 Jan"."""
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


def _pages(pagination: dict) -> tuple[str | None, str | None, str | None]:
    """MedlinePgn with its first and last page; derived from MedlinePgn when not given."""
    pages = _opt(pagination.get("MedlinePgn"))
    if pagination.get("StartPage") is not None:
        return pages, _opt(pagination["StartPage"]), _opt(pagination.get("EndPage"))
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
            continue  # a misspelt name NLM keeps only for searching
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
    """The AuthorList of authors among a record's AuthorLists (books also list editors)."""
    if lists is None:
        return None
    if isinstance(lists, ListElement) and lists.tag == "AuthorList":
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


def _to_article(record: Any) -> Article:
    if record.tag == "PubmedBookArticle":
        return _book_to_article(record)
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
                # "0" is how MEDLINE writes "no registry number"
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
    )


def _book_to_article(record: Any) -> Article:
    doc = record["BookDocument"]
    book = doc.get("Book") or {}
    data = record.get("PubmedBookData") or {}
    ids = {**_ids(data.get("ArticleIdList")), **_ids(doc.get("ArticleIdList"))}
    elocs = _elocations(book.get("ELocationID"))
    pagination = doc.get("Pagination") or {}
    book_title = _text(book.get("BookTitle"))
    # A chapter (a GeneReviews entry) has its own title; a whole book only the book's.
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
    )


# --------------------------------------------------------------------------- dict form


def article_to_dict(article: Article) -> dict[str, Any]:
    """A JSON-ready dict of an Article; article_from_dict reads it back to an equal Article."""
    a = article
    return {
        "pmid": a.pmid,
        "title": a.title,
        "abstract": a.abstract_text,
        "abstract_sections": [
            {"label": s.label, "nlm_category": s.nlm_category, "text": s.text} for s in a.abstract
        ],
        "journal": {
            "title": a.journal_title,
            "iso_abbreviation": a.iso_abbreviation,
            "medline_ta": a.medline_ta,
            "nlm_unique_id": a.nlm_unique_id,
            "issn": a.issn,
            "issn_linking": a.issn_linking,
        },
        "year": a.year,
        "pub_date": a.pub_date,
        "volume": a.volume,
        "issue": a.issue,
        "pages": a.pages,
        "start_page": a.start_page,
        "end_page": a.end_page,
        "elocation": a.elocation,
        "authors": [
            {
                "last_name": au.last_name,
                "fore_name": au.fore_name,
                "initials": au.initials,
                "collective_name": au.collective_name,
                "affiliations": list(au.affiliations),
                "orcid": au.orcid,
            }
            for au in a.authors
        ],
        "doi": a.doi,
        "pmcid": a.pmcid,
        "languages": list(a.languages),
        "publication_types": [p.name for p in a.publication_types],
        # Parallel to publication_types, which stays a plain list of names for its readers.
        "publication_type_uis": [p.ui for p in a.publication_types],
        "mesh": [
            {
                "descriptor": m.descriptor,
                "ui": m.ui,
                "major": m.major,
                "qualifiers": [
                    {"name": q.name, "ui": q.ui, "major": q.major} for q in m.qualifiers
                ],
            }
            for m in a.mesh
        ],
        "keywords": [{"text": k.text, "major": k.major} for k in a.keywords],
        "chemicals": [
            {"name": c.name, "ui": c.ui, "registry_number": c.registry_number} for c in a.chemicals
        ],
        "comments_corrections": [
            {"ref_type": c.ref_type, "pmid": c.pmid, "source": c.source}
            for c in a.comments_corrections
        ],
        "status": a.status,
        "publication_status": a.publication_status,
        "is_book": a.is_book,
        "extra": dict(a.extra),
    }


def article_from_dict(d: dict[str, Any]) -> Article:
    """The Article of an article_to_dict dict; missing keys take the Article defaults."""
    journal = d.get("journal") or {}
    names = d.get("publication_types") or []
    uis = d.get("publication_type_uis") or []
    pub_types = []
    for i, p in enumerate(names):
        if isinstance(p, dict):
            pub_types.append(PublicationType(p["name"], p.get("ui")))
        else:
            pub_types.append(PublicationType(p, uis[i] if i < len(uis) else None))
    return Article(
        pmid=str(d["pmid"]),
        title=d.get("title") or "",
        abstract=tuple(
            AbstractSection(s["text"], s.get("label"), s.get("nlm_category"))
            for s in d.get("abstract_sections") or ()
        ),
        journal_title=journal.get("title"),
        iso_abbreviation=journal.get("iso_abbreviation"),
        medline_ta=journal.get("medline_ta"),
        nlm_unique_id=journal.get("nlm_unique_id"),
        issn=journal.get("issn"),
        issn_linking=journal.get("issn_linking"),
        year=d.get("year"),
        pub_date=d.get("pub_date"),
        volume=d.get("volume"),
        issue=d.get("issue"),
        pages=d.get("pages"),
        start_page=d.get("start_page"),
        end_page=d.get("end_page"),
        elocation=d.get("elocation"),
        authors=tuple(
            Author(
                last_name=au.get("last_name"),
                fore_name=au.get("fore_name"),
                initials=au.get("initials"),
                collective_name=au.get("collective_name"),
                affiliations=tuple(au.get("affiliations") or ()),
                orcid=au.get("orcid"),
            )
            for au in d.get("authors") or ()
        ),
        doi=d.get("doi"),
        pmcid=d.get("pmcid"),
        languages=tuple(d.get("languages") or ()),
        publication_types=tuple(pub_types),
        mesh=tuple(
            MeshHeading(
                descriptor=m["descriptor"],
                ui=m.get("ui"),
                major=bool(m.get("major")),
                qualifiers=tuple(
                    Qualifier(q["name"], q.get("ui"), bool(q.get("major")))
                    for q in m.get("qualifiers") or ()
                ),
            )
            for m in d.get("mesh") or ()
        ),
        keywords=tuple(
            Keyword(k) if isinstance(k, str) else Keyword(k["text"], bool(k.get("major")))
            for k in d.get("keywords") or ()
        ),
        chemicals=tuple(
            Chemical(c["name"], c.get("ui"), c.get("registry_number"))
            for c in d.get("chemicals") or ()
        ),
        comments_corrections=tuple(
            CommentCorrection(c["ref_type"], c.get("pmid"), c.get("source"))
            for c in d.get("comments_corrections") or ()
        ),
        status=d.get("status"),
        publication_status=d.get("publication_status"),
        is_book=bool(d.get("is_book")),
        extra=dict(d.get("extra") or {}),
    )
