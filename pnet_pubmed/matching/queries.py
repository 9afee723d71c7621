"""What is asked of PubMed for a citation: its ECitMatch line, its ESearch query (and whether a
record answers that query), and the reading of an ECitMatch answer line."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..journals import Journals
from ..util import chunked
from ..values import Article, Citation
from .fields import (
    STOPWORDS,
    cited_journal_forms,
    first_page,
    fold,
    journal_forms,
    nlm_journal,
    query_titles,
    surname_key,
    title_variants,
    volume_key,
)


def ecitmatch_line(citation: Citation, tag: str, journals: Journals | None = None) -> str | None:
    """journal|year|volume|first_page|author|key| — or None when ECitMatch cannot place it."""
    if citation.kind not in ("article", "epub_ahead") or not citation.journal:
        return None
    page = first_page(citation.first_page or citation.pages)
    known = [x for x in (citation.year, citation.volume, page) if x]
    if len(known) < 2:
        return None
    author = citation.first_author
    author_field = f"{author.last} {author.initials}".strip() if author else ""

    fields = [nlm_journal(citation, journals), citation.year, citation.volume, page,
              author_field, tag]
    return "|".join(_clean_field(f) for f in fields) + "|"


_FIELD_BREAKS = re.compile(r"[|\r\n]+")


def _clean_field(value) -> str:
    text = str(value or "")
    if "|" in text or "\r" in text or "\n" in text:  # else there is nothing to replace
        text = _FIELD_BREAKS.sub(" ", text)
    return text.strip().lower()


def quoted(term: str) -> str:
    return '"' + term.replace('"', " ").strip() + '"'


def title_words(title: str, limit: int = 6) -> list[str]:
    words = [w for w in fold(title).split() if len(w) >= 4 and w not in STOPWORDS]
    seen: list[str] = []
    for w in words:
        if w not in seen:
            seen.append(w)
    # The longest words are the rarest in practice; keep them in their printed order.
    chosen = set(sorted(seen, key=len, reverse=True)[:limit])
    return [w for w in seen if w in chosen]


def fallback_query(citation: Citation, journals: Journals | None = None) -> str | None:
    """A PubMed query that should bring back the citation's record among few others: the
    clauses of every reading of it, each once."""
    clauses: list[str] = []
    for reading in citation.readings:
        for clause in _fallback_clauses(reading, journals):
            if clause not in clauses:
                clauses.append(clause)
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    return " OR ".join(f"({a})" for a in clauses)


def _fallback_clauses(citation: Citation, journals: Journals | None) -> list[str]:
    if citation.kind in ("unparsed", "pmid"):
        return []
    if citation.kind == "doi":
        return [f"{quoted(citation.doi)}[doi]"] if citation.doi else []
    if citation.kind == "meeting_abstract":
        later = _later_paper_query(citation)
        return [later] if later else []
    years = f"{citation.year - 1}:{citation.year + 1}[dp]" if citation.year else None
    journal_name = nlm_journal(citation, journals)
    journal = f"{quoted(journal_name)}[ta]" if journal_name else None
    author = citation.first_author
    alternatives = []
    if author and (journal or years):
        alternatives.append(" AND ".join(x for x in (_author_term(author), years, journal) if x))
    for title in query_titles(citation):
        words = title_words(title)
        if len(words) >= 3:
            clause = " AND ".join(f"{w}[ti]" for w in words)
            alternatives.append(f"{clause} AND {years}" if years else clause)
    page = first_page(citation.first_page or citation.pages)
    if journal and citation.volume and page:
        alternatives.append(f"{journal} AND {citation.volume}[vi] AND {page}[pg]")
    if citation.doi:
        alternatives.append(f"{quoted(citation.doi)}[doi]")
    return alternatives


# A trial reported at a meeting is usually published in full within a few years, elsewhere.
LATER_PAPER_YEARS = 6


def _author_term(author) -> str:
    return quoted(f"{fold(author.last)} {author.initials[:1].lower()}".strip()) + "[1au]"


def _later_paper_query(citation: Citation) -> str | None:
    """Meeting abstracts have no record; look for the later full paper to name it in the reason."""
    if not citation.year:
        return None
    years = f"{citation.year - 1}:{citation.year + LATER_PAPER_YEARS}[dp]"
    words = title_words(title_variants(citation)[-1]) if citation.title else []
    alternatives = []
    if citation.first_author and words:
        some = " OR ".join(f"{w}[tiab]" for w in words[:3])
        alternatives.append(f"{_author_term(citation.first_author)} AND {years} AND ({some})")
    if len(words) >= 3:
        alternatives.append(" AND ".join(f"{w}[ti]" for w in words) + f" AND {years}")
    return " OR ".join(f"({a})" for a in alternatives) or None


def _answers_later_paper_query(citation: Citation, article: Article) -> bool:
    if not citation.year or not article.year:
        return False
    if not citation.year - 1 <= article.year <= citation.year + LATER_PAPER_YEARS:
        return False
    words = title_words(title_variants(citation)[-1]) if citation.title else []
    title = set(fold(article.title).split())
    author = citation.first_author
    if author and words and article.authors and _same_first_author(author, article):
        text = title | set(fold(article.abstract_text).split())
        if any(w in text for w in words[:3]):
            return True
    return len(words) >= 3 and set(words) <= title


def _same_first_author(author, article: Article) -> bool:
    first = article.authors[0]
    initial = fold(author.initials)[:1]
    return (surname_key(first.last_name) == surname_key(author.last)
            and (not initial or fold(first.initials or "").startswith(initial)))


def answers_query(citation: Citation, article: Article, journals: Journals | None = None) -> bool:
    """Would PubMed return this record for the citation's own fallback query (of any of its
    readings)?"""
    return any(_answers_query(reading, article, journals) for reading in citation.readings)


def _answers_query(citation: Citation, article: Article, journals: Journals | None) -> bool:
    """Would PubMed return this record for this reading's fallback query?

    Combined ESearch requests return the union for many citations; checking each record against
    the citation's own query locally gives every citation the same candidates however the
    citations were batched, so a resumed or re-batched run decides exactly as an unbroken one.
    """
    if citation.doi and article.doi and citation.doi.lower() == article.doi.lower():
        return True
    if citation.kind == "meeting_abstract":
        return _answers_later_paper_query(citation, article)
    near_year = (citation.year is None or article.year is None
                 or abs(citation.year - article.year) <= 1)
    cited = cited_journal_forms(citation, journals)
    same_journal = bool(cited & journal_forms(article)) if cited else None
    author = citation.first_author
    if author and article.authors and near_year and same_journal is not False:
        if _same_first_author(author, article) and (cited or citation.year):
            return True
    if near_year:
        record_words = set(fold(article.title).split())
        for title in query_titles(citation):
            words = title_words(title)
            if len(words) >= 3 and set(words) <= record_words:
                return True
    page = first_page(citation.first_page or citation.pages)
    if same_journal and citation.volume and page:
        record_page = first_page(article.start_page or article.pages or article.elocation)
        if volume_key(citation.volume) == volume_key(article.volume) and page == record_page:
            return True
    return False


def combine_queries(queries: Sequence[str], size: int) -> list[str]:
    """OR the per-citation queries together, `size` at a time, so requests do not grow per item."""
    return [" OR ".join(f"({q})" for q in group) for group in chunked(queries, size)]


def ecitmatch_pmid(answer: str) -> tuple[str | None, str]:
    """(pmid, status text) from an answer line 'journal|year|volume|page|author|key|RESULT'."""
    result = answer.rstrip("\r\n").split("|")[6].strip() if answer.count("|") >= 6 else ""
    return (result, "found") if result.isdigit() else (None, result or "NOT_FOUND")
