"""RIS files (EndNote, Zotero, Mendeley exports): TY…ER records read by rispy."""

from __future__ import annotations

import re

from ..values import Citation
from .common import unparsed
from .ids import PMID_IN_TEXT
from .structured import pages_pair, structured


def _ris_records(text: str) -> list[str]:
    records: list[str] = []
    current: list[str] = []
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
            citations.append(unparsed(key, record, position,
                                       f"RIS record unreadable ({type(exc).__name__})"))
            continue
        if not parsed:
            citations.append(unparsed(key, record, position, "RIS record unreadable"))
            continue
        r = parsed[0]
        authors = [*r.get("authors", []), *r.get("first_authors", [])]
        # The abbreviation first (JA, J2, JO), as ECitMatch wants it; then the full name.
        journal = (r.get("alternate_title2") or r.get("alternate_title1") or
                   r.get("journal_name") or r.get("secondary_title") or
                   r.get("alternate_title3"))
        type_hint = r.get("type_of_reference", "")
        citations.append(structured(
            key, record, position, authors=authors, et_al=False, groups=[],
            year=r.get("year") or r.get("publication_year") or r.get("date"),
            title=r.get("title") or r.get("primary_title"), journal=journal,
            volume=r.get("volume"), issue=r.get("number"),
            pages=pages_pair(r.get("start_page"), r.get("end_page")), doi=r.get("doi"),
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
        m = PMID_IN_TEXT.search(str(note or ""))
        if m:
            return m.group(1)
    return None
