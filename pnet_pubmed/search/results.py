"""What a search and a MeSH profile return: frozen values with a JSON-ready as_dict()."""

from __future__ import annotations

from dataclasses import dataclass, field


class SearchResults(tuple):
    """The hits of a search, best first (a tuple of SearchHit), and how many articles pass the
    search in all: total, exactly when exact, else at least that many (a search without query
    text stops counting past plan.COUNT_CAP)."""

    total: int
    exact: bool
    notes: tuple[str, ...]  # which descriptor each entry term stood for

    def __new__(cls, hits=(), total: int | None = None, exact: bool = True,
                notes: tuple[str, ...] = ()) -> SearchResults:
        self = super().__new__(cls, hits)
        self.total = len(self) if total is None else total
        self.exact = exact
        self.notes = notes
        return self

    def summary(self) -> str:
        """'20 of 153 hits', '20 of more than 1,000 hits', '3 hits', 'no hits'."""
        if not self.exact:
            return f"{len(self):,} of more than {self.total - 1:,} hits"
        if self.total > len(self):
            return f"{len(self):,} of {self.total:,} hits"
        return f"{self.total:,} hit{'s' if self.total != 1 else ''}" if self.total else "no hits"


@dataclass(frozen=True)
class SearchHit:
    pmid: str
    title: str
    year: int | None
    journal: str | None
    score: float | None  # higher is better; None when the search had no query text
    snippet: str | None
    # Keys of the matched references that cite the article: "key" within the collection
    # searched, "collection:key" when no collection was given.
    cited_by: tuple[str, ...] = ()
    doi: str | None = None
    publication_types: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "pmid": self.pmid,
            "title": self.title,
            "year": self.year,
            "journal": self.journal,
            "score": self.score,
            "cited_by": list(self.cited_by),
            "doi": self.doi,
            "publication_types": list(self.publication_types),
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class MeshCount:
    descriptor: str
    ui: str | None
    articles: int
    major_articles: int

    def as_dict(self) -> dict:
        return {"descriptor": self.descriptor, "ui": self.ui, "articles": self.articles,
                "major_articles": self.major_articles}
