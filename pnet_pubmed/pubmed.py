"""PubMed XML to Article values: EFetch answers and NLM baseline/update files, streamed with lxml.

One reader for both: a `PubmedArticleSet` of `PubmedArticle` and `PubmedBookArticle` records, and
the `DeleteCitation` list of update files. The document is read in chunks with lxml's pull parser
and each record is freed once converted, so memory stays flat whatever the file size.

What is guaranteed:
- A document that is not well-formed (a truncated answer, a cut .gz, bytes that are not UTF-8) is
  a PubmedXMLError for the whole document, with a one-line message.
- Inside a well-formed document, elements and attributes this module does not know are skipped:
  NCBI adds to its DTD over time. A record that still cannot be read (no PMID, a MeSH heading
  without its descriptor, ...) becomes a RecordError naming it; every other record is returned.
- Nothing is loaded from outside: no DTD, no external entity, no network; a DOCTYPE with an
  internal subset (where entities would be declared) is refused, and lxml is told not to resolve
  entities anyway. Size limits for answers from the network are entrez.py's.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

from pnet_pubmed.article_dict import article_from_dict, article_to_dict
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
    "Deletion",
    "PubmedRecords",
    "PubmedXMLError",
    "RecordError",
    "article_from_dict",
    "article_to_dict",
    "iter_articles",
    "iter_records",
    "parse_articles",
    "parse_records",
    "validate_pubmed_xml",
]

ROOT = "PubmedArticleSet"
_RECORD_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_EVENT_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation", "ERROR")
# Real answers never need more before the root's start tag; junk is not buffered beyond it.
_HEAD_LIMIT = 64 * 1024
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class PubmedXMLError(ValueError):
    """The data is not a complete, well-formed PubmedArticleSet (one-line message)."""


@dataclass(frozen=True)
class Deletion:
    """A PMID of an update file's DeleteCitation list: NLM withdrew the record."""

    pmid: str


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


@dataclass
class PubmedRecords:
    """Everything a whole document holds, in document order within each list."""

    articles: list[Article] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def pmids(self) -> set[str]:
        """Every PMID the document's records carry, readable or not (deletions aside)."""
        return {a.pmid for a in self.articles} | {e.pmid for e in self.errors if e.pmid}


# What the readers take: an answer's bytes, a binary stream, or a file's path.
Source = bytes | bytearray | memoryview | BinaryIO | str | os.PathLike


class _Unreadable(ValueError):
    """Raised inside one record's conversion: the record becomes a RecordError."""


def _one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --------------------------------------------------------------------------- the document

_PROLOG = re.compile(
    rb"""
    (?P<bom>\xef\xbb\xbf)?
    (?P<decl><\?xml[ \t\r\n][^>]*\?>)?
    (?:\s+|<!--.*?-->|<\?.*?\?>)*
    (?P<doctype><!DOCTYPE\s+(?P<dtname>[^\s>\[]+)[^>\[]*(?:\[(?P<subset>.*?)\]\s*)?>)?
    (?:\s+|<!--.*?-->|<\?.*?\?>)*
    (?P<root><(?P<rootname>[^\s/>!?<]+)(?P<rootattrs>\s[^<>]*)?>)
    """,
    re.S | re.X,
)
_NAMESPACE = re.compile(rb"\sxmlns\s*=")
_SCHEMA = re.compile(rb"schemaLocation\s*=", re.I)


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


def _check_head(head: bytes) -> None:
    """The prolog and root start tag must be a PubmedArticleSet's, with nothing to load."""
    m = _PROLOG.match(head)
    if m is None:
        raise PubmedXMLError(_describe_junk(head))
    rootname = m["rootname"].decode("utf-8", "replace")
    if rootname != ROOT:
        if rootname.lower() == "html":
            raise PubmedXMLError("an HTML page, not PubMed XML")
        raise PubmedXMLError(f"root element is <{_one_line(rootname, 60)}>, not <{ROOT}>")
    if m["doctype"] is not None:
        if m["dtname"] != ROOT.encode():
            raise PubmedXMLError(f"DOCTYPE names {m['dtname'].decode('utf-8', 'replace')!r}")
        if m["subset"] is not None and m["subset"].strip():
            subset = _one_line(m["subset"].decode("utf-8", "replace"), 160)
            raise PubmedXMLError(
                f"DOCTYPE with an internal subset refused (PubMed XML has none): {subset}"
            )
    attrs = m["rootattrs"] or b""
    if _NAMESPACE.search(attrs):
        raise PubmedXMLError(f"<{ROOT}> in an XML namespace: not PubMed XML")
    if _SCHEMA.search(attrs):
        raise PubmedXMLError(f"<{ROOT}> refers to an XML Schema; PubMed XML has none")


def _raw_chunks(source: Any) -> Iterator[bytes]:
    """The bytes of a source: bytes as given, a binary stream or a file read in chunks."""
    if isinstance(source, bytes | bytearray | memoryview):
        # In pieces: libxml2 refuses to take more than 10 MB in one go (without huge_tree).
        view = memoryview(source).cast("B")
        for start in range(0, len(view), _CHUNK):
            yield bytes(view[start : start + _CHUNK])
        return
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            yield from _raw_chunks(f)
        return
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError("PubMed XML must be bytes, a binary stream or a path")
    while True:
        chunk = read(_CHUNK)
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("PubMed XML must be read from a binary stream")
        if not chunk:
            return
        yield bytes(chunk)


def _gunzip(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """Decompressed chunks of a gzip stream (several members allowed), at most _CHUNK each."""
    d = zlib.decompressobj(wbits=31)
    pending = first
    try:
        while True:
            while pending:
                out = d.decompress(pending, _CHUNK)
                pending = d.unconsumed_tail
                if d.eof:
                    pending = d.unused_data + pending
                    if pending.strip(b"\x00"):
                        d = zlib.decompressobj(wbits=31)  # the next member
                    else:
                        pending = b""
                if out:
                    yield out
            pending = next(rest, b"")
            if not pending:
                break
    except zlib.error as e:
        raise PubmedXMLError(f"corrupt gzip data: {_one_line(e)}") from None
    if not d.eof:
        raise PubmedXMLError("truncated gzip data: the compressed stream ends too early")


def _chunks(source: Any, gunzip: bool) -> Iterator[bytes]:
    raw = _raw_chunks(source)
    first = next(raw, b"")
    if gunzip and first.startswith(_GZIP_MAGIC):
        return _gunzip(first, raw)

    def plain() -> Iterator[bytes]:
        yield first
        yield from raw

    return plain()


def _parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        events=("end",),
        tag=_EVENT_TAGS,
        resolve_entities=False,  # no entity is ever expanded: no XXE, no entity bombs
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,  # libxml2's limits on one text node and on depth stay in force
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _syntax_error(e: etree.XMLSyntaxError) -> PubmedXMLError:
    return PubmedXMLError(f"truncated or malformed XML: {_one_line(e.msg or e)}")


def iter_records(source: Source) -> Iterator[Article | Deletion | RecordError]:
    """Every record of a PubmedArticleSet as it is read: Article, RecordError or Deletion.

    source is an EFetch answer (bytes), or a binary stream or a path of an NLM baseline or update
    file, plain or gzip-compressed (recognised by its content, whatever the name). Records come out
    in document order; a document that breaks raises PubmedXMLError when the reader gets to the
    break, after the records before it. Bytes are never decompressed: an answer from the network
    is already decoded, within entrez.py's limits.
    """
    chunks = _chunks(source, gunzip=not isinstance(source, bytes | bytearray | memoryview))
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= _HEAD_LIMIT or _PROLOG.match(head, 0, _HEAD_LIMIT):
            break
    _check_head(head[:_HEAD_LIMIT])  # the regex never runs over more than the head
    parser = _parser()
    state = _State()
    data = head
    # On a syntax error, the events of the failing call are dropped unread: libxml2 closes the
    # elements still open when it stops, which would pass a cut-off record as a whole one.
    try:
        while data:
            try:
                parser.feed(data)
            except etree.XMLSyntaxError as e:
                raise _syntax_error(e) from None
            yield from state.drain(parser)
            data = next(chunks, b"")
        try:
            parser.close()
        except etree.XMLSyntaxError as e:
            raise _syntax_error(e) from None
        yield from state.drain(parser)
    finally:
        chunks.close()


class _State:
    """Records seen so far, for positions; frees each record once it is converted."""

    def __init__(self) -> None:
        self.position = 0

    def drain(self, parser: etree.XMLPullParser) -> Iterator[Article | Deletion | RecordError]:
        for _event, el in parser.read_events():
            parent = el.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # only children of the root are records
            tag = el.tag
            if tag in _RECORD_TAGS:
                self.position += 1
                item = _read_record(el, self.position)
            elif tag == "DeleteCitation":
                items = [Deletion(p) for c in el if c.tag == "PMID" and (p := _text(c))]
            else:  # <ERROR>: NCBI's way of saying the answer is not the records asked for
                raise PubmedXMLError(f"NCBI reported an error: {_one_line(_text(el), 160)}")
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del parent[0]
            if tag == "DeleteCitation":
                yield from items
            else:
                yield item


def parse_records(source: Source) -> PubmedRecords:
    """All records of a complete document; PubmedXMLError (and nothing else) if it is broken."""
    out = PubmedRecords()
    for item in iter_records(source):
        if isinstance(item, Article):
            out.articles.append(item)
        elif isinstance(item, RecordError):
            out.errors.append(item)
        else:
            out.deleted.append(item.pmid)
    return out


def iter_articles(source: Source) -> Iterator[Article]:
    """The Articles of a document as they are read; unreadable records and deletions left out."""
    for item in iter_records(source):
        if isinstance(item, Article):
            yield item


def parse_articles(source: Source) -> list[Article]:
    """The Articles of a complete document, in document order; PubmedXMLError if it is broken.

    Records that cannot be read are left out; parse_records names them.
    """
    return parse_records(source).articles


def validate_pubmed_xml(data: bytes) -> int:
    """Number of records (readable or not) in a complete PubmedArticleSet, or PubmedXMLError."""
    records = parse_records(data)
    return len(records.articles) + len(records.errors)


# --------------------------------------------------------------------------- one record

_BLANKS = re.compile(r"[ \t\r\n]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.lower(): i for i, m in enumerate(_MONTHS, 1)}
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ORCID = re.compile(r"(\d{4}-?\d{4}-?\d{4}-?\d{3}[\dXx])\s*$")
_PAGE = re.compile(r"^([^\d]*)(\d+)([^\d]*)$")


def _text(el: Any) -> str:
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
    return _text(el) or None


def _first(el: Any) -> dict[str, Any]:
    """The first child of each tag."""
    return {} if el is None else {child.tag: child for child in reversed(el)}


def _all(el: Any, tag: str) -> list[Any]:
    return [] if el is None else [c for c in el if c.tag == tag]


def _date(el: Any) -> dict[str, str]:
    """A date element's parts as texts: Year, Month, Day, Season, MedlineDate."""
    return {} if el is None else {c.tag: _text(c) for c in el}


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
    text = _text(el)
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
                        if text := _text(x):
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
            text=_text(t),
            label=t.get("Label") or None,
            nlm_category=t.get("NlmCategory") or None,
        )
        for t in _all(abstract, "AbstractText")
    )


def _ids(id_list: Any) -> dict[str, str]:
    ids: dict[str, str] = {}
    for i in _all(id_list, "ArticleId"):
        ids.setdefault(i.get("IdType") or "", _text(i))
    return ids


def _elocations(elocs: list[Any]) -> list[tuple[str | None, str]]:
    return [(e.get("EIdType"), _text(e)) for e in elocs if e.get("ValidYN") != "N"]


def _keywords(keyword_lists: list[Any]) -> tuple[Keyword, ...]:
    return tuple(
        Keyword(text, k.get("MajorTopicYN") == "Y")
        for kl in keyword_lists
        for k in kl
        if k.tag == "Keyword" and (text := _text(k))
    )


def _publication_types(types: list[Any]) -> tuple[PublicationType, ...]:
    return tuple(PublicationType(_text(p), p.get("UI")) for p in types)


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
                qualifiers.append(Qualifier(_text(c), c.get("UI"), c.get("MajorTopicYN") == "Y"))
        if descriptor is None:
            raise _Unreadable("a MeshHeading without DescriptorName")
        headings.append(
            MeshHeading(
                descriptor=_text(descriptor),
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
                name=_text(name),
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
    pmid = _text(el)
    if not pmid:
        raise _Unreadable("no PMID")
    if not pmid.isdigit() or not pmid.isascii():
        raise _Unreadable(f"PMID {_one_line(pmid, 40)!r} is not a number")
    return pmid


def _pmid_guess(record: Any) -> str | None:
    """The PMID of a record that failed, from wherever it can be read, for the error."""
    for path in ("MedlineCitation/PMID", "BookDocument/PMID"):
        text = _text(record.find(path))
        if text.isdigit():
            return text
    for path in ("PubmedData/ArticleIdList/ArticleId", "PubmedBookData/ArticleIdList/ArticleId"):
        for el in record.iterfind(path):
            if el.get("IdType") == "pubmed" and (text := _text(el)).isdigit():
                return text
    return None


def _read_record(record: Any, position: int) -> Article | RecordError:
    try:
        if record.tag == "PubmedBookArticle":
            return _book_to_article(record)
        return _to_article(record)
    except (_Unreadable, ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        reason = str(e) if isinstance(e, _Unreadable) else f"{type(e).__name__}: {e}"
        return RecordError(position, _pmid_guess(record), _one_line(reason, 160))


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

    art: dict[str, Any] = {}
    elocs, languages, article_dates = [], [], []
    for c in art_el:
        tag = c.tag
        if tag == "ELocationID":
            elocs.append(c)
        elif tag == "Language":
            languages.append(c)
        elif tag == "ArticleDate":
            article_dates.append(c)
        else:
            art.setdefault(tag, c)
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
        extra["vernacular_title"] = _text(art["VernacularTitle"])
    issn_linking = _opt(info.get("ISSNLinking"))
    pub_types = _all(art.get("PublicationTypeList"), "PublicationType")

    return Article(
        pmid=pmid,
        title=_text(art.get("ArticleTitle")),
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
        languages=tuple(_text(lang) for lang in languages),
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
    doc: dict[str, Any] = {}
    author_lists, languages, keyword_lists, pub_types = [], [], [], []
    for c in doc_el:
        tag = c.tag
        if tag == "AuthorList":
            author_lists.append(c)
        elif tag == "Language":
            languages.append(c)
        elif tag == "KeywordList":
            keyword_lists.append(c)
        elif tag == "PublicationType":
            pub_types.append(c)
        else:
            doc.setdefault(tag, c)
    pmid = _pmid(doc.get("PMID"))
    book_el = doc.get("Book")
    book = _first(book_el)
    data = _first(top.get("PubmedBookData"))
    ids = {**_ids(data.get("ArticleIdList")), **_ids(doc.get("ArticleIdList"))}
    elocations = _elocations(_all(book_el, "ELocationID"))
    book_title = _text(book.get("BookTitle"))
    # A chapter (a GeneReviews entry) has its own title; a whole book only the book's.
    title = _text(doc.get("ArticleTitle")) or book_title

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
        extra["publisher"] = _text(publisher)
    isbns = _all(book_el, "Isbn")
    if isbns:
        extra["isbn"] = [_text(i) for i in isbns]
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
        languages=tuple(_text(lang) for lang in languages),
        publication_types=_publication_types(pub_types),
        keywords=_keywords(keyword_lists),
        publication_status=_opt(data.get("PublicationStatus")),
        is_book=True,
        extra=extra,
        date_revised=_iso_date(_date(doc.get("DateRevised"))),
    )
