"""A structured record's fields (BibTeX, RIS, MEDLINE, CSL-JSON) made into a Citation."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..values import Citation, CitationKind, Name
from .common import (
    ABSTRACT,
    EPUB,
    NORMALISE,
    YEAR,
    clean_journal,
    clean_title,
    spaces,
    split_pages,
    unparsed,
)
from .ids import DOI
from .names import HAS_GROUP_WORD, name_from_string


def pages_pair(start: str | None, end: str | None) -> str | None:
    start = (start or "").strip()
    end = (end or "").strip()
    if start and end and end != start:
        return f"{start}-{end}"
    return start or None


def year_of(value) -> int | None:
    if value is None:
        return None
    m = re.search(YEAR, str(value))
    return int(m.group(0)) if m else None


def _is_meeting_abstract(issue: str | None, pages: str | None, *notes: str | None,
                         typed: bool = False) -> str | None:
    """A structured record of a meeting abstract: returns the abstract number, else None.

    typed: the record's type already says abstract or conference paper.
    """
    for note in notes:
        if note:
            m = ABSTRACT.search(str(note))
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


def structured(key: str, raw: str, position: int, *, authors: Iterable[str], et_al: bool,
                groups: Iterable[str], year, title, journal, volume, issue, pages, doi, pmid,
                notes: Iterable[str | None] = (), type_hint: str = "") -> Citation:
    names: list[Name] = []
    group_list = [g for g in groups if g]
    for a in authors:
        a = spaces(a)
        if not a:
            continue
        if a.lower() in {"others", "et al", "et al."}:
            et_al = True
            continue
        if (HAS_GROUP_WORD.search(a) and "," not in a) or len(a.split()) > 5:
            group_list.append(a)
            continue
        name = name_from_string(a)
        if name is not None:
            names.append(name)
    title = clean_title(spaces(title or "")) if title else None
    journal = clean_journal(spaces(journal or "")) if journal else None
    issue = spaces(str(issue)) if issue else None
    volume = spaces(str(volume)) if volume else None
    pages = re.sub(r"-{2,}", "-", spaces(str(pages)).translate(NORMALISE)) if pages else None
    abstract_number = _is_meeting_abstract(issue, pages, *notes)
    if not abstract_number and re.search(r"abst|conf|meeting|cpaper", type_hint, re.I):
        abstract_number = _is_meeting_abstract(issue, pages, typed=True)
    page_text, first_page = split_pages(pages)
    kind: CitationKind = "article"
    if abstract_number:
        kind, page_text, first_page = "meeting_abstract", None, None
    elif not volume and not page_text and any(
        n and EPUB.search(str(n)) for n in notes
    ):
        kind = "epub_ahead"
    found = DOI.search(doi) if doi else None
    doi = found.group(1).rstrip(".") if found else None
    pmid = m.group(0) if pmid and (m := re.search(r"\d{1,8}", str(pmid))) else None
    if not title and not doi and not pmid:
        return unparsed(key, raw, position, "no title in the record")
    if not title:
        return Citation(key=key, raw=raw, position=position, kind="pmid" if pmid else "doi",
                        pmid=pmid, doi=doi)
    group = "; ".join(group_list) or None
    return Citation(
        key=key, raw=raw, position=position, kind=kind, authors=tuple(names), et_al=et_al,
        group=group, year=year_of(year), title=title, journal=journal, volume=volume,
        issue=issue, pages=page_text, first_page=first_page, doi=doi, pmid=pmid,
        abstract_number=abstract_number,
    )
