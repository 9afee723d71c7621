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
  entities anyway. Size limits for answers from the network are eutils'.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from lxml import etree

from pnet_pubmed.article_dict import article_from_dict, article_to_dict
from pnet_pubmed.pubmed_record import (
    RecordError,
    _page_range,  # noqa: F401  (tests read it from here)
    element_text,
    one_line,
    read_record,
)
from pnet_pubmed.util import chunked
from pnet_pubmed.values import Article

from .errors import PnetPubmedError

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


class PubmedXMLError(PnetPubmedError, ValueError):
    """The data is not a complete, well-formed PubmedArticleSet (one-line message)."""


@dataclass(frozen=True)
class Deletion:
    """A PMID of an update file's DeleteCitation list: NLM withdrew the record."""

    pmid: str


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
        return f"not XML (starts with {one_line(start[:40].decode('utf-8', 'replace'))!r})"
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
        raise PubmedXMLError(f"root element is <{one_line(rootname, 60)}>, not <{ROOT}>")
    if m["doctype"] is not None:
        if m["dtname"] != ROOT.encode():
            raise PubmedXMLError(f"DOCTYPE names {m['dtname'].decode('utf-8', 'replace')!r}")
        if m["subset"] is not None and m["subset"].strip():
            subset = one_line(m["subset"].decode("utf-8", "replace"), 160)
            raise PubmedXMLError(
                f"DOCTYPE with an internal subset refused (PubMed XML has none): {subset}"
            )
    attrs = m["rootattrs"] or b""
    if _NAMESPACE.search(attrs):
        raise PubmedXMLError(f"<{ROOT}> in an XML namespace: not PubMed XML")
    if _SCHEMA.search(attrs):
        raise PubmedXMLError(f"<{ROOT}> refers to an XML Schema; PubMed XML has none")


def _raw_chunks(source: Any) -> Generator[bytes, None, None]:
    """The bytes of a source: bytes as given, a binary stream or a file read in chunks."""
    if isinstance(source, bytes | bytearray | memoryview):
        # In pieces: libxml2 refuses to take more than 10 MB in one go (without huge_tree).
        view = memoryview(source).cast("B")
        for piece in chunked(view, _CHUNK):
            yield bytes(piece)
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
        raise PubmedXMLError(f"corrupt gzip data: {one_line(e)}") from None
    if not d.eof:
        raise PubmedXMLError("truncated gzip data: the compressed stream ends too early")


def _chunks(source: Any, gunzip: bool) -> Generator[bytes, None, None]:
    raw = _raw_chunks(source)
    try:
        first = next(raw, b"")
        if gunzip and first.startswith(_GZIP_MAGIC):
            yield from _gunzip(first, raw)
        else:
            yield first
            yield from raw
    finally:
        raw.close()  # a file opened from a path is closed, however far it was read


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
    return PubmedXMLError(f"truncated or malformed XML: {one_line(e.msg or e)}")


def iter_records(source: Source) -> Iterator[Article | Deletion | RecordError]:
    """Every record of a PubmedArticleSet as it is read: Article, RecordError or Deletion.

    source is an EFetch answer (bytes), or a binary stream or a path of an NLM baseline or update
    file, plain or gzip-compressed (recognised by its content, whatever the name). Records come out
    in document order; a document that breaks raises PubmedXMLError when the reader gets to the
    break, after the records before it. Bytes are never decompressed: an answer from the network
    is already decoded, within eutils' limits.
    """
    chunks = _chunks(source, gunzip=not isinstance(source, bytes | bytearray | memoryview))
    try:
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= _HEAD_LIMIT or _PROLOG.match(head, 0, _HEAD_LIMIT):
                break
        _check_head(head[:_HEAD_LIMIT])  # the regex never runs over more than the head
        yield from _parse(head, chunks)
    finally:
        chunks.close()


def _parse(head: bytes, chunks: Iterator[bytes]) -> Iterator[Article | Deletion | RecordError]:
    parser = _parser()
    state = _State()
    data = head
    # On a syntax error, the events of the failing call are dropped unread: libxml2 closes the
    # elements still open when it stops, which would pass a cut-off record as a whole one.
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
                item = read_record(el, self.position)
            elif tag == "DeleteCitation":
                items = [Deletion(p) for c in el if c.tag == "PMID" and (p := element_text(c))]
            else:  # <ERROR>: NCBI's way of saying the answer is not the records asked for
                raise PubmedXMLError(f"NCBI reported an error: {one_line(element_text(el), 160)}")
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
