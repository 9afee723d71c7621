"""Answers checked before use and before caching: ESearch, ECitMatch and EFetch bodies.

Nothing that comes in is trusted: an HTML error page, a truncated document or a wrong number
of lines is a BadAnswer (retried, never cached), and an EFetch answer must hold exactly the
records that were asked for, each under its own PMID.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit
from xml.parsers import expat

import requests
from lxml import etree

from ..pubmed import PubmedRecords, PubmedXMLError, RecordError, parse_records
from ..values import Article
from .errors import BadAnswer, IncompleteAnswer


def endpoint_of(url: str) -> str:
    """"esearch.fcgi" of ".../entrez/eutils/esearch.fcgi?db=pubmed"."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


def is_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head


@dataclass(frozen=True)
class ESearchAnswer:
    """What an ESearch answer says: how many records the query finds, and the ids returned."""

    count: int
    ids: tuple[str, ...]


def _xml_parser() -> etree.XMLParser:
    # lxml on its public API, told to load no DTD, resolve no entity and reach no network
    # (a parser per document: lxml parsers are not to be shared between threads). Bio.Entrez.read
    # would fetch a DTD it does not ship from NCBI by itself (past the rate limit, the cache and
    # the size caps) and fail without the network.
    return etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def validate_esearch(body: bytes) -> ESearchAnswer:
    """Read an ESearch answer; a backend error, a non-XML page or a malformed count or id is a
    BadAnswer."""
    if not body.strip() or is_html(body):
        raise BadAnswer("ESearch answered with an HTML page or nothing")
    try:
        root = etree.fromstring(body, parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise BadAnswer(f"ESearch answer is not valid XML ({type(exc).__name__})") from exc
    id_list = root.find("IdList")
    if id_list is None:
        # NCBI's backend failures arrive as <eSearchResult><ERROR>...</ERROR>: retry those.
        message = root.findtext("ERROR")
        raise BadAnswer(f"ESearch error: {str(message or 'no IdList')[:120]}")
    ids = tuple((el.text or "").strip() for el in id_list.iter("Id"))
    count = (root.findtext("Count") or str(len(ids))).strip()
    if not count.isdigit() or not all(i.isdigit() for i in ids):
        raise BadAnswer("ESearch answer has a count or an id that is not a number")
    return ESearchAnswer(int(count), ids)


def validate_ecitmatch(body: bytes, expected_lines: int) -> list[str]:
    """ECitMatch answers one line per citation; anything else is truncated or an error page."""
    if is_html(body):
        raise BadAnswer("ECitMatch answered with an HTML page")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadAnswer("ECitMatch answer is not text") from exc
    lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if len(lines) != expected_lines:
        raise BadAnswer(f"ECitMatch answered {len(lines)} lines for {expected_lines} citations")
    if any(line.count("|") < 6 for line in lines):
        raise BadAnswer("ECitMatch answer lines are malformed")
    return lines


def validate_efetch(body: bytes) -> PubmedRecords:
    """The records of an EFetch answer; parsing is the validation, so it is done once.

    A record that cannot be read is in .errors, and the answer is still good (and cached): asking
    again would bring the same record back. Only a broken document is a BadAnswer.
    """
    if is_html(body):
        raise BadAnswer("EFetch answered with an HTML page")
    try:
        return parse_records(body)
    except PubmedXMLError as exc:
        raise BadAnswer(f"EFetch answer unusable: {exc}") from exc


_RECORDS = {"PubmedArticle": ("MedlineCitation", "PubmedData"),
            "PubmedBookArticle": ("BookDocument", "PubmedBookData")}


def record_ids(body: bytes) -> list[tuple[str | None, str | None]]:
    """(PMID, the record's own pubmed ArticleId) of each record, read from the XML itself.

    Independent of the parser, so a record the parser could not read still counts as present.
    Only MedlineCitation/PMID and PubmedData/ArticleIdList count, not the PMIDs of comments,
    corrections or the reference list.
    """
    records: list[list[str | None]] = []
    stack: list[str] = []
    text: list[str] = []
    capture: list[int] = []  # index into the current record (0: PMID, 1: ArticleId) or empty

    def start(name: str, attrs: dict) -> None:
        stack.append(name)
        depth = len(stack)
        if depth == 2 and name in _RECORDS:
            records.append([None, None])
        elif depth in (4, 5) and records and stack[1] in _RECORDS:
            citation, data = _RECORDS[stack[1]]
            if depth == 4 and name == "PMID" and stack[2] == citation:
                capture[:] = [0]
            elif (depth == 5 and name == "ArticleId" and stack[2] == data
                  and stack[3] == "ArticleIdList" and attrs.get("IdType") == "pubmed"):
                capture[:] = [1]
            text.clear()

    def chars(data: str) -> None:
        if capture:
            text.append(data)

    def end(name: str) -> None:
        if capture and len(stack) in (4, 5):
            index = capture.pop()
            if records[-1][index] is None:
                records[-1][index] = "".join(text).strip()
        stack.pop()

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise BadAnswer(f"EFetch answer is not well-formed XML ({exc})") from None
    return [(pmid, aid) for pmid, aid in records]


def norm_pmid(value: str | None) -> str:
    """A PMID as compared: "010" and "10" are one record."""
    value = (value or "").strip()
    return value.lstrip("0") or value


@dataclass(frozen=True)
class EFetchAnswer:
    articles: list[Article]
    missing: frozenset[str] = frozenset()
    errors: tuple[RecordError, ...] = ()  # records asked for that could not be read


def validate_efetch_answer(body: bytes, requested: Iterable[str]) -> EFetchAnswer:
    """An EFetch answer holds only records that were asked for, each once, each under its own
    PMID; records that were asked for and are not there make it an IncompleteAnswer."""
    records = validate_efetch(body)
    wanted = {norm_pmid(p): str(p) for p in requested}
    seen: set[str] = set()
    for pmid, own_id in record_ids(body):
        key = norm_pmid(pmid)
        if not key:
            raise BadAnswer("EFetch answer has a record without a PMID")
        if key not in wanted:
            raise BadAnswer(f"EFetch answered PMID {pmid}, which was not asked for")
        if key in seen:
            raise BadAnswer(f"EFetch answered PMID {pmid} twice")
        if own_id is not None and norm_pmid(own_id) != key:
            raise BadAnswer(f"EFetch record PMID {pmid} carries the ArticleId of PMID {own_id}")
        seen.add(key)
    kept, taken = [], set()
    for article in records.articles:
        key = norm_pmid(article.pmid)
        if key in wanted and key not in taken:
            kept.append(article)
            taken.add(key)
    missing = frozenset(wanted[k] for k in wanted if k not in seen)
    errors = tuple(e for e in records.errors if not e.pmid or norm_pmid(e.pmid) in wanted)
    answer = EFetchAnswer(kept, missing, errors)
    if missing:
        raise IncompleteAnswer(f"EFetch answer lacks {len(missing)} of the {len(wanted)} "
                               "records asked for", answer, missing)
    return answer


def request_body(request: requests.PreparedRequest, errors: str = "replace") -> str:
    """The body of a request as text ("" for none; the client never streams one)."""
    body = request.body
    if isinstance(body, bytes):
        return body.decode("utf-8", errors)
    return body if isinstance(body, str) else ""


def _form(request: requests.PreparedRequest | None) -> dict[str, str]:
    if request is None:
        return {}
    pairs = parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True)
    pairs += parse_qsl(request_body(request), keep_blank_values=True)
    return dict(pairs)


def validate_response(response: requests.Response) -> object:
    """The validated value of an answer, by the endpoint its request went to."""
    endpoint = endpoint_of(response.url)
    body = response.content
    if endpoint.startswith("esearch"):
        return validate_esearch(body)
    if endpoint.startswith("efetch"):
        ids = [i for i in _form(response.request).get("id", "").split(",") if i.strip()]
        return validate_efetch_answer(body, ids)
    if endpoint.startswith("ecitmatch"):
        expected = response.request.headers.get("X-Citation-Lines") if response.request else None
        if expected is None:
            raise BadAnswer("ECitMatch request without a line count")
        return validate_ecitmatch(body, int(expected))
    if is_html(body) or not body.lstrip().startswith(b"<?xml"):
        raise BadAnswer("not an XML answer")
    return None
