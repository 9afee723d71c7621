"""Citation -> Match: ECitMatch in batches, combined ESearch fallbacks, and a verification score."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import fuzz

from .journals import Journals
from .text import strip_diacritics
from .values import Article, Citation, Match

# -- text normalisation ------------------------------------------------------------------------
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


def _journals(journals: Journals | None) -> Journals:
    return Journals.shipped() if journals is None else journals


def nlm_journal(citation: Citation, journals: Journals | None = None) -> str | None:
    """The NLM abbreviation ECitMatch and [ta] want; the printed name when `journals` (the
    shipped table when None) lacks it."""
    if not citation.journal:
        return None
    return _journals(journals).to_nlm_abbreviation(citation.journal) or citation.journal


def cited_journal_forms(citation: Citation, journals: Journals | None = None) -> set[str]:
    if not citation.journal:
        return set()
    forms = {fold(citation.journal)}
    abbreviation = _journals(journals).to_nlm_abbreviation(citation.journal)
    if abbreviation:
        forms.add(fold(abbreviation))
    return {f for f in forms if f}


# -- verification ------------------------------------------------------------------------------
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


def _short(text: str, n: int = 60) -> str:
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
        notes.append(f"title differs from the record's: {_short(article.title)!r}")
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


# -- queries -----------------------------------------------------------------------------------
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

    def clean(value) -> str:
        return re.sub(r"[|\r\n]+", " ", str(value or "")).strip().lower()

    fields = [nlm_journal(citation, journals), citation.year, citation.volume, page,
              author_field, tag]
    return "|".join(clean(f) for f in fields) + "|"


def _quoted(term: str) -> str:
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
        return [f"{_quoted(citation.doi)}[doi]"] if citation.doi else []
    if citation.kind == "meeting_abstract":
        later = _later_paper_query(citation)
        return [later] if later else []
    years = f"{citation.year - 1}:{citation.year + 1}[dp]" if citation.year else None
    journal = f"{_quoted(nlm_journal(citation, journals))}[ta]" if citation.journal else None
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
        alternatives.append(f"{_quoted(citation.doi)}[doi]")
    return alternatives


# A trial reported at a meeting is usually published in full within a few years, elsewhere.
LATER_PAPER_YEARS = 6


def _author_term(author) -> str:
    return _quoted(f"{fold(author.last)} {author.initials[:1].lower()}".strip()) + "[1au]"


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
    return [" OR ".join(f"({q})" for q in queries[i : i + size])
            for i in range(0, len(queries), size)]


# -- identifiers printed in a reference ------------------------------------------------------
def _with_note(m: Match, note: str) -> Match:
    if m.status == "matched":
        return replace(m, notes=(*m.notes, note))
    return replace(m, reason=f"{m.reason}; {note}" if m.reason else note)


def _check_printed_ids(citation: Citation, m: Match, run: MatchRun,
                       journals: Journals | None) -> Match:
    """A PMID or DOI printed in a full reference is used, and checked: when its record does not
    fit the printed title and authors, the reference is linked to neither that record nor
    another one silently; the reason says what disagrees."""
    checks: list[tuple[str, str, Article]] = []
    if citation.pmid:
        record = run.articles.get(citation.pmid)
        if record is None:
            if citation.pmid in run.unreadable:
                return m
            return _with_note(m, f"the printed PMID {citation.pmid} has no PubMed record")
        checks.append(("PMID", citation.pmid, record))
    if citation.doi:
        doi = citation.doi.lower()
        record = next((a for a in run.articles.values() if a.doi and a.doi.lower() == doi), None)
        if record is not None and all(record.pmid != r.pmid for _, _, r in checks):
            checks.append(("DOI", citation.doi, record))
    for label, ident, record in checks:
        v = judge(citation, record, journals)
        named = f"the printed {label} {ident} is PMID {record.pmid}"
        if v.accepted:
            if m.status == "matched" and m.pmid == record.pmid:
                continue
            if m.status == "matched":
                return Match(citation.key, "ambiguous", candidates=(m.pmid or "", record.pmid),
                             method=m.method, score=m.score,
                             reason=f"{named}, and PMID {m.pmid} fits the reference too")
            return Match(citation.key, "matched", pmid=record.pmid, method=label.lower(),
                         score=v.score,
                         notes=disagreements(v.reading or citation, record, journals))
        what = "; ".join(v.conflicts) or f"score {v.score:.2f}"
        described = f"{named}, another work ({_short(record.title, 50)!r}, {v.where}: {what})"
        if m.status == "matched":
            return Match(citation.key, "ambiguous", candidates=(m.pmid or "", record.pmid),
                         method=m.method, score=m.score,
                         reason=f"{described}; PMID {m.pmid} fits the title and authors")
        return Match(citation.key, "not_found", method=m.method, reason=described)
    return m


# -- a matching run ----------------------------------------------------------------------------
@dataclass
class MatchRun:
    """Matches by citation key, and every record fetched on the way (matched or not)."""

    matches: dict[str, Match] = field(default_factory=dict)
    articles: dict[str, Article] = field(default_factory=dict)
    # Records that came back but could not be read: PMID -> "PubMed record PMID N could not …".
    unreadable: dict[str, str] = field(default_factory=dict)

    def matched_articles(self) -> list[Article]:
        pmids = {m.pmid for m in self.matches.values() if m.status == "matched" and m.pmid}
        return [self.articles[p] for p in sorted(pmids, key=int) if p in self.articles]


Progress = Callable[[str, int], None]
# More hits than this for a group of per-citation queries means one of them went broad.
MAX_CANDIDATES = 2000


def _ecitmatch_pmid(answer: str) -> tuple[str | None, str]:
    """(pmid, status text) from an answer line 'journal|year|volume|page|author|key|RESULT'."""
    result = answer.rstrip("\r\n").split("|")[6].strip() if answer.count("|") >= 6 else ""
    return (result, "found") if result.isdigit() else (None, result or "NOT_FOUND")


class Matcher:
    """ECitMatch, ESearch and EFetch for a batch of citations, with as few requests as it can."""

    def __init__(self, client, progress: Progress | None = None,
                 journals: Journals | None = None):
        self.client = client
        self.progress = progress or (lambda stage, n: None)
        self.journals = _journals(journals)  # what the run knows of journals, passed on

    def fetch(self, pmids: Iterable[str], run: MatchRun) -> None:
        missing = sorted({p for p in pmids if p not in run.articles}, key=int)
        if not missing:
            return
        records = self.client.efetch_records(missing)
        for article in records.articles:
            run.articles[article.pmid] = article
        run.unreadable.update((e.pmid, str(e)) for e in records.errors if e.pmid)
        self.progress("fetched", len(missing))

    def search(self, citations: Sequence[Citation]) -> set[str]:
        ids = self._search_terms([q for q in (fallback_query(c, self.journals) for c in citations)
                                  if q])
        self.progress("searched", len(citations))
        return ids

    def _search_group(self, queries: list[str]) -> set[str]:
        """One ESearch for the group; halves of it when the answer is implausibly large.

        PubMed drops a term it does not know and searches with the rest, so one citation's
        query can turn broad and flood the union; halving finds it and leaves it out.
        """
        count, found = self.client.esearch(combine_queries(queries, len(queries))[0],
                                           retmax=MAX_CANDIDATES)
        if count <= MAX_CANDIDATES:
            return set(found)
        if len(queries) == 1:
            return set()  # too broad to tell anything: the citation goes on without it
        middle = len(queries) // 2
        return self._search_group(queries[:middle]) | self._search_group(queries[middle:])

    def run(self, citations: Sequence[Citation]) -> MatchRun:
        run = MatchRun()
        todo: list[Citation] = []
        given: dict[str, str] = {}
        for c in citations:
            if c.kind == "unparsed":
                run.matches[c.key] = Match(c.key, "not_found", method="parse",
                                           reason=c.reason or "unparsed")
            elif c.kind == "pmid" and c.pmid:
                given[c.key] = c.pmid
            else:
                todo.append(c)

        # Round 1: ECitMatch for the citations it can place, ESearch for the rest, one EFetch.
        # One ECitMatch line a reference: its first reading that ECitMatch can place. The
        # other readings get their chance in the ESearch rounds.
        lines, tagged = [], {}
        for i, c in enumerate(todo):
            for j, reading in enumerate(c.readings):
                line = ecitmatch_line(reading, f"r{i}" if j == 0 else f"r{i}.{j}", self.journals)
                if line:
                    lines.append(line)
                    tagged[line.rsplit("|", 2)[1]] = c
                    break
        found: dict[str, list[str]] = {}
        if lines:
            for answer in self.client.ecitmatch(lines):
                tag = answer.split("|")[5] if answer.count("|") >= 6 else ""
                pmid, _ = _ecitmatch_pmid(answer)
                if pmid and tag in tagged and pmid not in found.get(tagged[tag].key, []):
                    found.setdefault(tagged[tag].key, []).append(pmid)
            self.progress("ecitmatch", len(lines))
        fallback = [c for c in todo if c.key not in found]
        candidates = self.search(fallback) if fallback else set()
        printed = {c.pmid for c in todo if c.pmid}
        self.fetch({p for ps in found.values() for p in ps} | candidates | set(given.values())
                   | printed, run)

        for key, pmid in given.items():
            if pmid in run.articles:
                run.matches[key] = Match(key, "matched", pmid=pmid, method="pmid", score=1.0)
            elif pmid in run.unreadable:
                run.matches[key] = Match(key, "pending", method="pmid", reason=run.unreadable[pmid])
            else:
                run.matches[key] = Match(key, "not_found", method="pmid",
                                         reason=f"no PubMed record with PMID {pmid}")

        failed_ecitmatch: list[Citation] = []
        for c in todo:
            if c.key in found:
                articles = [run.articles[p] for p in found[c.key] if p in run.articles]
                m = decide(c, articles, "ecitmatch", self.journals)
                if m.status == "matched":
                    run.matches[c.key] = m
                else:
                    failed_ecitmatch.append(c)
            else:
                run.matches[c.key] = decide(c, self._pool(c, candidates, run), "esearch",
                                            self.journals)

        # Round 2: ECitMatch answers that failed verification get the ESearch treatment too.
        if failed_ecitmatch:
            extra = self.search(failed_ecitmatch)
            self.fetch(extra, run)
            for c in failed_ecitmatch:
                pool = self._pool(c, extra | set(found[c.key]), run)
                m = decide(c, pool, "esearch", self.journals)
                unread = next((run.unreadable[p] for p in found[c.key] if p in run.unreadable),
                              None)
                if unread and m.status != "matched":
                    # ECitMatch named a record that could not be read: undecided, not absent.
                    m = Match(c.key, "pending", method="ecitmatch", reason=unread)
                run.matches[c.key] = m
        # A printed DOI that the linked record does not carry names another record, or none:
        # find it (one ESearch for all of them) and check it against the text.
        unchecked = [c for c in todo if c.doi and not self._doi_seen(c.doi, run)]
        if unchecked:
            self.fetch(self.find_dois([c.doi for c in unchecked]), run)
        for c in todo:
            if (c.pmid or c.doi) and run.matches[c.key].status != "pending":
                run.matches[c.key] = _check_printed_ids(c, run.matches[c.key], run,
                                                        self.journals)
        return run

    @staticmethod
    def _doi_seen(doi: str, run: MatchRun) -> bool:
        doi = doi.lower()
        return any(a.doi and a.doi.lower() == doi for a in run.articles.values())

    def find_dois(self, dois: list[str]) -> set[str]:
        """PMIDs of the records carrying these DOIs (one ESearch per batch of them)."""
        return self._search_terms([f"{_quoted(doi)}[doi]" for doi in dois])

    def _search_terms(self, terms: list[str]) -> set[str]:
        ids: set[str] = set()
        size = self.client.settings.esearch_batch
        for start in range(0, len(terms), size):
            ids.update(self._search_group(terms[start : start + size]))
        return ids

    def _pool(self, citation: Citation, pmids: set[str], run: MatchRun) -> list[Article]:
        """The records the citation's own query brought back, in PMID order."""
        return [run.articles[p] for p in sorted(pmids, key=int)
                if p in run.articles and answers_query(citation, run.articles[p], self.journals)]
