"""The small frozen values that cross module boundaries: Citation, Match, Article and its parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

CitationKind = Literal["article", "meeting_abstract", "epub_ahead", "pmid", "doi", "unparsed"]
MatchStatus = Literal["matched", "ambiguous", "not_found", "pending"]
# The outcomes of matching, in the order they are shown; the one list every module uses (the
# CLI's --status, the database's CHECK constraint, counts, reports).
MATCH_STATUSES: tuple[MatchStatus, ...] = get_args(MatchStatus)


@dataclass(frozen=True)
class Name:
    """A person as a reference list prints them: surname and initials ("Yao", "JC")."""

    last: str
    initials: str = ""

    def __str__(self) -> str:
        return f"{self.last} {self.initials}".strip()


@dataclass(frozen=True)
class Citation:
    """One reference of a list, parsed into fields. Fields the text did not give are None."""

    key: str  # the reference's number in the list, or its 1-based position when unnumbered
    raw: str  # the input text, as given
    position: int = 0  # 1-based position in the input
    kind: CitationKind = "article"
    authors: tuple[Name, ...] = ()
    et_al: bool = False
    group: str | None = None  # a collective author ("RADIANT-3 study group")
    year: int | None = None
    title: str | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None  # as printed: "1014-9"
    first_page: str | None = None
    doi: str | None = None
    pmid: str | None = None
    abstract_number: str | None = None  # meeting abstracts: "abstract 4030"
    reason: str | None = None  # why kind == "unparsed"
    # Which reader gave these fields: "rules" (the style rules) or "labeller" (the trained CRF)
    reader: str = field(default="rules", compare=False)
    # Other readings of the same free text, tried by the matcher too: a string a style rule
    # misreads is often read right by the labeller, and the other way round.
    alternatives: tuple[Citation, ...] = field(default=(), compare=False, repr=False)

    @property
    def first_author(self) -> Name | None:
        return self.authors[0] if self.authors else None

    @property
    def readings(self) -> tuple[Citation, ...]:
        return (self, *self.alternatives)


@dataclass(frozen=True)
class Match:
    """The outcome of matching one Citation against PubMed."""

    key: str
    status: MatchStatus
    pmid: str | None = None
    candidates: tuple[str, ...] = ()
    method: str | None = None  # "ecitmatch", "esearch", "pmid", "doi"
    score: float | None = None
    reason: str | None = None
    # Where a matched reference differs from its record ("year 2004 in the reference, 2005 in
    # the record"), so that a user can correct the list.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Qualifier:
    name: str
    ui: str | None
    major: bool


@dataclass(frozen=True)
class MeshHeading:
    descriptor: str
    ui: str | None
    major: bool  # the descriptor itself is a major topic
    qualifiers: tuple[Qualifier, ...] = ()

    @property
    def is_major_topic(self) -> bool:
        """Major as PubMed's [majr] means it: the descriptor or any of its qualifiers is starred."""
        return self.major or any(q.major for q in self.qualifiers)


@dataclass(frozen=True)
class Author:
    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective_name: str | None = None
    affiliations: tuple[str, ...] = ()
    orcid: str | None = None

    @property
    def display(self) -> str:
        if self.collective_name:
            return self.collective_name
        return f"{self.last_name or ''} {self.initials or ''}".strip()


@dataclass(frozen=True)
class AbstractSection:
    text: str
    label: str | None = None
    nlm_category: str | None = None


@dataclass(frozen=True)
class Chemical:
    name: str
    ui: str | None = None
    registry_number: str | None = None


@dataclass(frozen=True)
class CommentCorrection:
    ref_type: str  # "ErratumIn", "RetractionIn", "CommentOn", ...
    pmid: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Keyword:
    text: str
    major: bool = False


@dataclass(frozen=True)
class PublicationType:
    name: str
    ui: str | None = None


@dataclass(frozen=True)
class Article:
    """A PubMed record, as EFetch gives it, reduced to what pnet-pubmed stores."""

    pmid: str
    title: str
    abstract: tuple[AbstractSection, ...] = ()
    journal_title: str | None = None
    iso_abbreviation: str | None = None
    medline_ta: str | None = None
    nlm_unique_id: str | None = None
    issn: str | None = None
    issn_linking: str | None = None
    year: int | None = None
    pub_date: str | None = None  # as printed: "2011 Feb 10", "2008 Summer"
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None  # MedlinePgn: "514-23"
    start_page: str | None = None
    end_page: str | None = None
    elocation: str | None = None
    authors: tuple[Author, ...] = ()
    doi: str | None = None
    pmcid: str | None = None
    languages: tuple[str, ...] = ()
    publication_types: tuple[PublicationType, ...] = ()
    mesh: tuple[MeshHeading, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    chemicals: tuple[Chemical, ...] = ()
    comments_corrections: tuple[CommentCorrection, ...] = ()
    status: str | None = None  # MedlineCitation/@Status: "MEDLINE", "PubMed-not-MEDLINE", ...
    publication_status: str | None = None  # "ppublish", "epublish", "aheadofprint"
    is_book: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    # MedlineCitation/DateRevised (BookDocument/DateRevised for books) as "YYYY-MM-DD": NLM
    # changes it with every revision of the record, so `refresh` compares it.
    date_revised: str | None = None

    @property
    def abstract_text(self) -> str:
        """The abstract as one text; structured abstracts keep their labels ("BACKGROUND: ...")."""
        parts = []
        for s in self.abstract:
            parts.append(f"{s.label}: {s.text}" if s.label else s.text)
        return "\n".join(parts)

    @property
    def first_author(self) -> Author | None:
        return self.authors[0] if self.authors else None
