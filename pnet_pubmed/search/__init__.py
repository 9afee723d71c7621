"""Full-text search over stored articles: the query language, its engines and the MeSH profile.

    from pnet_pubmed.search import search
    hits = search("sqlite:///refs.sqlite", "everolimus OR sunitinib", mesh=["Humans"])

Modules, one concern each: tokens (the text fold and tokens shared by index and queries),
query (lexer, parser, AST), compile (FTS5 MATCH and tsquery), engine (running a search),
snippets, results (SearchHit, MeshCount), profile (the MeSH profile), index (index upkeep,
on SQLAlchemy, for writers only: Store(url, index=SearchIndex())).
"""

from __future__ import annotations

from .compile import to_fts5, to_tsquery
from .engine import search
from .errors import SearchError, SearchQueryError
from .profile import mesh_profile
from .query import And, Not, Or, Term, parse_query, parse_year_range
from .results import MeshCount, SearchHit, SearchResults
from .tokens import author_key, fold, tokens

__all__ = [
    "And",
    "MeshCount",
    "Not",
    "Or",
    "SearchError",
    "SearchHit",
    "SearchQueryError",
    "SearchResults",
    "Term",
    "author_key",
    "fold",
    "mesh_profile",
    "parse_query",
    "parse_year_range",
    "search",
    "to_fts5",
    "to_tsquery",
    "tokens",
]
