"""What every reader of references shares: character classes, source patterns, field clean-ups."""

from __future__ import annotations

import re

from ..values import Citation

# -- character classes ---------------------------------------------------------------------------
# Every dash and quote variant maps to one ASCII character, one for one, so that a normalised copy
# of a reference keeps the same character positions as the text and can be sliced in parallel.
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032`\u00b4"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
NORMALISE = str.maketrans(
    {**{c: "-" for c in DASHES}, **{c: "'" for c in _SINGLE_QUOTES},
     **{c: '"' for c in _DOUBLE_QUOTES}}
)
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000]+")

YEAR = r"(?:1[89]\d\d|20\d\d)"
# Pages and e-locators: "514", "vii124", "S224", "e0092424", "eadn0327", "ooae099", "1360006".
PAGE = r"[A-Za-z]{0,6}\d+[A-Za-z\d]*"
_RANGE = rf"{PAGE}(?:\s*-\s*{PAGE})?"
PAGES = rf"{_RANGE}(?:\s*,\s*{_RANGE})*"  # "67-8, 73": a range and a page further on
VOLUME = r"\d+[A-Za-z]?"
# A supplement printed beside the volume: "82 Suppl 3", "38Suppl 2", "112 S3", "23 Pt 2".
SUPPLEMENT = r"(?:Suppl(?:ement)?\.?|S(?=\d)|Pt\.?|Part)\s*\w{0,4}"
# Before the pages: "p.", "pp.", APA's "Article" / "Article No." for e-locators.
PAGE_PREFIX = r"(?:(?:pp?\.?|article(?:\s+(?:no\.?|number))?)\s*)?"
ISSUE = r"\((?P<issue>[^()]{1,30})\)"
MONTH = r"[A-Za-z]{3,9}\.?(?:\s+\d{1,2})?"

EPUB = re.compile(
    r"\[?\s*(?:e-?pub(?:lished)?|published\s+online|online)\s+(?:ahead\s+of|before)\s+print\s*\]?"
    r"|\badvance\s+online\s+publication\b|\[?\(?\bin\s+press\b\)?\]?",
    re.I,
)
ABSTRACT = re.compile(
    r"\(?\s*(?:(?:suppl(?:ement)?|meeting)\s*[;,]?\s*)?"
    r"\b(?:meeting\s+)?abstr(?:act)?\.?\s*(?:no\.?\s*|number\s*|#\s*)?"
    r"(?P<number>[A-Z]{0,4}-?\d+[A-Za-z]?)\b\s*\)?",
    re.I,
)
# A talk or poster: "Paper presented at: ESMO Congress; 2018; Munich" (no PubMed record).
PRESENTED = re.compile(
    r"\b(?:(?:paper|poster|talk|abstract|lecture)\s+)?presented\s+at\b|\bposter\s+session\b"
    r"|\b(?:oral|poster)\s+presentation\b", re.I)


def may_hold(text: str, *words: str) -> bool:
    """False only when a pattern compiled with re.I that needs one of these lower-case words
    cannot match the text: an ASCII text that holds none of them in any case. Any other text
    may (re.I matches "ſ", "ı", "K" (Kelvin) to ASCII letters), and is searched."""
    if not text.isascii():
        return True
    lower = text.lower()
    return any(w in lower for w in words)


PRESENTED_NEEDS = ("present", "poster")


def is_presented(text: str) -> bool:
    """PRESENTED.search(text), skipped when the text has no word it needs."""
    return may_hold(text, *PRESENTED_NEEDS) and PRESENTED.search(text) is not None


# In an ASCII text, the white space other than the space (two spaces are the other change).
_ASCII_ODD_SPACES = re.compile(r"[\t\n\r\f\v\x1c-\x1f]")


def spaces(text: str) -> str:
    """Every run of white space as one space, none at the ends."""
    if text.isascii() and "  " not in text and not _ASCII_ODD_SPACES.search(text):
        return text.strip()  # single spaces only: nothing to join
    return _SPACES.sub(" ", text).strip()


def unparsed(key: str, raw: str, position: int, why: str) -> Citation:
    return Citation(key=key, raw=raw, position=position, kind="unparsed", reason=f"unparsed: {why}")


def clean_title(title: str) -> str | None:
    title = spaces(title).strip(" ,;:")
    for q_open, q_close in (("'", "'"), ('"', '"'), ("\u2018", "\u2019"), ("\u201c", "\u201d")):
        inner = title[1:-1]
        if (len(title) > 2 and title.startswith(q_open) and title.endswith(q_close)
                and q_open not in inner and q_close not in inner):
            title = inner.strip()
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1].rstrip()
    return title or None


def clean_journal(journal: str) -> str | None:
    journal = spaces(journal).strip(" ,;:")
    journal = re.sub(r"^(?:in|In)\s*:\s*", "", journal)
    if journal.endswith(".") and not re.search(r"\b[A-Z][a-z]{0,6}\.$", journal[-9:]):
        journal = journal[:-1]
    return journal or None


def split_pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    pages = re.sub(r"\s*-\s*", "-", pages.strip())
    return pages, pages.split("-")[0]

