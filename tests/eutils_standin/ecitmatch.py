"""ECitMatch's citation matcher: journal|year|volume|first_page|author|key| -> PMID or a verdict."""

from __future__ import annotations

import re

from .corpus import Corpus, search_author
from .textnorm import phrase_key


def match_citation(corpus: Corpus, line: str) -> str:
    """The result NCBI appends to one bdata line: a PMID, NOT_FOUND[;INVALID_JOURNAL], AMBIGUOUS."""
    fields = [f.strip() for f in line.split("|")] + [""] * 6
    journal, year, volume, page, author = fields[:5]
    if not any((journal, year, volume, page, author)):
        return "NOT_FOUND"
    if journal:
        bits = corpus.exact["ta"].get(phrase_key(journal), 0)
        if not bits:
            return "NOT_FOUND;INVALID_JOURNAL"
    else:
        # NCBI also answers journal-less citations; every other given field must still match.
        bits = corpus.universe
    if year:
        bits &= corpus.exact["year"].get(year, 0)
    if volume:
        bits &= corpus.exact["vi"].get(volume.lower(), 0)
    if page:
        # A range given as the page ("515-20") is matched on its first page.
        bits &= corpus.exact["fp"].get(re.split(r"[-\s]", page.lower(), maxsplit=1)[0], 0)
    if author and bits:
        bits &= search_author(corpus, author, "any")
    n = bits.bit_count()
    if n == 1:
        return corpus.records[bits.bit_length() - 1].pmid
    if n > 1:
        return f"AMBIGUOUS ({n} citations)"
    return "NOT_FOUND"


def split_bdata(bdata: str) -> list[str]:
    """Citation lines; NCBI documents "\\r" between them, "\\n" and "\\r\\n" are accepted too."""
    return [line for line in re.split(r"\r\n|\r|\n", bdata) if line.strip()]


def ecitmatch_text(corpus: Corpus, bdata: str) -> str:
    out = []
    for line in split_bdata(bdata):
        # Lines normally end with the key's "|"; add one if not so the result stays a field.
        sep = "" if line.endswith("|") else "|"
        out.append(f"{line}{sep}{match_citation(corpus, line)}\n")
    return "".join(out)
