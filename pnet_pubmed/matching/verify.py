"""Verification: how well a record fits a citation (a score, and the conflicts that rule it
out), the Match decided from the candidates, and where a matched reference differs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..journals import Journals
from ..values import Article, Citation, Match
from .fields import (
    cited_journal_forms,
    first_page,
    fold,
    journal_forms,
    surname_key,
    title_variants,
    volume_key,
)

WEIGHTS = {"title": 0.40, "author": 0.20, "year": 0.10, "volume": 0.10, "page": 0.10,
           "journal": 0.10}
ACCEPT_SCORE = 0.75
TITLE_STRONG = 0.85
TITLE_WEAK = 0.60
AMBIGUITY_MARGIN = 0.05
# A later paper of the same study, named for the user but never linked.
RELATED_TITLE = 0.55


@dataclass(frozen=True)
class Verdict:
    """How well one record fits one citation: a score in [0, 1] and what rules it out."""

    pmid: str
    score: float
    accepted: bool
    parts: dict = field(default_factory=dict, compare=False)
    conflicts: tuple[str, ...] = ()
    where: str = ""  # "Lancet Oncol 2015", to name a record in a reason
    reading: Citation | None = field(default=None, compare=False)  # the reading judged


# Records about another record: never the article a reference cites, however well the title
# fits ("Retraction: <title>", "Erratum for <title>", "Comment on <title>").
NOTICE_TYPES = {"Retraction of Publication": "a retraction notice",
                "Published Erratum": "an erratum",
                "Expression of Concern": "an expression of concern"}
NOTICE_REF_TYPES = {"RetractionOf": "a retraction notice", "ErratumFor": "an erratum",
                    "ExpressionOfConcernFor": "an expression of concern"}
_NOTICE_TITLE = re.compile(
    r"^\W*(?:(?:notice\s+of\s+)?retraction(?:\s+(?:note|notice|statement))?|retracted\s+article"
    r"|errat(?:um|a)|correction|corrigendum|addendum|expression\s+of\s+concern|comment(?:ary)?"
    r"\s+on|response\s+to|reply\s+to|re)\b\s*(?:[:.\-]|to\b|for\b|on\b|\W*[\"'\u201c])",
    re.I)


def notice_kind(article: Article) -> str | None:
    """'a retraction notice', 'an erratum', … when the record is about another record."""
    for pt in article.publication_types:
        if pt.name in NOTICE_TYPES:
            return NOTICE_TYPES[pt.name]
    for cc in article.comments_corrections:
        if cc.ref_type in NOTICE_REF_TYPES:
            return NOTICE_REF_TYPES[cc.ref_type]
    if _NOTICE_TITLE.match(article.title or ""):
        return "a notice or a comment about another article"
    return None


def title_similarity(citation: Citation, article: Article) -> float | None:
    variants = title_variants(citation)
    if not variants or not article.title:
        return None
    target = fold(re.sub(r"^\[|\]\.?$", "", article.title.strip()))
    best = 0.0
    for variant in variants:
        v = fold(variant)
        if not v:
            continue
        score = fuzz.ratio(v, target) / 100
        if min(len(v), len(target)) >= 40:
            # A subtitle left out by one side: the shorter must sit inside the longer.
            score = max(score, 0.95 * fuzz.partial_ratio(v, target) / 100)
        elif min(len(v), len(target)) >= 20:
            # A short title inside a longer one is weak evidence: forgiven only when journal,
            # volume, page and author agree (see verify).
            score = max(score, min(TITLE_STRONG - 0.01, fuzz.partial_ratio(v, target) / 100))
        best = max(best, score)
    return best


def verify(citation: Citation, article: Article, journals: Journals | None = None) -> Verdict:
    """Score a record against the citation's fields; conflicts on hard facts reject it outright."""
    parts: dict[str, float] = {}
    conflicts: list[str] = []

    title = title_similarity(citation, article)
    if title is not None:
        parts["title"] = title

    author = citation.first_author
    if author or citation.group:
        record_names = [surname_key(a.last_name or a.collective_name) for a in article.authors]
        cited = surname_key(author.last if author else citation.group)
        if record_names and cited == record_names[0]:
            parts["author"] = 1.0
        elif cited and cited in record_names:
            parts["author"] = 0.5
        elif record_names:
            parts["author"] = 0.0

    if citation.year and article.year:
        gap = abs(citation.year - article.year)
        parts["year"] = 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0

    if citation.volume and article.volume:
        same = volume_key(citation.volume) == volume_key(article.volume)
        parts["volume"] = 1.0 if same else 0.0
        if not same:
            conflicts.append(f"volume {article.volume} is not {citation.volume}")

    cited_page = first_page(citation.first_page or citation.pages)
    record_page = first_page(article.start_page or article.pages or article.elocation)
    if cited_page and record_page:
        same = cited_page == record_page
        parts["page"] = 1.0 if same else 0.0
        if not same:
            conflicts.append(f"first page {record_page} is not {cited_page}")

    cited_journals = cited_journal_forms(citation, journals)
    if cited_journals:
        parts["journal"] = 1.0 if cited_journals & journal_forms(article) else 0.0

    coordinates = (parts.get("volume") == 1.0 and parts.get("page") == 1.0
                   and parts.get("journal", 1.0) == 1.0)
    if "year" in parts and parts["year"] == 0.0 and not coordinates:
        conflicts.append(f"year {article.year} is not {citation.year}")

    if citation.kind == "meeting_abstract":
        # PubMed does not index meeting abstracts; a record can only be the same item if it sits in
        # the same journal volume of the same year. Later full papers of the trial never do.
        for key, label in (("journal", "journal"), ("volume", "volume"), ("year", "year")):
            if parts.get(key) != 1.0:
                conflicts.append(f"meeting abstract, record differs in {label}")
                break

    weight = sum(WEIGHTS[k] for k in parts)
    score = sum(WEIGHTS[k] * v for k, v in parts.items()) / weight if weight else 0.0

    if title is None:
        title_ok = coordinates and parts.get("journal") == 1.0 and parts.get("year", 0) >= 0.5
    elif title >= TITLE_STRONG:
        title_ok = True
    else:
        # A garbled title is forgiven only when journal, volume, page and author all agree.
        title_ok = (title >= TITLE_WEAK and coordinates and parts.get("journal") == 1.0
                    and parts.get("author", 1.0) > 0)
    same_doi = bool(citation.doi and article.doi
                    and citation.doi.strip().lower() == article.doi.strip().lower())
    if same_doi:
        if title is not None and title < TITLE_WEAK and parts.get("author", 1.0) == 0.0:
            # A real identifier with another work's title and authors: the commonest pattern
            # of a fabricated reference. Linked to neither.
            conflicts.append(f"the printed DOI {citation.doi} is a record of another title and "
                             "first author")
        else:
            # A DOI names one work: it stands in for the title when nothing hard disagrees.
            title_ok, score = True, max(score, 0.99)
    if not title_ok and not conflicts:
        conflicts.append(f"title similarity {title:.2f}" if title is not None else "no title")
    if (citation.kind == "article" and citation.title and not same_doi
            and "author" not in parts and "year" not in parts and not conflicts
            and not (coordinates and parts.get("journal") == 1.0
                     and (title or 0) >= TITLE_STRONG)):
        # Weak evidence: with neither author nor year to check, title, journal, volume and
        # page must all agree.
        conflicts.append("neither first author nor year could be checked, and title, journal, "
                         "volume and page do not all agree")
    notice = notice_kind(article)
    if notice and not _NOTICE_TITLE.match(citation.title or ""):
        conflicts.append(f"the record is {notice}, not the article")
    accepted = not conflicts and score >= ACCEPT_SCORE
    journal = article.medline_ta or article.iso_abbreviation or article.journal_title
    where = f"{journal} {article.year}"
    return Verdict(article.pmid, round(score, 4), accepted, parts, tuple(conflicts), where,
                   citation)


def short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def disagreements(citation: Citation, article: Article,
                  journals: Journals | None = None) -> tuple[str, ...]:
    """Where a matched reference differs from its record, in short phrases a user can act on."""
    notes = []
    if citation.year and article.year and citation.year != article.year:
        notes.append(f"year {citation.year} in the reference, {article.year} in the record")
    if citation.volume and article.volume and citation.volume.strip() != article.volume.strip():
        notes.append(f"volume {citation.volume} in the reference, {article.volume} in the record")
    cited_pages = citation.pages or citation.first_page
    if cited_pages and article.pages and fold(cited_pages) != fold(article.pages):
        record_pages = article.pages
        if first_page(cited_pages) != first_page(record_pages) or not _same_range(
                cited_pages, record_pages):
            notes.append(f"pages {cited_pages} in the reference, {record_pages} in the record")
    cited = cited_journal_forms(citation, journals)
    if cited and not cited & journal_forms(article):
        notes.append(f"journal {citation.journal!r} in the reference, "
                     f"{article.medline_ta or article.journal_title!r} in the record")
    similarity = title_similarity(citation, article)
    if similarity is not None and similarity < 0.97:
        notes.append(f"title differs from the record's: {short(article.title)!r}")
    author = citation.first_author
    if author and article.authors:
        names = [surname_key(a.last_name or a.collective_name) for a in article.authors]
        cited_name = surname_key(author.last)
        if cited_name != names[0]:
            first = article.authors[0]
            record_name = first.last_name or first.collective_name or ""
            if cited_name in names:
                notes.append(f"first author {author.last!r} is author "
                             f"{names.index(cited_name) + 1} in the record")
            else:
                notes.append(f"first author {author.last!r} in the reference, "
                             f"{record_name!r} in the record")
    if citation.doi and article.doi and citation.doi.lower() != article.doi.lower():
        notes.append(f"DOI {citation.doi} in the reference, {article.doi} in the record")
    return tuple(notes)


def _same_range(cited: str, record: str) -> bool:
    """"514-523" and NLM's "514-23" are one range."""
    def bounds(pages: str) -> tuple[str, str]:
        m = re.match(r"\s*([A-Za-z]*)(\d+)\s*-\s*[A-Za-z]*(\d+)", pages)
        if not m:
            return (fold(pages), "")
        start, end = m.group(2), m.group(3)
        if len(end) < len(start):
            end = start[: len(start) - len(end)] + end
        return (m.group(1).lower() + start.lstrip("0"), end.lstrip("0"))
    return bounds(cited) == bounds(record)


def _folded_raw(raw: str) -> str:
    # PDF hyphenation ("Endo- scopic") joins up; everything else as fold() has it.
    return fold(re.sub(r"(?<=[a-z])-\s+(?=[a-z])", "", raw))


def raw_support(raw: str, article: Article) -> str | None:
    """Does the reference string itself show this record? None when it does, else what is
    missing. The check reads the raw string, not parsed fields, so a misread field cannot
    make a wrong record look right."""
    text = _folded_raw(raw)
    words = set(text.split())
    title = fold(re.sub(r"^\[|\]\.?$", "", (article.title or "").strip()))
    title_in = bool(title) and fuzz.partial_ratio(title, text) >= (90 if len(title) < 30
                                                                   else 85)
    year_in = article.year is not None and any(
        str(article.year + d) in words or f"{article.year + d}a" in words for d in (0, -1, 1))
    volume = volume_key(article.volume)
    page = first_page(article.start_page or article.pages or article.elocation)
    source_in = bool(volume and page and volume in words and page in words)
    first = article.first_author
    surname = fold((first.last_name or first.collective_name or "") if first else "")
    author_in = bool(surname) and surname in text[: max(80, len(text) // 2)]
    if title_in and (author_in or year_in or source_in):
        return None
    if source_in and year_in and author_in:
        return None  # a garbled title, but everything else is printed
    missing = [name for name, ok in (("title", title_in), ("first author", author_in),
                                     ("year", year_in), ("volume and page", source_in)) if not ok]
    return "the reference does not show the record's " + ", ".join(missing)


def judge(citation: Citation, article: Article, journals: Journals | None = None) -> Verdict:
    """The best verdict of the record over the citation's readings. A reading by the trained
    labeller must also be borne out by the raw string."""
    best: Verdict | None = None
    for reading in citation.readings:
        v = verify(reading, article, journals)
        if v.accepted and reading.reader == "labeller":
            missing = raw_support(citation.raw, article)
            if missing:
                v = Verdict(v.pmid, v.score, False, v.parts, (*v.conflicts, missing), v.where)
        if best is None or (v.accepted, v.score) > (best.accepted, best.score):
            best = v
    assert best is not None
    return best


def decide(citation: Citation, articles: Iterable[Article], method: str,
           journals: Journals | None = None) -> Match:
    """The Match for a citation given the records that searches brought back."""
    articles = list(articles)
    verdicts = sorted((judge(citation, a, journals) for a in articles), key=lambda v: -v.score)
    accepted = [v for v in verdicts if v.accepted]
    if not accepted:
        return Match(citation.key, "not_found", method=method, reason=_why_not(citation, verdicts))
    best = accepted[0]
    rivals = [v for v in accepted[1:] if best.score - v.score < AMBIGUITY_MARGIN]
    if rivals:
        pmids = tuple(v.pmid for v in [best, *rivals])
        return Match(citation.key, "ambiguous", candidates=pmids, method=method, score=best.score,
                     reason=f"{len(pmids)} records fit equally well")
    article = next(a for a in articles if a.pmid == best.pmid)
    notes = disagreements(best.reading or citation, article, journals)
    return Match(citation.key, "matched", pmid=best.pmid, method=method, score=best.score,
                 notes=notes)



def _why_not(citation: Citation, verdicts: list[Verdict]) -> str:
    if citation.kind == "meeting_abstract":
        head = "meeting abstract: PubMed does not index conference abstracts"
        related = [v for v in verdicts if v.parts.get("title", 0) >= RELATED_TITLE
                   and v.parts.get("author", 0) > 0]
        if related:
            v = max(related, key=lambda v: v.parts["title"])
            return f"{head}; the full paper of the study may be PMID {v.pmid} ({v.where})"
        return head
    else:
        head = "no PubMed record fits"
    if verdicts:
        v = verdicts[0]
        detail = "; ".join(v.conflicts) or f"score {v.score:.2f}"
        return f"{head} (closest: PMID {v.pmid}, {detail})"
    return f"{head} (no candidate found)"
