"""Reference lists (plain text, BibTeX, RIS, CSL-JSON, PMID or DOI lists) parsed into Citations."""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from .errors import InputError
from .values import Citation, Name

__all__ = [
    "CitationInputError",
    "detect_format",
    "parse_bibtex",
    "parse_csl_json",
    "parse_medline",
    "parse_reference",
    "parse_reference_list",
    "parse_references",
    "parse_ris",
    "read_references",
]


class CitationInputError(InputError):
    """A reference file that cannot be read at all (missing, binary, empty, no reference)."""


# -- character classes ---------------------------------------------------------------------------
# Every dash and quote variant maps to one ASCII character, one for one, so that a normalised copy
# of a reference keeps the same character positions as the text and can be sliced in parallel.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032`\u00b4"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
_NORMALISE = str.maketrans(
    {**{c: "-" for c in _DASHES}, **{c: "'" for c in _SINGLE_QUOTES},
     **{c: '"' for c in _DOUBLE_QUOTES}}
)
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000]+")

_YEAR = r"(?:1[89]\d\d|20\d\d)"
# Pages and e-locators: "514", "vii124", "S224", "e0092424", "eadn0327", "ooae099", "1360006".
_PAGE = r"[A-Za-z]{0,6}\d+[A-Za-z\d]*"
_RANGE = rf"{_PAGE}(?:\s*-\s*{_PAGE})?"
_PAGES = rf"{_RANGE}(?:\s*,\s*{_RANGE})*"  # "67-8, 73": a range and a page further on
_VOLUME = r"\d+[A-Za-z]?"
# A supplement printed beside the volume: "82 Suppl 3", "38Suppl 2", "112 S3", "23 Pt 2".
_SUPPLEMENT = r"(?:Suppl(?:ement)?\.?|S(?=\d)|Pt\.?|Part)\s*\w{0,4}"
# Before the pages: "p.", "pp.", APA's "Article" / "Article No." for e-locators.
_PAGE_PREFIX = r"(?:(?:pp?\.?|article(?:\s+(?:no\.?|number))?)\s*)?"
_ISSUE = r"\((?P<issue>[^()]{1,30})\)"
_MONTH = r"[A-Za-z]{3,9}\.?(?:\s+\d{1,2})?"

_MARKER = re.compile(
    r"""^\s*(?:
        \[\s*(?P<n1>\d{1,6})\s*\]\s*            # [12]
      | \(\s*(?P<n2>\d{1,3})\s*\)\s+            # (12), not "(2005) 'Title'" of a broken line
      | (?P<n3>\d{1,6})\s*[.):](?=\s|$)\s*      # 12.  12)  12:  (1000. only in sequence)
      | [\u2022\u2023\u2043\u2219\u25aa\u25cf\u25e6\u00b7*+>-]\s+  # bullets
    )""",
    re.X,
)
_PMID_LINE = re.compile(r"^(?:pmid\s*[:=]?\s*)?(\d{1,8})\.?$", re.I)
_PMID_SEPARATORS = re.compile(r"\s*[,;]\s*|\s+")
_DOI = re.compile(
    r"(?:\b(?:available\s+(?:from|at)|retrieved\s+from)\s*:?\s*)?"  # Harvard's and APA 6's lead-in
    r"(?:\bdoi\s*[:=]?\s*|https?://(?:dx\.)?doi\.org/|\bdoi\.org/)?\b(10\.\d{4,9}/[^\s\"<>]+)",
    re.I,
)
_DOI_LINE = re.compile(
    r"^(?:doi\s*[:=]?\s*|https?://(?:dx\.)?doi\.org/|doi\.org/)?(10\.\d{4,9}/\S+)$", re.I
)
_URL = re.compile(r"(?:\b(?:available\s+(?:from|at)|retrieved\s+from)\s*:?\s*)?"
                  r"(?:https?://|www\.)\S+", re.I)
# "[cited 2020 Jan 5]", "(accessed 5 January 2020)", "Accessed January 5, 2020." — never a bare
# "cited", which titles use ("highly cited papers").
_ACCESSED = re.compile(r"[\[(]\s*(?:accessed|cited)\b[^\])]{0,40}[\])]\.?"
                       r"|\bAccessed\b[^.]{0,40}?\d{4}\.?", re.I)
_PMID_IN_TEXT = re.compile(r"\bPMID\s*:?\s*(\d{1,8})\b\.?", re.I)
_PMCID_IN_TEXT = re.compile(r"\bPMCID\s*:?\s*PMC\d+\b\.?", re.I)
# "PMID:" or "doi:" whose value the line break took away (a list's next line): nothing to read.
_DANGLING_LABEL = re.compile(r"[;,.]?\s*\b(?:pmid|pmcid|doi|available\s+(?:at|from))\s*:\s*$",
                             re.I)
# "<1883::AID-CNCR2820650902>3.0.CO;2-3": the tail of a Wiley SICI, useless without its prefix.
_SICI_FRAGMENT = re.compile(r"<[^<>\s]*::[^<>\s]*>\S*")
_EPUB = re.compile(
    r"\[?\s*(?:e-?pub(?:lished)?|published\s+online|online)\s+(?:ahead\s+of|before)\s+print\s*\]?"
    r"|\badvance\s+online\s+publication\b|\[?\(?\bin\s+press\b\)?\]?",
    re.I,
)
_EPUB_DATE = re.compile(rf"\bEpub\s+{_YEAR}(?:\s+{_MONTH}(?:\s*[-/]\s*{_MONTH})?)?\b\.?",
                        re.I)
_ABSTRACT = re.compile(
    r"\(?\s*(?:(?:suppl(?:ement)?|meeting)\s*[;,]?\s*)?"
    r"\b(?:meeting\s+)?abstr(?:act)?\.?\s*(?:no\.?\s*|number\s*|#\s*)?"
    r"(?P<number>[A-Z]{0,4}-?\d+[A-Za-z]?)\b\s*\)?",
    re.I,
)
# A talk or poster: "Paper presented at: ESMO Congress; 2018; Munich" (no PubMed record).
PRESENTED = re.compile(
    r"\b(?:(?:paper|poster|talk|abstract|lecture)\s+)?presented\s+at\b|\bposter\s+session\b"
    r"|\b(?:oral|poster)\s+presentation\b", re.I)
_PAREN_YEAR = re.compile(rf"\(\s*(?P<year>{_YEAR})[a-z]?(?:\s*[,;]\s*[^()]{{0,25}})?\s*\)")
_BARE_YEAR = re.compile(rf"(?:^|(?<=[\s,.]))(?P<year>{_YEAR})[a-z]?\s*[.:]\s")
# Vancouver/AMA source: "N Engl J Med. 2011 Feb 10;364(6):514-23"
_VANCOUVER = re.compile(
    rf"(?P<sep>[.,]?\s*)(?P<year>{_YEAR})[a-z]?(?:\s+{_MONTH}(?:\s*[-/]\s*{_MONTH})?)?"
    rf"\s*;\s*(?P<volume>{_VOLUME})?(?:\s*(?P<supplement>{_SUPPLEMENT}))?\s*(?:{_ISSUE})?"
    rf"\s*(?::\s*{_PAGE_PREFIX}(?P<pages>{_PAGES}))?$",
    re.I,
)
_VANCOUVER_YEAR_ONLY = re.compile(
    rf"(?P<sep>[.,;]\s*)(?P<year>{_YEAR})[a-z]?(?:\s+{_MONTH}(?:\s*[-/]\s*{_MONTH})?)?$"
)
# Seed/APA/Harvard source: "Eur J Cancer, 37, 1014-9" / "Journal, 364(6), pp. 514-523" /
# "Journal, vol. 364, no. 6, pp. 514-523"
_ISSUE_LABELLED = r"(?:\s*,?\s*(?:no|issue)\.?\s*(?P<issue2>\w+(?:-\w+)?))?"
_TAIL_PAGES = re.compile(
    rf"(?P<sep>[,.]\s*|\s+)(?:vol(?:ume)?\.?\s*)?(?P<volume>{_VOLUME})"
    rf"(?:\s*(?P<supplement>{_SUPPLEMENT}))?\s*(?:{_ISSUE})?"
    rf"{_ISSUE_LABELLED}\s*[,:]\s*{_PAGE_PREFIX}(?P<pages>{_PAGES})$",
    re.I,
)
_TAIL_VOLUME = re.compile(
    rf"(?P<sep>[,.]\s*|\s+)(?:vol(?:ume)?\.?\s*)?(?P<volume>{_VOLUME})"
    rf"(?:\s*(?P<supplement>{_SUPPLEMENT}))?\s*(?:{_ISSUE})?{_ISSUE_LABELLED}$", re.I
)
_PUBLISHER = re.compile(r"^[A-Z][\w .'-]{1,40}:\s*[A-Z][\w .,&'-]{1,80}$")
_SENTENCE_END = re.compile(r"[.?!]\s+")
_ET_AL = re.compile(r"[,;]?\s*\bet\.?\s*al\b\.?", re.I)
_ELISION = re.compile(r"(?:\.\s*){3}|\u2026")
_GROUP_WORDS = (
    r"group|groups|society|participants|investigators|consortium|committee|collaborat\w*"
    r"|network|trialists|working\s+party|task\s+force|panel|alliance|council|association"
    r"|organi[sz]ation|writing\s+group|study\s+team|team|board|authors"
    r"|cent(?:er|re)s?|institutes?|department|ministry|agency|federation|commission|foundation"
    r"|programm?e?|initiative|office|academy|college|union|registry|coalition|collaborative"
)
_ENDS_WITH_GROUP = re.compile(rf"\b(?:{_GROUP_WORDS})\b(?:\s*\([^()]*\))?\s*$", re.I)
_HAS_GROUP_WORD = re.compile(rf"\b(?:{_GROUP_WORDS})\b", re.I)
# "(CDC)", "(TFG-U)", "(EFLM)": an organisation's acronym after its name.
_ACRONYM = re.compile(r"\([A-Z][A-Za-z\d&/-]*[A-Z\d]\)")
_PARTICLES = {
    "de", "del", "della", "der", "den", "di", "da", "dos", "das", "du", "van", "von", "ter", "ten",
    "la", "le", "lo", "st", "st.", "al", "el", "bin", "ben", "mac", "y", "e", "d'", "l'", "zu",
}
# Case matters: "Jr" is a suffix, "JR" is initials (Strosberg JR).
_SUFFIXES = {"Jr", "Jr.", "Sr", "Sr.", "2nd", "3rd", "II", "III"}


def _spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _unparsed(key: str, raw: str, position: int, why: str) -> Citation:
    return Citation(key=key, raw=raw, position=position, kind="unparsed", reason=f"unparsed: {why}")


# -- names ---------------------------------------------------------------------------------------
_INITIALS_WORD = re.compile(r"^(?:(?:[A-Z]|[A-Z][a-z]\.)\.?\s*-?\s*){1,4}$")


def _shape(text: str) -> str:
    """Letters as 'A' / 'a' by case, so ASCII patterns also see 'Ø', 'Á', 'Ł' as capitals."""
    return "".join("A" if c.isupper() else "a" if c.islower() else c for c in text)


def _is_initials(token: str) -> bool:
    """'JC', 'J.C.', 'J. C.', 'J.-C.', 'Ch.', 'Ø': initials as reference lists print them."""
    token = token.strip()
    return bool(token) and bool(_INITIALS_WORD.match(_shape(token))) and token[0].isupper()


def _initials_of(token: str) -> str:
    return "".join(c for c in token if c.isupper())


def _is_surname_word(word: str) -> bool:
    if word.lower() in _PARTICLES:
        return True
    letters = word.lstrip("'\u2019(")
    return bool(letters) and letters[0].isalpha() and letters[0].isupper() and not any(
        c.isdigit() for c in word
    )


def _is_surname(text: str) -> bool:
    words = text.split()
    # "Lo", "Le", "Du" are surnames of their own; a trailing particle of a longer name is not
    particle_end = words and words[-1].lower() in _PARTICLES and (
        len(words) > 1 or words[0].islower())
    return (0 < len(words) <= 4 and all(_is_surname_word(w) for w in words)
            and not particle_end and not _HAS_GROUP_WORD.search(text))


def _name_from_token(token: str) -> tuple[Name | None, bool]:
    """One author as printed in a list: ('Yao JC' | 'Yao J.C.' | 'de Jong M' | 'Yao').

    Returns the name and whether it still waits for its initials (a bare surname, as in
    'Phan, AT' or 'Yao, J. C.' where a comma separates surname and initials).
    """
    words = token.split()
    while len(words) > 2 and words[-1].strip(",") in _SUFFIXES:
        words.pop()
    if not words:
        return None, False
    # The longest run of initials at the end; the rest is the surname.
    cut = len(words)
    while cut > 1 and _is_initials(words[cut - 1]):
        cut -= 1
    if cut < len(words):
        surname = " ".join(words[:cut])
        if _is_surname(surname):
            return Name(surname, _initials_of("".join(words[cut:]))), False
        return None, False
    if _is_surname(token):
        return Name(" ".join(words), ""), True
    return None, False


def _split_and(token: str) -> list[str]:
    """'J.A. and Haller' → two tokens; 'UK and Ireland neuroendocrine tumour society' → one."""
    parts = [p.strip() for p in re.split(r"(?:^|\s+)(?:and|&)\s+", token)]
    if len(parts) == 1:
        return parts
    if all(not p or _is_initials(p) or _name_from_token(p)[0] for p in parts):
        return [p for p in parts if p]
    return [token]


def _parse_authors(text: str) -> tuple[list[Name], bool, str | None, bool]:
    """An author list → (names, et_al, group, looks_like_authors).

    Names are kept as printed, consecutive duplicates included: "Wang Y, Wang Y" are often two
    people, so a repeated name is not evidence of a typo.
    """
    text = _spaces(text).strip(" .,;:")
    et_al = False
    if _ET_AL.search(text):
        et_al = True
        text = _ET_AL.sub(",", text)
    if _ELISION.search(text):  # APA 7 elides authors 20..n-1 with ". . ."
        et_al = True
        text = _ELISION.sub(",", text)
    names: list[Name] = []
    group_parts: list[str] = []
    run: list[str] = []  # consecutive tokens that are not names: one collective author
    non_name = False

    def close_run() -> None:
        if run:
            group_parts.append(", ".join(run))
            run.clear()

    for part in re.split(r"\s*;\s*", text):
        tokens = []
        for token in part.split(","):
            tokens.extend(_split_and(token.strip()))
        tokens = [t if _is_initials(t) else t.strip(" .") for t in tokens]
        tokens = [t for t in tokens if t]
        pending: Name | None = None
        for token in tokens:
            if pending is not None and _is_initials(token):
                names[-1] = Name(pending.last, _initials_of(token))
                pending = None
                continue
            if token.strip(".") in {"Jr", "Sr"}:
                continue
            name, waits = _name_from_token(token)
            if name is not None and not (run and waits):
                close_run()
                names.append(name)
                pending = name if waits else None
            else:
                pending = None
                run.append(token)
        close_run()
    group = "; ".join(group_parts) or None
    if group:
        # "Guideline Development Panel for the Treatment of …", "Centers for Disease Control
        # (CDC)": a collective noun or an acronym anywhere makes a run of words a group.
        non_name = not all(_HAS_GROUP_WORD.search(g) or _ACRONYM.search(g) for g in group_parts)
    looks = bool(names or group) and not non_name
    return names, et_al, group, looks


def _name_from_string(text: str) -> Name | None:
    """One author from a structured record: 'Yao, James C.', 'Yao JC', 'James C. Yao'."""
    text = _spaces(text).strip(" ,;")
    if not text:
        return None
    if "," in text:
        last, _, given = text.partition(",")
        given = given.strip()
        if given.lower().strip(".") in {"jr", "sr"}:
            given = ""
        return Name(last.strip(), _given_to_initials(given))
    name, _ = _name_from_token(text)
    if name is not None and name.initials:
        return name
    words = text.split()
    if len(words) > 1:  # "James C. Yao": given names first, the last capitalised run is the surname
        cut = len(words) - 1
        # "Marion de Jong": lower-case particles only; the "E" of "Sara E Boyd" is an initial
        while cut > 0 and words[cut - 1].islower() and words[cut - 1] in _PARTICLES:
            cut -= 1
        return Name(" ".join(words[cut:]), _given_to_initials(" ".join(words[:cut])))
    return Name(text, "")


def _given_to_initials(given: str) -> str:
    if _is_initials(given.replace(" ", "")) or _is_initials(given):
        return _initials_of(given)
    parts = re.split(r"[\s.]+|-(?=[A-Z])", given)
    return "".join(p[0].upper() for p in parts if p and p[0].isalpha())


# -- titles, groups, journals --------------------------------------------------------------------
def _split_group(title: str) -> tuple[str | None, str]:
    """'The SOM230 carcinoid study group. safety and efficacy of ...' → group, real title.

    Only a leading sentence that ends with a collective noun (group, society, participants, ...)
    is a group: 'Neuroendocrine tumors. peptide receptor ...' stays one title.
    """
    m = re.search(r"\.\s+(?=\S)", title)
    if not m:
        return None, title
    first, rest = title[: m.start()], title[m.end():]
    if not _ENDS_WITH_GROUP.search(first) or len(rest.split()) < 2:
        return None, title
    return first.strip(), rest[0].upper() + rest[1:]


def _clean_title(title: str) -> str | None:
    title = _spaces(title).strip(" ,;:")
    for q_open, q_close in (("'", "'"), ('"', '"'), ("\u2018", "\u2019"), ("\u201c", "\u201d")):
        inner = title[1:-1]
        if (len(title) > 2 and title.startswith(q_open) and title.endswith(q_close)
                and q_open not in inner and q_close not in inner):
            title = inner.strip()
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1].rstrip()
    return title or None


def _clean_journal(journal: str) -> str | None:
    journal = _spaces(journal).strip(" ,;:")
    journal = re.sub(r"^(?:in|In)\s*:\s*", "", journal)
    if journal.endswith(".") and not re.search(r"\b[A-Z][a-z]{0,6}\.$", journal[-9:]):
        journal = journal[:-1]
    return journal or None


def _journal_known(name: str) -> bool:
    try:
        from .journals import to_nlm_abbreviation
    except ImportError:  # the table is optional for parsing; it only refines one split
        return False
    return to_nlm_abbreviation(name) is not None


def _sentence_ends(text: str) -> list[re.Match[str]]:
    """Sentence ends outside brackets: '[Biochim. Biophys. Acta, …]' inside a title is one unit."""
    ends = []
    for m in _SENTENCE_END.finditer(text):
        before = text[: m.start()]
        if before.count("(") > before.count(")") or before.count("[") > before.count("]"):
            continue
        ends.append(m)
    return ends


def _split_title_journal(text: str) -> tuple[str, str]:
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
        if _journal_known(text[starts[i]:]):
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


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    pages = re.sub(r"\s*-\s*", "-", pages.strip())
    return pages, pages.split("-")[0]


# -- one reference -------------------------------------------------------------------------------
class _Text:
    """A reference with a normalised twin of equal length: find in one, slice the other."""

    def __init__(self, text: str) -> None:
        self.orig = text
        self.work = text.translate(_NORMALISE)

    def blank(self, start: int, end: int) -> None:
        pad = " " * (end - start)
        self.orig = self.orig[:start] + pad + self.orig[end:]
        self.work = self.work[:start] + pad + self.work[end:]

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = list(pattern.finditer(self.work))
        for m in reversed(found):
            self.blank(m.start(), m.end())
        return found


def _strip_marker(text: str, long_ok: bool = False) -> tuple[str, str | None]:
    """'12. Yao JC…' → ('Yao JC…', '12'); bullets give no number; no marker → (text, None).

    A number of four digits or more ("1000.", "2005.") is a marker only where the list's
    sequence says so (long_ok, see _entries): alone it is as likely a year.
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
    if m and _AUTHOR_START.match(text[m.end():]):
        return text[m.end():], m.group(1)
    return text, None


def parse_reference(text: str, key: str, position: int) -> Citation:
    """One reference in any common text style → Citation; never raises (kind='unparsed')."""
    try:
        return _parse_reference(text, key, position)
    except Exception as exc:  # the contract is "never raises": a bad line must not stop a list
        return _unparsed(key, text, position, f"parser error ({type(exc).__name__})")


def _parse_reference(raw: str, key: str, position: int) -> Citation:
    text = _spaces(unicodedata.normalize("NFC", raw))
    body, _ = _strip_marker(text)
    body = body.strip()
    if not body:
        return _unparsed(key, raw, position, "empty")
    m = _PMID_LINE.match(body)
    if m:
        return Citation(key=key, raw=raw, position=position, kind="pmid", pmid=m.group(1))
    m = _DOI_LINE.match(body.translate(_NORMALISE))
    if m:
        doi = m.group(1).rstrip(".,;")
        return Citation(key=key, raw=raw, position=position, kind="doi", doi=doi)
    if re.fullmatch(r"(?:https?://|www\.)\S+", body, re.I):
        return _unparsed(key, raw, position, "a URL, not a reference")
    if _is_heading(body):
        return _unparsed(key, raw, position, "a heading or a note, not a reference")
    fields = _parse_fields(body)
    if isinstance(fields, str):
        return _unparsed(key, raw, position, fields)
    return Citation(key=key, raw=raw, position=position, **fields)


def _parse_fields(body: str) -> dict | str:
    t = _Text(body)
    doi = None
    for m in t.take(_DOI):
        doi = doi or m.group(1).rstrip(".,;)]")
    pmid = None
    for m in t.take(_PMID_IN_TEXT):
        pmid = pmid or m.group(1)
    t.take(_PMCID_IN_TEXT)
    t.take(_URL)
    t.take(_ACCESSED)
    t.take(_SICI_FRAGMENT)
    t.take(_DANGLING_LABEL)
    t.take(_EPUB_DATE)
    epub = bool(t.take(_EPUB))
    abstracts = t.take(_ABSTRACT)
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
            if by is not None and by.start() > 0 and _parse_authors(work[: by.start()])[3]:
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
        names, et_al, group, _ = _parse_authors(orig[:authors_end])
    else:
        head = work[:middle_end]
        for s in _SENTENCE_END.finditer(head):
            after = head[s.end():]
            if re.match(r"(?:[A-Z]\.|[A-Z][,;]|-[A-Z]|[A-Z]$|et\s+al)", after):
                continue  # still inside spaced initials ("Yao J. C.")
            parsed = _parse_authors(orig[: s.start() + 1])
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
        t_part, j_part = _split_title_journal(mid_orig)
        if j_part or year is not None:
            title, journal = t_part, j_part
        else:
            title = t_part
    title = _clean_title(title or "")
    journal = _clean_journal(journal or "")
    if journal and _PUBLISHER.match(journal):
        journal = None  # "Lyon: IARC" is a book's place and publisher, not a journal
    if title:
        title_group, title = _split_group(title)
        if title_group:
            group = f"{group}; {title_group}" if group else title_group

    if not title:
        return "no title found"
    if year is None and journal is None:
        return "no year or journal found"

    kind = "article"
    page_text, first_page = _pages(pages)
    if abstract_number or PRESENTED.search(body):
        kind = "meeting_abstract"
        page_text = first_page = None
        if journal and PRESENTED.search(journal):
            journal = None  # "Paper presented at: ESMO Congress" is a meeting, not a journal
    elif epub and not volume and not page_text:
        kind = "epub_ahead"
    return dict(
        kind=kind, authors=tuple(names), et_al=et_al, group=group,
        year=int(year) if year else None, title=title, journal=journal,
        volume=volume, issue=_spaces(issue) if issue else None, pages=page_text,
        first_page=first_page, doi=doi, pmid=pmid, abstract_number=abstract_number,
    )


# -- lists of references -------------------------------------------------------------------------
# "Yao JC," "Yao, J. C.," "Phan, AT," "de Jong M." at the start of a line: a new reference.
_AUTHOR_START = re.compile(
    r"^(?!and\s|et\s)(?:[a-z]{1,3}\s+)?[^\W\d_][\w'\u2019-]+(?:[\s-][^\W\d_][\w'\u2019-]+)?,?\s"
    r"(?:[A-Z]\.?\s?-?){1,3}(?:[,.&(;]|\s(?:et|and|&)\b)"
)
# A line that cannot end a reference: a list separator, an open range, an author list that goes
# on ("et al." and APA's ". . ." come before the year, never last), "pp." or "Article" before
# the pages.
_HANGING = re.compile(r"(?:[,;:(&\-\u2010-\u2014]|(?:\.\s*){3}|\u2026|\bet\s+al\.?"
                      r"|(?<![\w-])(?:pp?|vol|no)\.|\barticle(?:\s+(?:no\.?|number))?)\s*$", re.I)
# A URL or DOI cut by a line break: "https://doi.org/10.3389/fendo.2014" + ".00007"
_BROKEN_LINK = re.compile(
    r"(?:(?:https?://|\bdoi\b|\b10\.\d{4,9}/)\S*|\bdoi\s*[:=]?\s*10\.\d*)$", re.I)
_LINK_REST = re.compile(r"^(?!\(?(?:accessed|cited|available|retrieved)\b)"
                        r"[\w./()%:;<>-]*[\d/()%][\w./()%:;<>-]*(?:\s|$)", re.I)
_LINK_LINE = re.compile(r"^(?:doi\s*:|https?://(?:dx\.)?doi\.org/|pmid\s*:|pmcid\s*:"
                        r"|available\s+(?:at|from)\b|retrieved\s+from\b|\(?accessed\b"
                        r"|\[?epub\b|\[cited\b)", re.I)


def _looks_complete(text: str, hanging_ok: bool = False) -> bool:
    """Does this text read as a whole reference (a source with volume/pages, an identifier)?

    hanging_ok: an end that waits for more ("PMID:") does not count against it.
    """
    text = _join_lines(text)
    if _HANGING.search(text) and not hanging_ok:
        return False
    if _is_identifier(text) or _is_url(text):
        return True
    tail = text[-60:]
    if not re.search(r"\d", tail) and not _EPUB.search(tail):
        return False  # a source ends in digits (pages, DOI) or an epub note: skip the parse
    c = parse_reference(text, "", 0)
    if c.kind == "unparsed" or not c.journal:
        return False
    # A bare number after a title fragment ("…the presenilin 1") is no source: a volume counts
    # with a year or with pages.
    return bool((c.year and (c.volume or c.pages)) or (c.volume and c.pages)
                or c.kind != "article" or c.doi)


def _only_adds_a_note(prev: str, line: str) -> bool:
    """Joined to a complete reference, the line leaves its source as it was: the end of a note
    broken off it ("Epub 2023" + "Mar 28."), not a reference of its own or a page header."""
    if _is_heading(line):
        return False
    alone = parse_reference(_join_lines(prev), "", 0)
    joined = parse_reference(_join_lines(f"{prev}\n{line}"), "", 0)

    def source(c: Citation) -> tuple:
        return (c.kind, c.year, c.journal, c.volume, c.first_page)

    return joined.kind != "unparsed" and source(joined) == source(alone)


def _is_url(line: str) -> bool:
    return bool(re.fullmatch(r"(?:https?://|www\.)\S+", line.strip(), re.I))


def _is_identifier(line: str) -> bool:
    work = line.translate(_NORMALISE).strip()
    return bool(_PMID_LINE.match(work) or _DOI_LINE.match(work))


def _is_heading(line: str) -> bool:
    return len(line.split()) <= 3 and not re.search(r"\d", line)


_BULLET_CHARS = "\u2022\u2023\u2043\u2219\u25aa\u25cf\u25e6\u00b7*+>-"
_BULLET = re.compile(rf"^\s*[{_BULLET_CHARS}]\s")


def _starts_entry(line: str, bullets: str = "") -> bool:
    """A numbered line, or one led by a bullet the list uses (see _list_bullets)."""
    if _strip_marker(line, long_ok=True)[1] is not None:
        return True
    m = _BULLET.match(line)
    return bool(m) and line.lstrip()[0] in bullets


def _list_bullets(lines: list[str]) -> str:
    """The bullet characters that mark entries: the first line's, and those leading several
    lines. A title broken at "Scope - Bio-Psycho-Social" leaves one stray "- " line, no bullet."""
    counts: dict[str, int] = {}
    for line in lines:
        if _BULLET.match(line):
            c = line.lstrip()[0]
            counts[c] = counts.get(c, 0) + 1
    first = lines[0].lstrip()[0] if lines and _BULLET.match(lines[0]) else ""
    return first + "".join(c for c, n in counts.items() if n >= max(2, len(lines) // 10))


_DATE_RUN_ON = re.compile(
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec|spring|summer|fall|autumn|winter)"
    r"[a-z]*\.?(?:(?:\s+\d{1,2})?(?:\s*[-/]\s*[A-Za-z]{3,9}\.?(?:\s+\d{1,2})?)?\s*[;:]"
    r"|\s+\d{1,2}\s*[.,])", re.I)
# "Biochem J. 2024;481(2):45-91.": a journal and its source, though "Biochem J." reads as a name.
_SOURCE_START = re.compile(rf"[^.;]{{1,60}}\.\s*{_YEAR}[a-z]?(?:\s+{_MONTH})?\s*[;:(]")


# "Suppl 1:16-21.", "S1:16-21.", "Pt 2(3):…", "e1666.": the rest of a source, never a start.
_SUPPLEMENT_RUN_ON = re.compile(
    r"(?:suppl(?:ement)?\b|(?:pt|part)\.?\s*\d+\s*[:(]|[A-Za-z]{0,6}\d+[A-Za-z\d]*"
    r"(?:\s*[:;(),]|\.?$))", re.I)


_HEADING_WORDS = re.compile(
    r"\b(?:references?|bibliography|literature|works\s+cited|sources|notes|further\s+reading"
    r"|citations?|appendix|supplementary)\b", re.I)


def _starts_with_author(line: str) -> bool:
    """"Yao JC, …", "Phan, A. T. (2010)": a name with more after it. A line that is one name
    and nothing else ("Global Spine J.") is as likely the end of a journal's name."""
    m = _AUTHOR_START.match(line)
    return bool(m) and bool(line[m.end():].strip())


def _unclosed(text: str) -> bool:
    """An opening bracket near the end still waits for its close: "(Accessed: 1" + "March…)"."""
    tail = text[-60:]
    return tail.count("(") > tail.count(")") or tail.count("[") > tail.count("]")


def _cannot_start(line: str, marked_block: bool) -> bool:
    """A line no reference starts with: it can only carry on the one above."""
    if re.fullmatch(r"(?:\d{6,8}|10\.\d{4,9}/\S+)", line.rstrip(".")):
        return False  # a bare PMID or DOI of its own; "7." is the end of a page range
    if _LINK_LINE.match(line) or re.match(r"[.,;:)\]/]|(?:and|&)\s", line):
        return True
    if _DATE_RUN_ON.match(line) or _SUPPLEMENT_RUN_ON.match(line):
        return True  # "Jun; 175: 116695.", "Suppl 1:16-21.": the source broken after its year
    if marked_block:
        return False  # numbered lists mark their starts; the other rules are for unmarked ones
    if re.match(r"\d", line) and not _is_identifier(line):
        return True  # "382(6669), pp. 405-412.": references start with a name, not a number
    return line[:1].islower() and not _AUTHOR_START.match(line)


# "12 ", "12. ", "12) ", "[12] ", "(12) " with a number of any length: see _entries.
_NEXT_NUMBER = re.compile(r"[\[(]?\s*(\d{1,12})\s*[\]).:]?\s+(?=\S)")
# An entry never grows beyond this: past it, the next line starts a new one.
MAX_ENTRY_LINES = 16
MAX_ENTRY_CHARS = 3000


def _entries(text: str) -> list[tuple[str, str | None, str | None]]:
    """Split a list into (entry text, printed number, entry text without its marker) triples.

    Numbered or bulleted lines start entries and unmarked lines continue them; in unmarked
    lists a line continues the previous one only while that one does not yet look complete.
    A bare number counts as a marker when it is the next number of the list ("13 Centers for
    Disease Control (CDC). …"), whatever follows it.
    """
    entries: list[tuple[list[str], str | None, bool, int]] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    last_number = highest = 0  # the number of the last entry, and the highest seen
    for block in re.split(r"\n[ \t\u00a0]*\n", text):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        bullets = _list_bullets(lines) if len(lines) > 1 else _BULLET_CHARS
        starts = [_starts_entry(ln, bullets) for ln in lines]
        # Numbers or bullets mark the block when the first line has one, when it starts at "1."
        # or a bullet under a heading, or when many lines have one: a wrapped "239. https://…"
        # in an author-date list is not a numbered list.
        first_marked = starts.index(True) if any(starts) else None
        marked_block = first_marked is not None and (
            first_marked == 0 or sum(starts) >= max(2, len(lines) // 10)
            or (first_marked <= 2 and _strip_marker(lines[first_marked])[1] in ("1", None)))
        first = True
        for line, marked in zip(lines, starts, strict=True):
            marked = marked and marked_block
            rest, number = _strip_marker(line, long_ok=True) if marked else (line, None)
            # The next number: after the last one, or after the highest when a number that
            # was not a marker ("MRI" + "1. Neurology. 2007;…") threw the count off.
            following = (last_number + 1, highest + 1)
            if number and len(number) > 3 and entries and int(number) not in following:
                marked, rest, number = False, line, None  # "2005. Title…" broken off a line
            cut = len(line) - len(rest) if marked else 0
            # The list's next number starts an entry in any marker form and at any length:
            # "10000 Yao JC…", "100000. …", "[1234567] …" (markers past 999 need the sequence).
            bare = _NEXT_NUMBER.match(line)
            if not marked and bare and int(bare.group(1)) in following and last_number:
                marked, number, cut = True, bare.group(1), bare.end()
            if marked and number and entries and int(number) not in following:
                # "18." after reference 60 is the day of a date broken off the line above, "5."
                # after "Journal of …," a volume
                prev = "\n".join(entries[-1][0])
                body = prev[entries[-1][3]:]  # read without its number: "12598. Tilly JL…"
                if _HANGING.search(prev) or (last_number and (
                        not _looks_complete(body) or _only_adds_a_note(body, line))):
                    marked, number, cut = False, None, 0
            if not first and not marked:
                prev_lines, _, prev_marked, prev_cut = entries[-1]
                prev = "\n".join(prev_lines)
                body = prev[prev_cut:]  # a number past 999 would be read as text
                if len(prev_lines) >= MAX_ENTRY_LINES or len(prev) >= MAX_ENTRY_CHARS:
                    # No reference runs this long: a new one starts, and the work per line
                    # stays bounded, so a list of any length splits in linear time.
                    continues = False
                elif _is_identifier(prev):
                    continues = False  # a PMID or DOI list: one identifier a line
                elif _cannot_start(line, marked_block) or (_BROKEN_LINK.search(prev)
                                                           and _LINK_REST.match(line)):
                    continues = True  # "doi: 10…" under its reference, a DOI broken in two
                elif _is_heading(prev) and (_HEADING_WORDS.search(prev) or prev.endswith(":")
                                            or _AUTHOR_START.match(line)):
                    # "References:" stands alone; "Alzheimer's Disease Collaborative" + "Group.
                    # (1995). …" and "Lee, J., Yu," + "K. (2020)" go on
                    continues = False
                elif _HANGING.search(prev) or _unclosed(prev):
                    continues = True  # "514-" + "23.", "Eur J Cancer," + "37, 1014-9."
                elif marked_block and prev_marked:
                    # In a numbered list an unmarked line starting with no capital ("2(Suppl
                    # 2):e001…" after "2022;38Suppl"; "children. J Pediatr. 1998;…", with a year,
                    # after "A study of 3, 647") carries on the reference above.
                    continues = (not _looks_complete(body) or _only_adds_a_note(body, line)
                                 or (line[:1].islower() and not _is_url(line)
                                     and not _AUTHOR_START.match(line)
                                     and re.search(rf"\b{_YEAR}\b", line) is not None)
                                 or (not line[:1].isupper() and not _is_url(line)
                                     and _looks_complete(f"{body}\n{line}", True)))
                elif (_is_identifier(line) and not re.fullmatch(r"\d{1,5}\.?", line)) or (
                        _starts_with_author(line)
                        and (prev.rstrip()[-1:] in ".)" or _ENDS_WITH_URL.search(prev))
                        and not (_SOURCE_START.match(line) and not _looks_complete(body))):
                    continues = False
                else:
                    continues = not _looks_complete(body) or _only_adds_a_note(body, line)
                if continues:
                    prev_lines.append(line)
                    continue
            first = False
            if number is not None and number.isdigit():
                last_number = int(number)
                highest = max(highest, last_number)
            entries.append(([line], number, marked, cut))
    out = []
    for lines, number, _, cut in entries:
        entry = "\n".join(lines)
        out.append((entry, number, entry[cut:]))
    return out


_LINK_WORDS = ("https://", "http://", "doi:", "doi.org/")
# "… Available from: https://www.who.int/…/en/": a reference may end in a URL, and a line that
# starts with a name after it is the next reference.
_ENDS_WITH_URL = re.compile(r"(?:https?://|www\.)\S+$", re.I)


def _broken_word(out: str, line: str) -> bool:
    """"htt" + "ps://doi.org/…", "d" + "oi:10…": a link's lead-in cut by a line break."""
    for word in _LINK_WORDS:
        for k in range(1, len(word)):
            if (line.lower().startswith(word[k:]) and out.lower().endswith(word[:k])
                    and not out[-k - 1: -k].isalnum()):
                return True
    return False


def _join_lines(entry: str) -> str:
    """Lines of one entry as one text; "514-" + "23", "neuro-" + "endocrine" and the two halves
    of a broken DOI or URL ("htt" + "ps://doi.org/…") join tight."""
    out = ""
    for line in entry.split("\n"):
        line = line.strip()
        if out and (
            (out[-1] in "-" + _DASHES and line[:1].isalnum())
            or re.match(r"[.,;:)\]/]", line)
            or (_BROKEN_LINK.search(out) and _LINK_REST.match(line))
            or _broken_word(out, line)
        ):
            out += line
        else:
            out = f"{out} {line}" if out else line
    return out


Progress = Callable[[str, int], None]
# Lists longer than this are read by worker processes, one per core.
PARALLEL_FROM = 5000
_CHUNK = 500


def parse_reference_list(text: str, progress: Progress | None = None) -> list[Citation]:
    """A pasted reference list → one Citation per entry, unreadable ones as kind='unparsed'.

    progress("read_start", entries) once the list is split, then progress("read", n) as
    entries are read.
    """
    ids = _PMID_SEPARATORS.split(text.strip())
    if len(ids) > 1 and all(_PMID_LINE.match(i) for i in ids) and any(
            len(_PMID_SEPARATORS.split(line.strip())) > 1 for line in text.splitlines()):
        # "11334727, 21306238 15888888": PMIDs on one line (or a few), by commas or spaces
        return [Citation(key=str(n), raw=i, position=n, kind="pmid", pmid=i)
                for n, i in enumerate(ids, start=1)]
    report = progress or (lambda stage, n: None)
    entries = [(entry, number if number is not None else str(position), body, position)
               for position, (entry, number, body) in enumerate(_entries(text), start=1)]
    report("read_start", len(entries))
    chunks = [entries[i: i + _CHUNK] for i in range(0, len(entries), _CHUNK)]
    if len(entries) >= PARALLEL_FROM:
        parallel = _read_in_workers(chunks, report)
        if parallel is not None:
            return parallel
    out: list[Citation] = []
    for chunk in chunks:
        out.extend(_read_entries(chunk))
        report("read", len(chunk))
    return out


def _read_in_workers(chunks: list, report: Progress) -> list[Citation] | None:
    """The chunks read by forked worker processes, one per core; None when that cannot be
    done safely (no fork on this platform, other threads running as in a notebook: forking a
    threaded process can deadlock) or fails: the caller then reads them itself."""
    import multiprocessing
    import threading

    workers = min(os.cpu_count() or 1, 8)
    if (workers < 2 or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return None
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # The model and the journal index, loaded once here, are shared with every worker.
    from .references.labeller import default_labeller

    default_labeller().label("Warm A. Up. J Test. 2000;1:1-2.")
    out: list[Citation] = []
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for chunk, citations in zip(chunks, pool.map(_read_entries, chunks), strict=True):
                out.extend(citations)
                report("read", len(chunk))
    except (BrokenProcessPool, OSError):
        return None
    return out


def _read_entries(chunk: list[tuple[str, str, str, int]]) -> list[Citation]:
    out = []
    for entry, key, body, position in chunk:
        joined = _join_lines(body)
        citation = with_labelled_reading(parse_reference(joined, key, position), joined)
        # raw keeps the entry exactly as given, line breaks included
        out.append(replace(citation, raw=entry,
                           alternatives=tuple(replace(a, raw=entry)
                                              for a in citation.alternatives)))
    return out


def citations_from_texts(texts) -> list[Citation]:
    """One Citation per string (a Python list of references), keyed by position from 1; each
    string is one reference, whatever line breaks it holds."""
    if isinstance(texts, str | bytes):
        raise CitationInputError("a list of reference strings is needed, not one string "
                                 "(pass a Path to read a file)")
    citations = []
    total = 0
    for position, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise CitationInputError(f"reference {position} is a {type(text).__name__}, "
                                     "not a string")
        total += len(text)
        if total > MAX_INPUT_BYTES:
            raise CitationInputError(f"the references are more than the "
                                     f"{MAX_INPUT_BYTES // 1_000_000} MB a list may have")
        joined = _join_lines(text.replace("\r\n", "\n").replace("\r", "\n"))
        key = str(position)
        citation = with_labelled_reading(parse_reference(joined, key, position), joined)
        citations.append(replace(citation, raw=text, alternatives=tuple(
            replace(a, raw=text) for a in citation.alternatives)))
    if not citations:
        raise CitationInputError("no reference given")
    return citations


# What the style rules said a line is, beyond its fields: kept whoever read the fields.
_NOT_REFERENCES = ("a URL, not a reference", "a heading or a note, not a reference", "empty")


def _fields_found(c: Citation) -> int:
    if c.kind == "unparsed":
        return 0
    return sum(bool(x) for x in (c.authors or c.group, c.year, c.title, c.journal, c.volume,
                                 c.first_page))


def with_labelled_reading(citation: Citation, text: str) -> Citation:
    """The rules' reading and the trained labeller's, the fuller one first, the other as an
    alternative the matcher tries too."""
    if citation.kind in ("pmid", "doi") or citation.reason in _NOT_REFERENCES:
        return citation
    from .references.labeller import citation_from_labels, default_labeller

    labelled = citation_from_labels(default_labeller().label(text), citation.key, citation.raw,
                                    citation.position)
    if labelled is None:
        return citation
    kind = citation.kind if citation.kind in ("meeting_abstract", "epub_ahead") else "article"
    if PRESENTED.search(text):
        kind = "meeting_abstract"
    if kind == "epub_ahead" and (labelled.volume or labelled.first_page):
        kind = "article"
    labelled = replace(labelled, kind=kind, reader="labeller",
                       abstract_number=citation.abstract_number,
                       pages=None if kind == "meeting_abstract" else labelled.pages,
                       first_page=None if kind == "meeting_abstract" else labelled.first_page,
                       doi=citation.doi or labelled.doi, pmid=citation.pmid,
                       group=citation.group)
    if _same_reading(citation, labelled):
        return citation
    if _fields_found(labelled) > _fields_found(citation):
        return replace(labelled, alternatives=() if citation.kind == "unparsed"
                       else (citation,))
    return replace(citation, alternatives=(labelled,))


def _same_reading(a: Citation, b: Citation) -> bool:
    def key(c: Citation) -> tuple:
        first = c.first_author.last.lower() if c.first_author else None
        return (first, c.year, (c.title or "").lower().rstrip("."), c.volume, c.first_page)

    return key(a) == key(b)


# -- structured formats --------------------------------------------------------------------------
def _pages_pair(start: str | None, end: str | None) -> str | None:
    start = (start or "").strip()
    end = (end or "").strip()
    if start and end and end != start:
        return f"{start}-{end}"
    return start or None


def _year_of(value) -> int | None:
    if value is None:
        return None
    m = re.search(_YEAR, str(value))
    return int(m.group(0)) if m else None


def _is_meeting_abstract(issue: str | None, pages: str | None, *notes: str | None,
                         typed: bool = False) -> str | None:
    """A structured record of a meeting abstract: returns the abstract number, else None.

    typed: the record's type already says abstract or conference paper.
    """
    for note in notes:
        if note:
            m = _ABSTRACT.search(str(note))
            if m:
                return m.group("number")
    if pages and re.search(r"abstr", pages, re.I):
        m = re.search(r"(\w*\d+\w*)", pages)
        return m.group(1) if m else None
    # JCO's "15_suppl" with pages "4030-4030": an issue's meeting supplement, one abstract. A
    # supplement of its own ("Suppl 2", "S3") holds articles, often on a single page ("S172").
    if (typed or (issue and re.search(r"\d\s*[_ ]?\s*suppl", issue, re.I))) and pages:
        start, _, end = re.sub(r"\s*[-\u2013]\s*", "-", pages).partition("-")
        if not end or end == start:
            return start
    return None


def _structured(key: str, raw: str, position: int, *, authors: Iterable[str], et_al: bool,
                groups: Iterable[str], year, title, journal, volume, issue, pages, doi, pmid,
                notes: Iterable[str | None] = (), type_hint: str = "") -> Citation:
    names: list[Name] = []
    group_list = [g for g in groups if g]
    for a in authors:
        a = _spaces(a)
        if not a:
            continue
        if a.lower() in {"others", "et al", "et al."}:
            et_al = True
            continue
        if (_HAS_GROUP_WORD.search(a) and "," not in a) or len(a.split()) > 5:
            group_list.append(a)
            continue
        name = _name_from_string(a)
        if name is not None:
            names.append(name)
    title = _clean_title(_spaces(title or "")) if title else None
    journal = _clean_journal(_spaces(journal or "")) if journal else None
    issue = _spaces(str(issue)) if issue else None
    volume = _spaces(str(volume)) if volume else None
    pages = re.sub(r"-{2,}", "-", _spaces(str(pages)).translate(_NORMALISE)) if pages else None
    abstract_number = _is_meeting_abstract(issue, pages, *notes)
    if not abstract_number and re.search(r"abst|conf|meeting|cpaper", type_hint, re.I):
        abstract_number = _is_meeting_abstract(issue, pages, typed=True)
    page_text, first_page = _pages(pages)
    kind = "article"
    if abstract_number:
        kind, page_text, first_page = "meeting_abstract", None, None
    elif not volume and not page_text and any(
        n and _EPUB.search(str(n)) for n in notes
    ):
        kind = "epub_ahead"
    doi = _DOI.search(doi).group(1).rstrip(".") if doi and _DOI.search(doi) else None
    pmid = m.group(0) if pmid and (m := re.search(r"\d{1,8}", str(pmid))) else None
    if not title and not doi and not pmid:
        return _unparsed(key, raw, position, "no title in the record")
    if not title:
        return Citation(key=key, raw=raw, position=position, kind="pmid" if pmid else "doi",
                        pmid=pmid, doi=doi)
    group = "; ".join(group_list) or None
    return Citation(
        key=key, raw=raw, position=position, kind=kind, authors=tuple(names), et_al=et_al,
        group=group, year=_year_of(year), title=title, journal=journal, volume=volume,
        issue=issue, pages=page_text, first_page=first_page, doi=doi, pmid=pmid,
        abstract_number=abstract_number,
    )


def _bibtex_entries(text: str) -> list[str]:
    """Entries of a BibTeX file as their own text, so each can be parsed (and fail) alone."""
    entries = []
    i = 0
    for m in re.finditer(r"@\s*(\w+)\s*([{(])", text):
        if m.start() < i:
            continue
        kind = m.group(1).lower()
        opener = m.group(2)
        closer = "}" if opener == "{" else ")"
        depth = 0
        j = m.end() - 1
        end = None
        while j < len(text):
            c = text[j]
            if c == "{" or (opener == "(" and c == "("):
                depth += 1
            elif c == "}" or (opener == "(" and c == ")"):
                depth -= 1
                if depth == 0 and c == closer:
                    break
            elif c == "\n" and _BIBTEX_NEXT_ENTRY.match(text, j):
                end = j  # never closed: it ends where the next entry starts, not inside it
                break
            j += 1
        end = j + 1 if end is None else end
        i = end
        if kind in {"comment", "preamble"}:
            continue
        entries.append(text[m.start(): end])
    return entries


_BIBTEX_NEXT_ENTRY = re.compile(r"\n[ \t]*@\s*[A-Za-z]+\s*[{(]\s*[^\s,{}()=]+\s*,")


def _bibtex_names(value: str) -> list[str]:
    """Split an author field on ' and ' outside braces: '{UK and Ireland … society}' is one."""
    names, depth, start = [], 0, 0
    for m in re.finditer(r"[{}]|\s+and\s+", value):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            names.append(value[start:m.start()])
            start = m.end()
    names.append(value[start:])
    return [n for n in names if n.strip()]


@lru_cache(maxsize=1)
def _latex_converter():
    try:
        from pylatexenc.latex2text import LatexNodes2Text
    except ImportError:  # without pylatexenc, only the protective braces go
        return None
    return LatexNodes2Text(math_mode="verbatim")


def _latex_to_text(value: str) -> str:
    """'{\\"O}berg' → 'Öberg', '{Everolimus}' → 'Everolimus'; plain values pass untouched."""
    if not re.search(r"[\\{}$~]", value):
        return value
    converter = _latex_converter()
    if converter is None:
        return value.replace("{", "").replace("}", "")
    return converter.latex_to_text(value)


_BIBTEX_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^\s,{}()=\"#%'\\~]+)\s*,")


def parse_bibtex(text: str) -> list[Citation]:
    """A BibTeX file → Citations, one per entry (@string macros applied; @comment skipped)."""
    import bibtexparser

    all_entries = _bibtex_entries(text)
    strings = [e for e in all_entries if re.match(r"@\s*string\b", e, re.I)]
    prefix = "\n".join(strings) + "\n"
    citations = []
    position = 0
    for entry_text in all_entries:
        if entry_text in strings:
            continue
        position += 1
        # The entry's own key ("okamoto2020"), so that \cite{okamoto2020} still works on export
        named = _BIBTEX_KEY.match(entry_text)
        key = named.group(1) if named else str(position)
        try:
            citations.append(_bibtex_entry(bibtexparser, prefix, entry_text, key, position))
        except Exception as exc:  # a broken entry becomes 'unparsed', the others go on
            # (RecursionError too: braces nested thousands deep)
            citations.append(_unparsed(key, entry_text[:2000], position,
                                       f"BibTeX entry unreadable ({type(exc).__name__})"))
    return citations


def _bibtex_entry(bibtexparser, prefix: str, entry_text: str, key: str,
                  position: int) -> Citation:
    library = bibtexparser.parse_string(prefix + entry_text)
    if not library.entries:
        return _unparsed(key, entry_text, position, "BibTeX entry unreadable")
    entry = library.entries[0]
    if len(library.entries) > 1 or (_BIBTEX_KEY.match(entry_text) and entry.key != key):
        return _unparsed(key, entry_text, position, "BibTeX entry unreadable")  # another's
    wanted = {"year", "date", "title", "shortjournal", "journal", "journaltitle", "booktitle",
              "volume", "number", "issue", "pages", "doi", "pmid", "note", "annote",
              "pubstate", "keywords"}
    f = {k.lower(): _latex_to_text(str(v.value)) for k, v in entry.fields_dict.items()
         if k.lower() in wanted}
    raw_authors = entry.fields_dict.get("author")
    authors: list[str] = []
    groups: list[str] = []
    et_al = False
    if raw_authors is not None:
        for part in _bibtex_names(_spaces(str(raw_authors.value))):
            stripped = part.strip()
            if stripped.startswith("{") and stripped.endswith("}"):
                groups.append(_latex_to_text(stripped))  # {RADIANT-3 Study Group}
            elif stripped.lower() == "others":
                et_al = True
            elif m := re.fullmatch(r"([^,{}]+?)\s+\{([^{}]+)\}", stripped):
                # "R. E. {Curiel Cid}": the braced run is the whole surname
                authors.append(_latex_to_text(f"{m.group(2)}, {m.group(1)}"))
            else:
                authors.append(_latex_to_text(stripped))
    return _structured(
        key, entry_text, position, authors=authors, et_al=et_al, groups=groups,
        year=f.get("year") or f.get("date"), title=f.get("title"),
        journal=(f.get("shortjournal") or f.get("journal") or f.get("journaltitle")
                 or f.get("booktitle")),
        volume=f.get("volume"), issue=f.get("number") or f.get("issue"),
        pages=f.get("pages"), doi=f.get("doi"), pmid=f.get("pmid"),
        notes=(f.get("note"), f.get("annote"), f.get("pubstate"), f.get("keywords")),
        type_hint=entry.entry_type,
    )


def _ris_records(text: str) -> list[str]:
    records, current = [], []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if re.match(r"^TY  -", line) and current:
            records.append("\n".join(current))  # a record whose ER line is missing
            current = []
        if line.strip() or current:
            current.append(line)
        if re.match(r"^ER  -", line):
            records.append("\n".join(current))
            current = []
    if any(ln.strip() for ln in current):
        records.append("\n".join(current))
    return [r.strip("\n") for r in records if r.strip()]


def parse_ris(text: str) -> list[Citation]:
    """An RIS file → Citations, one per TY…ER record."""
    import rispy

    citations = []
    for position, record in enumerate(_ris_records(text), start=1):
        key = str(position)
        body = record if re.search(r"^ER  -", record, re.M) else record + "\nER  - "
        try:
            parsed = rispy.loads(body)
        except Exception as exc:  # one bad record must not lose the rest
            citations.append(_unparsed(key, record, position,
                                       f"RIS record unreadable ({type(exc).__name__})"))
            continue
        if not parsed:
            citations.append(_unparsed(key, record, position, "RIS record unreadable"))
            continue
        r = parsed[0]
        authors = [*r.get("authors", []), *r.get("first_authors", [])]
        # The abbreviation first (JA, J2, JO), as ECitMatch wants it; then the full name.
        journal = (r.get("alternate_title2") or r.get("alternate_title1") or
                   r.get("journal_name") or r.get("secondary_title") or
                   r.get("alternate_title3"))
        type_hint = r.get("type_of_reference", "")
        citations.append(_structured(
            key, record, position, authors=authors, et_al=False, groups=[],
            year=r.get("year") or r.get("publication_year") or r.get("date"),
            title=r.get("title") or r.get("primary_title"), journal=journal,
            volume=r.get("volume"), issue=r.get("number"),
            pages=_pages_pair(r.get("start_page"), r.get("end_page")), doi=r.get("doi"),
            pmid=_ris_pmid(r), notes=(*r.get("notes", []), r.get("note"), type_hint),
            type_hint=type_hint,
        ))
    return citations


def _ris_pmid(record: dict) -> str | None:
    for value in (record.get("accession_number"), record.get("custom1")):
        if value and re.fullmatch(r"\s*\d{1,8}\s*", str(value)):
            return str(value).strip()
    # EndNote and RefWorks put it in a note: "N1  - PMID: 21306238"
    for note in (*record.get("notes", []), record.get("note")):
        m = _PMID_IN_TEXT.search(str(note or ""))
        if m:
            return m.group(1)
    return None


def _medline_records(text: str) -> list[str]:
    records, current = [], []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if re.match(r"^PMID- ", line) and current:
            records.append("\n".join(current))
            current = []
        if line.strip() or current:
            current.append(line.rstrip())
    if current:
        records.append("\n".join(current))
    return [r.strip("\n") for r in records if r.strip()]


def parse_medline(text: str) -> list[Citation]:
    """PubMed's own export ("PubMed format", .nbib): every record carries its PMID."""
    citations = []
    for position, record in enumerate(_medline_records(text), start=1):
        fields: dict[str, list[str]] = {}
        tag = None
        for line in record.split("\n"):
            m = re.match(r"^([A-Z0-9]{2,4}) *- (.*)$", line)
            if m:
                tag = m.group(1)
                fields.setdefault(tag, []).append(m.group(2).strip())
            elif tag and line.startswith(" "):  # a long field goes on, indented
                fields[tag][-1] += " " + line.strip()
        first = {k: v[0] for k, v in fields.items()}
        doi = next((x.split(" [")[0] for x in fields.get("LID", []) + fields.get("AID", [])
                    if x.endswith("[doi]")), None)
        citation = _structured(
            str(position), record, position, authors=fields.get("AU", []), et_al=False,
            groups=fields.get("CN", []), year=first.get("DP"), title=first.get("TI"),
            journal=first.get("TA") or first.get("JT"), volume=first.get("VI"),
            issue=first.get("IP"), pages=first.get("PG"), doi=doi, pmid=first.get("PMID"),
            notes=(first.get("PST"),),
        )
        if citation.pmid:  # the PMID is the link itself; the other fields are for display
            citation = replace(citation, kind="pmid")
        citations.append(citation)
    return citations


def _csl_name(author: dict) -> str:
    if author.get("literal"):
        return ""
    family = " ".join(x for x in (_scalar(author.get("non-dropping-particle")),
                                  _scalar(author.get("family"))) if x)
    return f"{family}, {_scalar(author.get('given')) or ''}".strip(" ,")


def _scalar(value) -> str | None:
    """A CSL-JSON value where text belongs: numbers as text, a list's first text, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and value:
        return _scalar(value[0])
    return None


def _load_json(text: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise CitationInputError("the JSON is nested too deeply to be a reference list") from None


def parse_csl_json(text: str) -> list[Citation]:
    """CSL-JSON (a list of items, or one item) → Citations; an item that cannot be read becomes
    'unparsed' with the reason, and the others go on."""
    data = _load_json(text)
    items = data if isinstance(data, list) else data.get("items", [data]) if isinstance(
        data, dict) else []
    if not isinstance(items, list):
        items = [items]
    citations = []
    for position, item in enumerate(items, start=1):
        try:
            citations.append(_csl_item(item, position))
        except RecursionError:
            citations.append(_unparsed(str(position), "", position,
                                       "CSL-JSON item nested too deeply"))
        except Exception as exc:  # one odd item must not stop the list
            citations.append(_unparsed(str(position), _short_json(item), position,
                                       f"CSL-JSON item unreadable ({type(exc).__name__})"))
    return citations


def _short_json(item) -> str:
    try:
        return json.dumps(item, ensure_ascii=False)[:2000]
    except (TypeError, ValueError, RecursionError):
        return ""


def _csl_item(item, position: int) -> Citation:
    key = str(position)
    if isinstance(item, str):  # ["21306238", "10.1056/…", "Yao JC, … 2011;364:514-23."]
        return parse_reference(item, key, position)
    if isinstance(item, int) and not isinstance(item, bool):
        return parse_reference(str(item), key, position)
    raw = _short_json(item)
    if not isinstance(item, dict):
        return _unparsed(key, raw, position, "CSL-JSON item is not an object")
    authors = item.get("author") or []
    if not isinstance(authors, list):
        authors = []
    groups = [_scalar(a["literal"]) for a in authors
              if isinstance(a, dict) and _scalar(a.get("literal"))]
    names = [_csl_name(a) for a in authors if isinstance(a, dict) and not a.get("literal")]
    # The abbreviation first, as ECitMatch wants it; then the full name.
    journal = (_scalar(item.get("container-title-short"))
               or _scalar(item.get("journalAbbreviation"))
               or _scalar(item.get("container-title")))
    return _structured(
        key, raw, position, authors=names, et_al=False, groups=groups,
        year=_csl_year(item), title=_scalar(item.get("title")), journal=journal,
        volume=_scalar(item.get("volume")), issue=_scalar(item.get("issue")),
        pages=_scalar(item.get("page")),
        doi=_scalar(item.get("DOI")) or _scalar(item.get("doi")),
        pmid=_scalar(item.get("PMID")) or _scalar(item.get("pmid")),
        notes=(_scalar(item.get("note")), _scalar(item.get("status"))),
        type_hint=_scalar(item.get("type")) or "",
    )


def _csl_year(item: dict) -> int | None:
    for field in ("issued", "published-print", "published-online", "created"):
        value = item.get(field)
        if isinstance(value, dict):
            parts = value.get("date-parts")
            if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
                return _year_of(_scalar(parts[0][0]))
            for k in ("raw", "literal"):
                if _scalar(value.get(k)):
                    return _year_of(_scalar(value[k]))
        elif _scalar(value):
            return _year_of(_scalar(value))
    return None


# -- format detection and files ------------------------------------------------------------------
def detect_format(text: str) -> str:
    """'csl-json', 'bibtex', 'ris', 'medline' or 'text', from the content alone."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "[{":
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        except RecursionError:
            raise CitationInputError("the JSON is nested too deeply to be a reference list") \
                from None
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        dicts = [i for i in items if isinstance(i, dict)]
        if items and any(
            {"title", "container-title", "DOI", "author", "issued"} & set(i) for i in dicts
        ):
            return "csl-json"
        if items and isinstance(data, list) and all(
            isinstance(i, str) or (isinstance(i, int) and not isinstance(i, bool)) for i in items
        ):
            return "csl-json"  # a JSON list of PMIDs, DOIs or reference strings
    if re.search(r"^\s*@\s*(?:article|inproceedings|incollection|book|misc|conference|"
                 r"proceedings|inbook|phdthesis|mastersthesis|techreport|unpublished|online|"
                 r"report)\s*[{(]", stripped, re.I | re.M):
        return "bibtex"
    if re.search(r"^PMID- *\d+", stripped, re.M):
        return "medline"
    if re.search(r"^TY  - ", stripped, re.M) and re.search(r"^(?:ER  -|TI  -|T1  -|AU  -)",
                                                             stripped, re.M):
        return "ris"
    return "text"


_PARSERS: dict[str, Callable[[str], list[Citation]]] = {
    "csl-json": parse_csl_json,
    "medline": parse_medline,
    "bibtex": parse_bibtex,
    "ris": parse_ris,
    "text": parse_reference_list,
}


def parse_references(text: str, fmt: str | None = None,
                     progress: Progress | None = None) -> list[Citation]:
    """A whole reference file's text → Citations; the format is detected when not given."""
    fmt = fmt or detect_format(text)
    if fmt == "text":
        return parse_reference_list(text, progress)
    return _PARSERS[fmt](text)


_BINARY_MAGIC = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (Word, Excel or similar)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"{\\rtf", "an RTF document"),
)


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252: what reference managers save."""
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise CitationInputError(f"{path}: {what}, not a text file; export the references "
                                     "as text, BibTeX, RIS or CSL-JSON")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CitationInputError(f"{path}: not readable as UTF-16 text") from exc
    if b"\x00" in data:
        raise CitationInputError(f"{path}: a binary file, not a reference list")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise CitationInputError(f"{path}: not a text file (neither UTF-8 nor "
                                     "Windows-1252)") from exc
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v")
    if controls > max(2, len(text) // 100):
        raise CitationInputError(f"{path}: a binary file, not a reference list")
    return text


# A reference list of 100,000 entries is about 25 MB; nothing larger is read.
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_input(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a reference file: a regular file (not a FIFO, a device such as /dev/zero,
    or a socket, whatever a symlink points at), at most `limit` bytes."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CitationInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CitationInputError(f"{path}: a directory, not a file") from None
    except OSError as exc:
        raise CitationInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise CitationInputError(f"{path}: a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise CitationInputError(f"{path}: not a regular file (a device, pipe or socket)")
        if info.st_size > limit:
            raise CitationInputError(f"{path}: {info.st_size // 1_000_000} MB, more than the "
                                     f"{limit // 1_000_000} MB a reference list may have")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # the file grew while it was read
            raise CitationInputError(f"{path}: more than the {limit // 1_000_000} MB a "
                                     "reference list may have")
        return b"".join(chunks)
    except OSError as exc:
        raise CitationInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_references(path: str | Path) -> list[Citation]:
    """Read a reference file of any supported format; CitationInputError if it has none."""
    path = Path(path)
    return references_from_bytes(read_input(path), str(path))


def references_from_bytes(data: bytes, name: str,
                          progress: Progress | None = None) -> list[Citation]:
    """Decode, detect the format and parse; `name` (a path, "<stdin>") names it in errors."""
    path = Path(name)
    if len(data) > MAX_INPUT_BYTES:
        raise CitationInputError(f"{name}: more than the {MAX_INPUT_BYTES // 1_000_000} MB a "
                                 "reference list may have")
    text = _decode(data, path)
    if not text.strip():
        raise CitationInputError(f"{name}: empty file")
    fmt = "text"
    try:
        fmt = detect_format(text)
        citations = parse_references(text, fmt, progress)
    except RecursionError:
        raise CitationInputError(f"{name}: nested too deeply to be read as {fmt}") from None
    except ValueError as exc:  # a JSON file that json.loads refuses after all
        if isinstance(exc, CitationInputError):
            raise CitationInputError(f"{name}: {exc}") from None
        raise CitationInputError(f"{name}: not readable as {fmt} ({exc})") from exc
    if not citations or all(c.kind == "unparsed" for c in citations):
        raise CitationInputError(f"{name}: no reference found")
    return citations
