"""PubMed records parsed once per process: each record's verbatim XML plus search indexes."""

from __future__ import annotations

import bisect
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from .textnorm import name_key, phrase_key, words

RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
MODELLED = FIXTURES / "modelled" / "seed-references.xml"
NCBI_EFETCH = FIXTURES / "ncbi-efetch"

MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
MONTH_ABBR = {i: m.capitalize() for m, i in MONTHS.items()}
LANGUAGE_NAMES = {
    "english": "eng", "french": "fre", "german": "ger", "spanish": "spa", "italian": "ita",
    "japanese": "jpn", "chinese": "chi", "russian": "rus", "dutch": "dut", "swedish": "swe",
    "portuguese": "por", "polish": "pol", "danish": "dan", "norwegian": "nor", "korean": "kor",
}

# Word fields: base fields are indexed per record; combined ones are unions of base fields.
# ("names", "journals", "types" feed All Fields only; [au], [ta], [pt] have their own logic.)
BASE_WORD_FIELDS = ("ti", "ab", "mh", "majr", "kw", "names", "cn", "journals", "types", "ids")
COMBINED_WORD_FIELDS = {
    "tiab": ("ti", "ab"),
    "tw": ("ti", "ab", "mh", "kw"),
    "all": ("ti", "ab", "names", "cn", "journals", "mh", "kw", "types", "ids"),
}
WORD_FIELDS = BASE_WORD_FIELDS + tuple(COMBINED_WORD_FIELDS)


def default_corpus_files() -> list[Path]:
    """The modelled records first (they win on duplicate PMIDs), then NCBI's own answers."""
    return [MODELLED, *sorted(NCBI_EFETCH.glob("*.xml"))]


@dataclass
class Author:
    last: str  # name_key of LastName: "de luca", "odorisio"
    initials: str  # folded, no spaces: "jc"
    fore: str  # name_key of ForeName: "james c"
    collective: str  # phrase_key of CollectiveName
    display: str  # as ESummary prints it: "Yao JC"


@dataclass
class Record:
    index: int
    pmid: str
    xml: str
    is_book: bool = False
    title: str = ""
    abstract: list[str] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    medline_ta: str = ""
    iso_abbreviation: str = ""
    journal_title: str = ""
    issn: str = ""
    essn: str = ""
    nlm_id: str = ""
    journal_keys: set[str] = field(default_factory=set)
    year: int | None = None
    date_range: tuple[int, int] | None = None
    pubdate_text: str = ""
    epubdate_text: str = ""
    volume: str = ""
    issue: str = ""
    medline_pgn: str = ""
    start_page: str = ""
    end_page: str = ""
    first_page: str = ""
    article_ids: list[tuple[str, str]] = field(default_factory=list)
    elocations: list[tuple[str, str]] = field(default_factory=list)
    doi: str = ""
    pub_types: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    mesh: list[tuple[str, bool, list[tuple[str, bool]]]] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    status: str = ""
    pub_status: str = ""
    history: list[tuple[str, str]] = field(default_factory=list)


def _text(el: ET.Element | None) -> str:
    """All text of an element, inline markup (<i>, <sup>) included, whitespace collapsed."""
    if el is None:
        return ""
    return " ".join("".join(el.itertext()).split())


def _split_records(data: bytes) -> list[bytes]:
    """Byte slices of the depth-1 records, exactly as they appear in the file."""
    parser = expat.ParserCreate()
    spans: list[bytes] = []
    depth = 0
    start: int | None = None

    def on_start(name: str, _attrs: dict) -> None:
        nonlocal depth, start
        depth += 1
        if depth == 2 and name in RECORD_TAGS:
            start = parser.CurrentByteIndex

    def on_end(name: str) -> None:
        nonlocal depth, start
        if depth == 2 and start is not None:
            # At an end event the index points at "</Name>" (or at "<Name/>"): find its ">".
            end = data.index(b">", parser.CurrentByteIndex) + 1
            spans.append(data[start:end])
            start = None
        depth -= 1

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.Parse(data, True)
    return spans


def _parse_date(el: ET.Element | None) -> tuple[int | None, tuple[int, int] | None, str]:
    """(year, (first, last) as YYYYMMDD ints, text as ESummary prints it) of a PubDate."""
    if el is None:
        return None, None, ""
    medline = el.findtext("MedlineDate")
    if medline:
        years = [int(y) for y in re.findall(r"\b(1[6-9]\d\d|2\d\d\d)\b", medline)]
        if not years:
            return None, None, medline
        return years[0], (min(years) * 10000 + 101, max(years) * 10000 + 1231), medline
    year_text = (el.findtext("Year") or "").strip()
    if not year_text.isdigit():
        return None, None, ""
    year = int(year_text)
    month_text = (el.findtext("Month") or "").strip()
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text[:3].lower())
    day_text = (el.findtext("Day") or "").strip()
    day = int(day_text) if day_text.isdigit() else None
    season = (el.findtext("Season") or "").strip()
    parts = [year_text]
    if month:
        parts.append(MONTH_ABBR.get(month, month_text))
        if day:
            parts.append(str(day))
    elif season:
        parts.append(season)
    if month and day:
        span = (year * 10000 + month * 100 + day,) * 2
    elif month:
        span = (year * 10000 + month * 100 + 1, year * 10000 + month * 100 + 31)
    else:
        span = (year * 10000 + 101, year * 10000 + 1231)
    return year, span, " ".join(parts)


def _authors(author_lists: list[ET.Element]) -> list[Author]:
    out = []
    for author_list in author_lists:
        if author_list.get("Type", "authors") != "authors":
            continue  # book editors are not authors for [au]
        for au in author_list.findall("Author"):
            collective = _text(au.find("CollectiveName"))
            last = au.findtext("LastName") or ""
            initials = au.findtext("Initials") or ""
            suffix = au.findtext("Suffix") or ""
            display = collective or " ".join(p for p in (last, initials, suffix) if p)
            out.append(Author(
                last=name_key(last),
                initials="".join(words(initials)),
                fore=name_key(au.findtext("ForeName") or ""),
                collective=phrase_key(collective),
                display=display,
            ))
    return out


def _history(container: ET.Element | None) -> list[tuple[str, str]]:
    out = []
    for d in container.findall("History/PubMedPubDate") if container is not None else []:
        y, m, dd = (d.findtext(k) or "" for k in ("Year", "Month", "Day"))
        hh, mm = d.findtext("Hour") or "0", d.findtext("Minute") or "0"
        if y:
            stamp = f"{y}/{int(m or 1):02d}/{int(dd or 1):02d} {int(hh):02d}:{int(mm):02d}"
            out.append((d.get("PubStatus", ""), stamp))
    return out


def parse_record(index: int, raw: bytes) -> Record:
    el = ET.fromstring(raw)
    rec = Record(index=index, pmid="", xml=raw.decode("utf-8"))
    if el.tag == "PubmedBookArticle":
        rec.is_book = True
        doc = el.find("BookDocument")
        book = doc.find("Book") if doc is not None else None
        rec.pmid = (doc.findtext("PMID") or "").strip()
        title_el = doc.find("ArticleTitle")
        if title_el is None and book is not None:
            title_el = book.find("BookTitle")
        rec.title = _text(title_el)
        rec.abstract = [_text(a) for a in doc.findall("Abstract/AbstractText")]
        lists = doc.findall("AuthorList") + (book.findall("AuthorList") if book is not None else [])
        rec.authors = _authors(lists)
        rec.year, rec.date_range, rec.pubdate_text = _parse_date(
            book.find("PubDate") if book is not None else None)
        rec.volume = (book.findtext("Volume") or "") if book is not None else ""
        rec.pub_types = [_text(p) for p in doc.findall("PublicationType")]
        rec.languages = [_text(x) for x in doc.findall("Language")]
        rec.keywords = [_text(k) for k in doc.findall("KeywordList/Keyword")]
        pdata = el.find("PubmedBookData")
        rec.status = "PubMed"
    else:
        mc = el.find("MedlineCitation")
        art = mc.find("Article")
        journal = art.find("Journal")
        info = mc.find("MedlineJournalInfo")
        rec.pmid = (mc.findtext("PMID") or "").strip()
        rec.title = _text(art.find("ArticleTitle"))
        rec.abstract = [_text(a) for a in art.findall("Abstract/AbstractText")]
        rec.authors = _authors(art.findall("AuthorList"))
        if journal is not None:
            rec.iso_abbreviation = _text(journal.find("ISOAbbreviation"))
            rec.journal_title = _text(journal.find("Title"))
            for issn in journal.findall("ISSN"):
                if issn.get("IssnType") == "Electronic":
                    rec.essn = _text(issn)
                else:
                    rec.issn = _text(issn)
            rec.volume = _text(journal.find("JournalIssue/Volume"))
            rec.issue = _text(journal.find("JournalIssue/Issue"))
            rec.year, rec.date_range, rec.pubdate_text = _parse_date(
                journal.find("JournalIssue/PubDate"))
        if info is not None:
            rec.medline_ta = _text(info.find("MedlineTA"))
            rec.nlm_id = _text(info.find("NlmUniqueID"))
        rec.medline_pgn = _text(art.find("Pagination/MedlinePgn"))
        rec.start_page = _text(art.find("Pagination/StartPage"))
        rec.end_page = _text(art.find("Pagination/EndPage"))
        rec.elocations = [(e.get("EIdType", ""), _text(e)) for e in art.findall("ELocationID")]
        rec.pub_types = [_text(p) for p in art.findall("PublicationTypeList/PublicationType")]
        rec.languages = [_text(x) for x in art.findall("Language")]
        for heading in mc.findall("MeshHeadingList/MeshHeading"):
            desc = heading.find("DescriptorName")
            if desc is None:
                continue  # a broken heading: served verbatim all the same, as NCBI would
            quals = [(_text(q), q.get("MajorTopicYN") == "Y")
                     for q in heading.findall("QualifierName")]
            rec.mesh.append((_text(desc), desc.get("MajorTopicYN") == "Y", quals))
        rec.keywords = [_text(k) for k in mc.findall("KeywordList/Keyword")]
        epub = art.find("ArticleDate[@DateType='Electronic']")
        if epub is not None:
            rec.epubdate_text = _parse_date(epub)[2]
        rec.status = mc.get("Status", "")
        pdata = el.find("PubmedData")
        for issn in info.findall("ISSNLinking") if info is not None else []:
            rec.journal_keys.add(phrase_key(_text(issn)))
    if pdata is not None:
        rec.article_ids = [(a.get("IdType", ""), _text(a))
                           for a in pdata.findall("ArticleIdList/ArticleId")]
        rec.pub_status = _text(pdata.find("PublicationStatus"))
        rec.history = _history(pdata)
    # The first page: StartPage, else what MedlinePgn has before its "-" (or ";", ",").
    rec.first_page = rec.start_page or re.split(r"[-;,\s]", rec.medline_pgn, maxsplit=1)[0]
    dois = [v for t, v in rec.article_ids + rec.elocations if t == "doi" and v]
    rec.doi = dois[0] if dois else ""
    for name in (rec.medline_ta, rec.iso_abbreviation, rec.journal_title, rec.issn, rec.essn):
        if name:
            rec.journal_keys.add(phrase_key(name))
    if rec.journal_title:
        # "European journal of cancer (Oxford, England : 1990)" is also searched without the
        # qualifier, as people write it.
        rec.journal_keys.add(phrase_key(re.sub(r"\([^)]*\)", " ", rec.journal_title)))
    rec.journal_keys.discard("")
    return rec


def _segments(rec: Record) -> dict[str, list[list[str]]]:
    """Token lists per base word field; phrases match inside one segment only."""
    mesh = []
    majr = []
    for desc, major, quals in rec.mesh:
        mesh.append(words(desc))
        mesh.extend(words(q) for q, _ in quals)
        if major or any(m for _, m in quals):
            majr.append(words(desc))
    authors = []
    for a in rec.authors:
        if a.last:
            authors.append(a.last.split() + ([a.initials] if a.initials else []))
            if a.fore:
                authors.append(a.fore.split() + a.last.split())
    ids = [[rec.pmid]] + [words(v) for _, v in rec.article_ids + rec.elocations if v]
    return {
        "ti": [words(rec.title)],
        "ab": [words(a) for a in rec.abstract],
        "mh": mesh,
        "majr": majr,
        "kw": [words(k) for k in rec.keywords],
        "names": authors,
        "cn": [a.collective.split() for a in rec.authors if a.collective],
        "journals": [phrase_key(j).split() for j in
                     (rec.medline_ta, rec.iso_abbreviation, rec.journal_title) if j],
        "types": [words(p) for p in rec.pub_types],
        "ids": ids,
    }


class Corpus:
    """Immutable records plus bitmask indexes (bit i = record i), so boolean logic is int ops."""

    def __init__(self, records: list[Record]):
        self.records = records
        self.by_pmid = {r.pmid: r for r in records}
        self.universe = (1 << len(records)) - 1
        self.segments: dict[str, list[list[list[str]]]] = {f: [] for f in WORD_FIELDS}
        self.postings: dict[str, dict[str, int]] = {f: {} for f in WORD_FIELDS}
        self.exact: dict[str, dict[str, int]] = {
            k: {} for k in ("pmid", "aid", "vi", "ip", "pg", "pt", "la", "ta", "year", "fp")}
        # scope -> surname -> [(record index, author)], and scope -> collective authors
        self.author_entries: dict[str, dict[str, list[tuple[int, Author]]]] = {
            "any": {}, "first": {}, "last": {}}
        self.collective_entries: dict[str, list[tuple[int, Author]]] = {
            "any": [], "first": [], "last": []}
        self.term_cache: dict[tuple, int] = {}
        for rec in records:
            self._index(rec)
        self._vocab = {f: sorted(p) for f, p in self.postings.items()}

    def _add(self, table: dict[str, int], key: str, bit: int) -> None:
        if key:
            table[key] = table.get(key, 0) | bit

    def _index(self, rec: Record) -> None:
        bit = 1 << rec.index
        segs = _segments(rec)
        for name, parts in COMBINED_WORD_FIELDS.items():
            segs[name] = [s for part in parts for s in segs[part]]
        for name in WORD_FIELDS:
            self.segments[name].append(segs[name])
            postings = self.postings[name]
            for token in {t for s in segs[name] for t in s}:
                postings[token] = postings.get(token, 0) | bit
        ex = self.exact
        self._add(ex["pmid"], rec.pmid, bit)
        for _, value in rec.article_ids + rec.elocations:
            self._add(ex["aid"], value.strip().lower(), bit)
        self._add(ex["vi"], rec.volume.strip().lower(), bit)
        self._add(ex["ip"], rec.issue.strip().lower(), bit)
        for page in {rec.first_page, rec.medline_pgn,
                     f"{rec.start_page}-{rec.end_page}" if rec.end_page else ""}:
            self._add(ex["pg"], page.strip().lower(), bit)
        self._add(ex["year"], str(rec.year or ""), bit)
        self._add(ex["fp"], rec.first_page.strip().lower(), bit)
        for pt in rec.pub_types:
            self._add(ex["pt"], phrase_key(pt), bit)
        for lang in rec.languages:
            self._add(ex["la"], lang.strip().lower(), bit)
        for key in rec.journal_keys:
            self._add(ex["ta"], key, bit)
        for scope in ("any", "first", "last"):
            for a in matching_authors(rec, scope):
                if a.last:
                    self.author_entries[scope].setdefault(a.last, []).append((rec.index, a))
                elif a.collective:
                    self.collective_entries[scope].append((rec.index, a))

    # -- lookups used by the query evaluator and ECitMatch ---------------------------------

    def word_bits(self, field_name: str, token: str) -> int:
        """Records whose field has the token; a trailing '*' makes it a prefix."""
        postings = self.postings[field_name]
        if not token.endswith("*"):
            return postings.get(token, 0)
        prefix = token[:-1]
        vocab = self._vocab[field_name]
        bits = 0
        for i in range(bisect.bisect_left(vocab, prefix), len(vocab)):
            if not vocab[i].startswith(prefix):
                break
            bits |= postings[vocab[i]]
        return bits

    def has_phrase(self, field_name: str, index: int, tokens: list[str]) -> bool:
        """Do the tokens occur consecutively in one segment of the record's field?"""
        n = len(tokens)
        for seg in self.segments[field_name][index]:
            for start in range(len(seg) - n + 1):
                if all(_token_matches(q, seg[start + k]) for k, q in enumerate(tokens)):
                    return True
        return False

    def ids(self, bits: int) -> list[str]:
        """PMIDs of a bitmask, numerically descending as ESearch sorts them."""
        out = []
        while bits:
            low = bits & -bits
            out.append(self.records[low.bit_length() - 1].pmid)
            bits ^= low
        return sorted(out, key=int, reverse=True)

    def iter_bits(self, bits: int):
        while bits:
            low = bits & -bits
            yield self.records[low.bit_length() - 1]
            bits ^= low


def _token_matches(query_token: str, token: str) -> bool:
    if query_token.endswith("*"):
        return token.startswith(query_token[:-1])
    return query_token == token


def author_matches(author: Author, query: list[str]) -> bool:
    """PubMed-style author match of name words ("yao jc", "de luca f", "yao james c", "yao")."""
    if author.collective:
        return bool(query) and set(query) <= set(author.collective.split())
    if not author.last:
        return False
    if query and query[-1].endswith("*"):
        # Truncated author: a prefix of "last initials" (or of the last name alone).
        prefix = " ".join(query)[:-1]
        return f"{author.last} {author.initials}".startswith(prefix)
    for k in range(1, len(query) + 1):
        if " ".join(query[:k]) != author.last:
            continue
        rest = query[k:]
        if not rest:
            return True
        # Initials given ("jc", "j c") act as a prefix: "yao j" also finds Yao JC.
        if author.initials.startswith("".join(rest)):
            return True
        fore = author.fore.split()[:len(rest)]
        pairs = zip(fore, rest, strict=False)
        if len(fore) == len(rest) and all(f == r or (len(r) == 1 and f.startswith(r))
                                          for f, r in pairs):
            return True
    return False


def matching_authors(record: Record, scope: str) -> list[Author]:
    if not record.authors:
        return []
    if scope == "first":
        return record.authors[:1]
    if scope == "last":
        return record.authors[-1:]
    return record.authors


def search_author(corpus: Corpus, text: str, scope: str = "any") -> int:
    """Bitmask of records with an author (first/last/any) matching the name text."""
    query = name_key(text).split()
    if text.rstrip().endswith("*") and query:
        query[-1] += "*"
    if not query:
        return 0
    table = corpus.author_entries[scope]
    if query[-1].endswith("*"):
        first_word = query[0].rstrip("*")
        entries = [e for last, es in table.items() if last.startswith(first_word) for e in es]
    else:
        # Only authors whose surname is one of the query's leading word runs can match.
        entries = [e for k in range(1, len(query) + 1) for e in table.get(" ".join(query[:k]), ())]
    bits = 0
    for index, author in entries + corpus.collective_entries[scope]:
        if author_matches(author, query):
            bits |= 1 << index
    return bits


_CACHE: dict[tuple[str, ...], Corpus] = {}
_CACHE_LOCK = threading.Lock()


def load_corpus(files: list[Path] | None = None) -> Corpus:
    """Parse the files once per process; the first occurrence of a PMID wins."""
    paths = [Path(f).resolve() for f in (files or default_corpus_files())]
    key = tuple(str(p) for p in paths)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        records: list[Record] = []
        seen: set[str] = set()
        for path in paths:
            for raw in _split_records(path.read_bytes()):
                rec = parse_record(len(records), raw)
                if rec.pmid and rec.pmid not in seen:
                    seen.add(rec.pmid)
                    records.append(rec)
        corpus = Corpus(records)
        _CACHE[key] = corpus
        return corpus
