"""What a search and a MeSH profile return: frozen values with a JSON-ready as_dict()."""

from __future__ import annotations

from dataclasses import dataclass, field


class SearchResults(list):
    """The hits of a search, best first; capped tells that the words matched more than
    RANK_POOL articles and only the RANK_POOL stored last were ranked."""

    capped: bool = False


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
