"""PMIDs and DOIs: a line that is only an identifier, a list of PMIDs, identifiers in a text."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..values import Citation
from .common import NORMALISE

PMID_LINE = re.compile(r"^(?:pmid\s*[:=]?\s*)?(\d{1,8})\.?$", re.I)
PMID_SEPARATORS = re.compile(r"\s*[,;]\s*|\s+")
DOI = re.compile(
    r"(?:\b(?:available\s+(?:from|at)|retrieved\s+from)\s*:?\s*)?"  # Harvard's and APA 6's lead-in
    r"(?:\bdoi\s*[:=]?\s*|https?://(?:dx\.)?doi\.org/|\bdoi\.org/)?\b(10\.\d{4,9}/[^\s\"<>]+)",
    re.I,
)
DOI_LINE = re.compile(
    r"^(?:doi\s*[:=]?\s*|https?://(?:dx\.)?doi\.org/|doi\.org/)?(10\.\d{4,9}/\S+)$", re.I
)
PMID_IN_TEXT = re.compile(r"\bPMID\s*:?\s*(\d{1,8})\b\.?", re.I)
PMCID_IN_TEXT = re.compile(r"\bPMCID\s*:?\s*PMC\d+\b\.?", re.I)


def is_identifier(line: str) -> bool:
    work = line.translate(NORMALISE).strip()
    return bool(PMID_LINE.match(work) or DOI_LINE.match(work))


def identifier_citation(body: str, key: str, raw: str, position: int) -> Citation | None:
    """A reference that is a PMID or a DOI and nothing else; None for any other text."""
    m = PMID_LINE.match(body)
    if m:
        return Citation(key=key, raw=raw, position=position, kind="pmid", pmid=m.group(1))
    m = DOI_LINE.match(body.translate(NORMALISE)) if "10." in body else None
    if m:
        doi = m.group(1).rstrip(".,;")
        return Citation(key=key, raw=raw, position=position, kind="doi", doi=doi)
    return None


def pmids_on_a_line(text: str) -> list[Citation] | None:
    """"11334727, 21306238 15888888": PMIDs on one line (or a few), by commas or spaces; None
    when the text is anything else."""
    ids = []
    for word in _split(text.strip()):
        if not PMID_LINE.match(word):
            return None  # a reference list: no need to split all of it into words
        ids.append(word)
    if len(ids) > 1 and any(
            len(PMID_SEPARATORS.split(line.strip())) > 1 for line in text.splitlines()):
        return [Citation(key=str(n), raw=i, position=n, kind="pmid", pmid=i)
                for n, i in enumerate(ids, start=1)]
    return None


def _split(text: str) -> Iterator[str]:
    """PMID_SEPARATORS.split(text), one word at a time (the separator never matches empty)."""
    start = 0
    for m in PMID_SEPARATORS.finditer(text):
        yield text[start: m.start()]
        start = m.end()
    yield text[start:]
