"""One free-text reference (Vancouver, AMA, APA, Harvard, …) read into its fields by rules."""

from __future__ import annotations

import re
import unicodedata

from ...journals import Journals
from ...values import Citation, Name
from ..common import (
    ABSTRACT,
    EPUB,
    ISSUE,
    MONTH,
    NORMALISE,
    PAGE_PREFIX,
    PAGES,
    SUPPLEMENT,
    VOLUME,
    YEAR,
    clean_journal,
    clean_title,
    is_presented,
    spaces,
    split_pages,
    unparsed,
)
from ..ids import DOI, PMCID_IN_TEXT, PMID_IN_TEXT, identifier_citation
from ..names import parse_authors, split_group

_MARKER = re.compile(
    r"""^\s*(?:
        \[\s*(?P<n1>\d{1,6})\s*\]\s*            # [12]
      | \(\s*(?P<n2>\d{1,3})\s*\)\s+            # (12), not "(2005) 'Title'" of a broken line
      | (?P<n3>\d{1,6})\s*[.):](?=\s|$)\s*      # 12.  12)  12:  (1000. only in sequence)
      | [\u2022\u2023\u2043\u2219\u25aa\u25cf\u25e6\u00b7*+>-]\s+  # bullets
    )""",
    re.X,
)
_URL = re.compile(r"(?:\b(?:available\s+(?:from|at)|retrieved\s+from)\s*:?\s*)?"
                  r"(?:https?://|www\.)\S+", re.I)
# "[cited 2020 Jan 5]", "(accessed 5 January 2020)", "Accessed January 5, 2020." — never a bare
# "cited", which titles use ("highly cited papers").
_ACCESSED = re.compile(r"[\[(]\s*(?:accessed|cited)\b[^\])]{0,40}[\])]\.?"
                       r"|\bAccessed\b[^.]{0,40}?\d{4}\.?", re.I)
# "PMID:" or "doi:" whose value the line break took away (a list's next line): nothing to read.
_DANGLING_LABEL = re.compile(r"[;,.]?\s*\b(?:pmid|pmcid|doi|available\s+(?:at|from))\s*:\s*$",
                             re.I)
# "<1883::AID-CNCR2820650902>3.0.CO;2-3": the tail of a Wiley SICI, useless without its prefix.
_SICI_FRAGMENT = re.compile(r"<[^<>\s]*::[^<>\s]*>\S*")
_EPUB_DATE = re.compile(rf"\bEpub\s+{YEAR}(?:\s+{MONTH}(?:\s*[-/]\s*{MONTH})?)?\b\.?",
                        re.I)
_PAREN_YEAR = re.compile(rf"\(\s*(?P<year>{YEAR})[a-z]?(?:\s*[,;]\s*[^()]{{0,25}})?\s*\)")
_BARE_YEAR = re.compile(rf"(?:^|(?<=[\s,.]))(?P<year>{YEAR})[a-z]?\s*[.:]\s")
# Vancouver/AMA source: "N Engl J Med. 2011 Feb 10;364(6):514-23"
_VANCOUVER = re.compile(
    rf"(?P<sep>[.,]?\s*)(?P<year>{YEAR})[a-z]?(?:\s+{MONTH}(?:\s*[-/]\s*{MONTH})?)?"
    rf"\s*;\s*(?P<volume>{VOLUME})?(?:\s*(?P<supplement>{SUPPLEMENT}))?\s*(?:{ISSUE})?"
    rf"\s*(?::\s*{PAGE_PREFIX}(?P<pages>{PAGES}))?$",
    re.I,
)
_VANCOUVER_YEAR_ONLY = re.compile(
    rf"(?P<sep>[.,;]\s*)(?P<year>{YEAR})[a-z]?(?:\s+{MONTH}(?:\s*[-/]\s*{MONTH})?)?$"
)
# Seed/APA/Harvard source: "Eur J Cancer, 37, 1014-9" / "Journal, 364(6), pp. 514-523" /
# "Journal, vol. 364, no. 6, pp. 514-523"
_ISSUE_LABELLED = r"(?:\s*,?\s*(?:no|issue)\.?\s*(?P<issue2>\w+(?:-\w+)?))?"
_TAIL_PAGES = re.compile(
    rf"(?P<sep>[,.]\s*|\s+)(?:vol(?:ume)?\.?\s*)?(?P<volume>{VOLUME})"
    rf"(?:\s*(?P<supplement>{SUPPLEMENT}))?\s*(?:{ISSUE})?"
    rf"{_ISSUE_LABELLED}\s*[,:]\s*{PAGE_PREFIX}(?P<pages>{PAGES})$",
    re.I,
)
_TAIL_VOLUME = re.compile(
    rf"(?P<sep>[,.]\s*|\s+)(?:vol(?:ume)?\.?\s*)?(?P<volume>{VOLUME})"
    rf"(?:\s*(?P<supplement>{SUPPLEMENT}))?\s*(?:{ISSUE})?{_ISSUE_LABELLED}$", re.I
)
_PUBLISHER = re.compile(r"^[A-Z][\w .'-]{1,40}:\s*[A-Z][\w .,&'-]{1,80}$")
_SENTENCE_END = re.compile(r"[.?!]\s+")
# "Yao JC," "Yao, J. C.," "Phan, AT," "de Jong M." at the start of a line: a new reference.
AUTHOR_START = re.compile(
    r"^(?!and\s|et\s)(?:[a-z]{1,3}\s+)?[^\W\d_][\w'\u2019-]+(?:[\s-][^\W\d_][\w'\u2019-]+)?,?\s"
    r"(?:[A-Z]\.?\s?-?){1,3}(?:[,.&(;]|\s(?:et|and|&)\b)"
)


def _sentence_ends(text: str) -> list[re.Match[str]]:
    """Sentence ends outside brackets: '[Biochim. Biophys. Acta, …]' inside a title is one unit."""
    ends = []
    for m in _SENTENCE_END.finditer(text):
        before = text[: m.start()]
        if before.count("(") > before.count(")") or before.count("[") > before.count("]"):
            continue
        ends.append(m)
    return ends


def _split_title_journal(text: str, journals: Journals) -> tuple[str, str]:
    """'Title. Journal' → (title, journal) at the last sentence end, widened for dotted journals."""
    ends = [m for m in _sentence_ends(text) if m.end() < len(text)]
    if not ends:
        return text, ""
    pieces_at = [m.start() + 1 for m in ends]  # where each candidate journal's text begins
    starts = [m.end() for m in ends]
    best = len(ends) - 1
    # "Best Practice & Research. Clinical Endocrinology & Metabolism", "Int. J. Cardiovasc.
    # Imaging": prefer the longest known journal among the last sentences.
    known = False
    for i in range(len(ends) - 1, max(-1, len(ends) - 9), -1):
        if journals.known(text[starts[i]:]):
            best, known = i, True
    if not known:
        # An unknown dotted journal ("Adv. Exp. Med. Biol.", "Am. J. Physiol. Heart Circ."):
        # pieces of one or two short capitalised words before it are abbreviations; the first
        # sentence always stays with the title.
        i = best
        while i > 0:
            words = text[starts[i - 1]: pieces_at[i] - 1].split()
            if 0 < len(words) <= 2 and all(len(w) <= 12 and w[:1].isupper() for w in words):
                i -= 1
            else:
                break
        best = i
    return text[: pieces_at[best]], text[starts[best]:]


def _find_quoted_title(work: str) -> int | None:
    """"'Title', Journal…": the index just past the closing quote, if the text opens with one."""
    if not work or work[0] not in "'\"":
        return None
    quote = work[0]
    for m in re.finditer(re.escape(quote), work[1:]):
        end = m.end() + 1
        after = work[end:]
        # 'Title', Journal | "Title." Journal | 'Title' (end); not the apostrophe of "patients' "
        if (not after.strip() or re.match(r"[,.]\s", after)
                or (after[:1].isspace() and work[end - 2] in ".?!,")):
            return end
    return None


# Patterns (compiled with re.I) that cannot match a text without one of these lower-case words:
# _Text.take does not search an ASCII text that has none of them.
NEEDS: dict[re.Pattern[str], tuple[str, ...]] = {
    DOI: ("10.",), PMID_IN_TEXT: ("pmid",), PMCID_IN_TEXT: ("pmcid",), _URL: ("http", "www."),
    _ACCESSED: ("accessed", "cited"), _EPUB_DATE: ("epub",),
    EPUB: ("print", "advance", "press"), ABSTRACT: ("abstr",),
}


class _Text:
    """A reference with a normalised twin of equal length: find in one, slice the other."""

    def __init__(self, text: str) -> None:
        self.orig = text
        self.work = text.translate(NORMALISE)
        # For an ASCII text, the words a pattern needs that it holds (blanking removes words,
        # never makes them): a pattern that needs none of them is not searched.
        self._lower = self.work.lower() if self.work.isascii() else None

    def blank(self, start: int, end: int) -> None:
        pad = " " * (end - start)
        self.orig = self.orig[:start] + pad + self.orig[end:]
        self.work = self.work[:start] + pad + self.work[end:]

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """Every match of the pattern, blanked out of both texts."""
        needs = NEEDS.get(pattern)
        if needs and self._lower is not None:
            for word in needs:
                if word in self._lower:
                    break
            else:
                return []
        found = list(pattern.finditer(self.work))
        for m in reversed(found):
            self.blank(m.start(), m.end())
        return found


def strip_marker(text: str, long_ok: bool = False) -> tuple[str, str | None]:
    """'12. Yao JC…' → ('Yao JC…', '12'); bullets give no number; no marker → (text, None).

    A number of four digits or more ("1000.", "2005.") is a marker only where the list's
    sequence says so (long_ok, see split_entries): alone it is as likely a year.
    """
    m = _MARKER.match(text)
    if m and m.end() < len(text):
        number = m.group("n1") or m.group("n2") or m.group("n3")
        if number and len(number) > 3 and not long_ok:
            return text, None
        return text[m.end():], number
    # "12 Yao JC, …": a bare number counts only before an author, since a broken line may
    # start with one ("148 patients …").
    m = re.match(r"^\s*(\d{1,3})\s+", text)
    if m and AUTHOR_START.match(text[m.end():]):
        return text[m.end():], m.group(1)
    return text, None


def parse_reference(text: str, key: str, position: int,
                    journals: Journals | None = None) -> Citation:
    """One reference in any common text style → Citation; never raises (kind='unparsed').

    journals: the journal knowledge that helps split a title from its journal (the shipped
    table when None).
    """
    try:
        return _parse_reference(text, key, position,
                                Journals.shipped() if journals is None else journals)
    except Exception as exc:  # the contract is "never raises": a bad line must not stop a list
        return unparsed(key, text, position, f"parser error ({type(exc).__name__})")


def _parse_reference(raw: str, key: str, position: int, journals: Journals) -> Citation:
    text = spaces(unicodedata.normalize("NFC", raw))
    body, _ = strip_marker(text)
    body = body.strip()
    if not body:
        return unparsed(key, raw, position, "empty")
    identifier = identifier_citation(body, key, raw, position)
    if identifier is not None:
        return identifier
    if re.fullmatch(r"(?:https?://|www\.)\S+", body, re.I):
        return unparsed(key, raw, position, "a URL, not a reference")
    if is_heading(body):
        return unparsed(key, raw, position, "a heading or a note, not a reference")
    fields = _parse_fields(body, journals)
    if isinstance(fields, str):
        return unparsed(key, raw, position, fields)
    return Citation(key=key, raw=raw, position=position, **fields)


def _parse_fields(body: str, journals: Journals) -> dict | str:
    t = _Text(body)
    doi = None
    for found in t.take(DOI):
        doi = doi or found.group(1).rstrip(".,;)]")
    pmid = None
    for found in t.take(PMID_IN_TEXT):
        pmid = pmid or found.group(1)
    t.take(PMCID_IN_TEXT)
    t.take(_URL)
    t.take(_ACCESSED)
    if "::" in t.work:
        t.take(_SICI_FRAGMENT)
    if t.work.rstrip().endswith(":"):  # the pattern ends in ":" and spaces
        t.take(_DANGLING_LABEL)
    t.take(_EPUB_DATE)
    epub = bool(t.take(EPUB))
    abstracts = t.take(ABSTRACT)
    abstract_number = abstracts[-1].group("number") if abstracts else None

    end = len(t.work.rstrip(" .,;:[]"))
    work, orig = t.work[:end], t.orig[:end]
    if not work.strip():
        return "nothing left after the identifiers"

    year = volume = issue = pages = None
    authors_end = None  # where the author list ends (None: find it from sentence ends)
    middle_start = 0
    middle_end = len(work)

    m = _VANCOUVER.search(work)
    if m and (m.group("volume") or m.group("pages")):
        year, volume, pages = m.group("year"), m.group("volume"), m.group("pages")
        issue = m.group("issue") or m.group("supplement")  # "38Suppl 2(Suppl 2)": either
        middle_end = m.start()
    else:
        py = _PAREN_YEAR.search(work)
        if py is None:
            by = _BARE_YEAR.search(work)
            if by is not None and by.start() > 0 and parse_authors(work[: by.start()])[3]:
                py = by
        if py is not None and py.start() > 0:
            year = py.group("year")
            authors_end = py.start()
            middle_start = py.end()
        else:
            m = _VANCOUVER_YEAR_ONLY.search(work)
            if m:
                year = m.group("year")
                middle_end = m.start()
        if middle_end == len(work):  # no source yet: "Journal, 37, 1014-9" or "Journal, 37"
            tail = work[middle_start:]
            mt = _TAIL_PAGES.search(tail)
            if mt and not (abstract_number and not mt.group("pages")):
                volume, pages = mt.group("volume"), mt.group("pages")
                issue = mt.group("issue") or mt.group("issue2") or mt.group("supplement")
                middle_end = middle_start + mt.start()
            else:
                mt = _TAIL_VOLUME.search(tail)
                if mt:
                    volume = mt.group("volume")
                    issue = mt.group("issue") or mt.group("issue2") or mt.group("supplement")
                    middle_end = middle_start + mt.start()

    # Authors
    names: list[Name] = []
    et_al = False
    group = None
    if authors_end is not None:
        names, et_al, group, _ = parse_authors(orig[:authors_end])
    else:
        head = work[:middle_end]
        for s in _SENTENCE_END.finditer(head):
            after = head[s.end():]
            if re.match(r"(?:[A-Z]\.|[A-Z][,;]|-[A-Z]|[A-Z]$|et\s+al)", after):
                continue  # still inside spaced initials ("Yao J. C.")
            parsed = parse_authors(orig[: s.start() + 1])
            # A group alone ("Cancer Center annual report.") leads only when a title and a
            # journal still follow it; else it is the title of a reference without authors.
            if parsed[3] and (parsed[0] or _sentence_ends(head[s.end():].rstrip(" .,;:")[:-1])):
                names, et_al, group, _ = parsed
                middle_start = s.end()
            break

    # Title and journal
    mid_work = work[middle_start:middle_end]
    mid_orig = orig[middle_start:middle_end]
    lead = len(mid_work) - len(mid_work.lstrip(" .,;:"))
    mid_work, mid_orig = mid_work[lead:].rstrip(" .,;:"), mid_orig[lead:].rstrip(" .,;:")
    title = journal = None
    q = _find_quoted_title(mid_work)
    if q is not None:
        title, journal = mid_orig[1: q - 1], mid_orig[q:]
    else:
        t_part, j_part = _split_title_journal(mid_orig, journals)
        if j_part or year is not None:
            title, journal = t_part, j_part
        else:
            title = t_part
    title = clean_title(title or "")
    journal = clean_journal(journal or "")
    if journal and _PUBLISHER.match(journal):
        journal = None  # "Lyon: IARC" is a book's place and publisher, not a journal
    if title:
        title_group, title = split_group(title)
        if title_group:
            group = f"{group}; {title_group}" if group else title_group

    if not title:
        return "no title found"
    if year is None and journal is None:
        return "no year or journal found"

    kind = "article"
    page_text, first_page = split_pages(pages)
    if abstract_number or is_presented(body):
        kind = "meeting_abstract"
        page_text = first_page = None
        if journal and is_presented(journal):
            journal = None  # "Paper presented at: ESMO Congress" is a meeting, not a journal
    elif epub and not volume and not page_text:
        kind = "epub_ahead"
    return dict(
        kind=kind, authors=tuple(names), et_al=et_al, group=group,
        year=int(year) if year else None, title=title, journal=journal,
        volume=volume, issue=spaces(issue) if issue else None, pages=page_text,
        first_page=first_page, doi=doi, pmid=pmid, abstract_number=abstract_number,
    )


def is_heading(line: str) -> bool:
    return len(line.split()) <= 3 and not re.search(r"\d", line)

