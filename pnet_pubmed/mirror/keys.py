"""The lookup keys of a mirror record, computed the way the matcher compares fields.

Loading stores them (mirror_records, mirror_journals, mirror_title_words) and matching looks
citations up by them, so both sides must fold alike: every key comes from matching.fields'
functions (fold, surname_key, volume_key, first_page, journal_forms, STOPWORDS). The lookups only
gather candidates; matching.answers_query and verification still decide on the full records,
so a key that is too coarse costs time, never a wrong link.

KEYS_VERSION is stored with every loaded file: a change to how keys are made must raise it, so
that a mirror built with other keys is recognised (mirror status says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from pnet_pubmed.matching.fields import (
    STOPWORDS,
    first_page,
    fold,
    journal_forms,
    surname_key,
    volume_key,
)
from pnet_pubmed.values import Article

KEYS_VERSION = 1
# matching.title_words keeps words of at least this many letters that are not stopwords.
MIN_TITLE_WORD = 4
# Title words of a record without a year are stored under this year.
NO_YEAR = 0


@dataclass(frozen=True)
class RecordKeys:
    pmid: str
    year: int | None
    volume: str | None
    page: str | None
    author: str | None  # surname of the first author, folded, without spaces
    initial: str | None  # the first letter of the first author's initials, folded
    journal: str | None  # the journal's canonical key (see journal_key)
    doi: str | None  # lower case
    journals: frozenset[str]  # every folded form of the journal name the record carries
    title_words: frozenset[str]


def journal_key(article: Article) -> str | None:
    """One key per journal: its MedlineTA folded, else the ISO abbreviation, else the title."""
    for name in (article.medline_ta, article.iso_abbreviation, article.journal_title):
        if name and (key := fold(name)):
            return key
    return None


def record_title_words(title: str | None) -> frozenset[str]:
    """The words of a title that matching.title_words can ask for."""
    return frozenset(w for w in fold(title or "").split()
                     if len(w) >= MIN_TITLE_WORD and w not in STOPWORDS)


def record_keys(article: Article) -> RecordKeys:
    first = article.authors[0] if article.authors else None
    author = surname_key(first.last_name) if first and first.last_name else ""
    initial = fold(first.initials or "")[:1] if first else ""
    page = first_page(article.start_page or article.pages or article.elocation)
    doi = (article.doi or "").strip().lower()
    return RecordKeys(
        pmid=article.pmid,
        year=article.year,
        volume=volume_key(article.volume) or None,
        page=page or None,
        author=author or None,
        initial=initial or None,
        journal=journal_key(article),
        doi=doi or None,
        journals=frozenset(journal_forms(article)),
        title_words=record_title_words(article.title),
    )
