"""The forms in which a citation's fields and a record's are compared: folded text, surname,
volume and first-page keys, journal names, and the title variants a printed title stands for."""

from __future__ import annotations

import re
from functools import lru_cache

from ..journals import Journals
from ..text import strip_diacritics
from ..values import Article, Citation

STOPWORDS = frozenset(
    """a an and are as at be but by for from in into is it its of on or the their this to
    with without versus vs via after before between during among than that these those which
    who whom what when where how our we was were has have had not no""".split()
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, no diacritics, punctuation to spaces, single spaces: the form we compare."""
    text = re.sub(r"[^0-9a-z]+", " ", strip_diacritics(text).lower())
    return text.strip()


def surname_key(name: str | None) -> str:
    """Surnames compare without spaces, hyphens or apostrophes: "O'Toole" == "OToole"."""
    return fold(name or "").replace(" ", "")


def volume_key(volume: str | None) -> str:
    """"82 Suppl 3", "82(Suppl 3)" and "82" are one volume; the first page tells them apart."""
    folded = fold(volume or "")
    number = re.match(r"0*(\d+)", folded)
    if number:
        return number.group(1)
    return folded.split()[0] if folded else ""


def first_page(pages: str | None) -> str | None:
    if not pages or pages.startswith("10."):  # an ELocationID that is a DOI is not a page
        return None
    m = re.match(r"\s*([A-Za-z]*\d+[A-Za-z]*)", pages)
    return m.group(1).lower().lstrip("0") or "0" if m else None


_PDF_BREAK = re.compile(r"(?<=[a-z])- (?=[a-z])")


def title_variants(citation: Citation) -> list[str]:
    """The title as given, and the part after a leading heading ("Tumors. peptide therapy");
    a word broken at a PDF line end ("elec- tron") is joined up."""
    variants = []
    if citation.title:
        title = _PDF_BREAK.sub("", citation.title)
        variants.append(title)
        # A lower-case word after ". " means the text before it is a heading or a group name.
        m = re.search(r"[.:;]\s+(?=[a-z])", title)
        if m and len(title) - m.end() > 15:
            variants.append(title[m.end():])
    return variants


def query_titles(citation: Citation) -> list[str]:
    """The titles to search with: the whole title, and the part after a short heading. A
    long main title before a lower-case subtitle stays: the subtitle alone ("randomised
    controlled trial") would bring back thousands of records."""
    variants = title_variants(citation)
    if len(variants) == 2 and len(variants[0]) - len(variants[1]) > 0.4 * len(variants[0]):
        return variants[:1]
    return variants


def journal_forms(article: Article) -> set[str]:
    names = (article.iso_abbreviation, article.medline_ta, article.journal_title)
    forms = {fold(x) for x in names if x}
    # "European journal of cancer (Oxford, England : 1990)": the part before the place matters.
    if article.journal_title and "(" in article.journal_title:
        forms.add(fold(article.journal_title.split("(")[0]))
    return {f for f in forms if f}


def known_journals(journals: Journals | None) -> Journals:
    """What a run knows of journals: the shipped table when it passes none."""
    return Journals.shipped() if journals is None else journals


def nlm_journal(citation: Citation, journals: Journals | None = None) -> str | None:
    """The NLM abbreviation ECitMatch and [ta] want; the printed name when `journals` (the
    shipped table when None) lacks it."""
    if not citation.journal:
        return None
    return known_journals(journals).to_nlm_abbreviation(citation.journal) or citation.journal


def cited_journal_forms(citation: Citation, journals: Journals | None = None) -> set[str]:
    if not citation.journal:
        return set()
    forms = {fold(citation.journal)}
    abbreviation = known_journals(journals).to_nlm_abbreviation(citation.journal)
    if abbreviation:
        forms.add(fold(abbreviation))
    return {f for f in forms if f}
