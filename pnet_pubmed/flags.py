"""Retractions, expressions of concern, errata and updates of a PubMed record, as flags.

PubMed says it in two places: a `CommentsCorrections` entry pointing at the notice
(`RetractionIn`, `ExpressionOfConcernIn`, `ErratumIn`, `UpdateIn`, with the notice's PMID) and,
for a retraction, the publication type "Retracted Publication" (D016441). `article_flags` reads
them from an Article; the view `article_flags` (migration 0007) gives the same rows in SQL, so
`refs`, `report`, `sql` and search filters read them from the database without loading records.
"""

from __future__ import annotations

from dataclasses import dataclass

from .values import Article

# Flag names in the order they are shown (most serious first), and the RefType behind each.
FLAGS = ("retracted", "expression_of_concern", "erratum", "updated")
REF_TYPES = {
    "RetractionIn": "retracted",
    "ExpressionOfConcernIn": "expression_of_concern",
    "ErratumIn": "erratum",
    "UpdateIn": "updated",
}
RETRACTED_PUBLICATION = ("D016441", "Retracted Publication")
LABELS = {
    "retracted": "retracted",
    "expression_of_concern": "expression of concern",
    "erratum": "erratum",
    "updated": "updated",
}
NOTICES = {
    "retracted": "retraction notice",
    "expression_of_concern": "expression of concern",
    "erratum": "erratum",
    "updated": "updated version",
}


@dataclass(frozen=True, order=True)
class Flag:
    """One flag of a record: what happened, and the PMID and citation of the notice if known."""

    flag: str
    notice_pmid: str | None = None
    source: str | None = None  # the notice as the record cites it: "J Clin Oncol. 2016;34:771"

    def as_dict(self) -> dict:
        return {"flag": self.flag, "notice_pmid": self.notice_pmid, "source": self.source}

    def __str__(self) -> str:
        """'retracted 99000102', or the flag alone when the record names no notice."""
        return f"{self.flag} {self.notice_pmid}" if self.notice_pmid else self.flag

    def describe(self) -> str:
        """A line for people: 'RETRACTED: retraction notice PMID 99000102 (J Clin Oncol. …)'."""
        head = LABELS[self.flag].upper()
        if self.notice_pmid:
            where = f" ({self.source})" if self.source else ""
            return f"{head}: {NOTICES[self.flag]} PMID {self.notice_pmid}{where}"
        if self.source:
            return f"{head}: {NOTICES[self.flag]} {self.source}"
        if self.flag == "retracted":
            return f"{head}: PubMed lists it as a Retracted Publication"
        return head


def sort_key(flag: Flag) -> tuple:
    return FLAGS.index(flag.flag), flag.notice_pmid or "", flag.source or ""


def ordered(flags) -> tuple[Flag, ...]:
    """Distinct flags, most serious first (the order of FLAGS), then by notice PMID."""
    seen: dict[tuple, Flag] = {}
    for f in flags:
        seen.setdefault((f.flag, f.notice_pmid), f)
    return tuple(sorted(seen.values(), key=sort_key))


def article_flags(article: Article) -> tuple[Flag, ...]:
    """The flags of a record; the view article_flags gives the same ones from stored rows."""
    found = [Flag(REF_TYPES[c.ref_type], c.pmid, c.source)
             for c in article.comments_corrections if c.ref_type in REF_TYPES]
    retracted_type = any(p.ui == RETRACTED_PUBLICATION[0] or p.name == RETRACTED_PUBLICATION[1]
                         for p in article.publication_types)
    if retracted_type and not any(f.flag == "retracted" for f in found):
        found.append(Flag("retracted"))
    return ordered(found)

