"""A query's AST compiled to the engines' own languages: an FTS5 MATCH and a tsquery."""

from __future__ import annotations

from .errors import SearchQueryError
from .query import And, Field, Node, Not, Or, Term

# Relative weight of each indexed field: title > MeSH > keywords > abstract. SQLite's bm25()
# takes one weight per FTS5 column; PostgreSQL's ts_rank_cd takes one per label {D, C, B, A}.
FTS_COLUMNS = ("title", "abstract", "mesh", "keywords")
BM25_WEIGHTS = (10.0, 1.0, 4.0, 3.0)
PG_LABELS = {"title": "A", "mesh": "B", "keywords": "C", "abstract": "D"}
PG_RANK_WEIGHTS = "{0.1, 0.3, 0.4, 1.0}"


def to_fts5(node: Node) -> str:
    """An FTS5 MATCH expression; every token is quoted, so no user text is read as syntax."""
    if isinstance(node, Term):
        phrase = '"' + " ".join(node.tokens) + '"' + ("*" if node.prefix else "")
        if node.fields is None:
            return phrase
        return "{" + " ".join(node.fields) + "} : " + phrase
    if isinstance(node, Or):
        return " OR ".join(f"({to_fts5(c)})" for c in node.children)
    if isinstance(node, And):
        pos = [c for c in node.children if not isinstance(c, Not)]
        neg = [c.child for c in node.children if isinstance(c, Not)]
        text = " AND ".join(f"({to_fts5(c)})" for c in pos)
        if neg:
            # FTS5's NOT is binary: "a NOT b"; several exclusions become one OR group.
            text = f"({text}) NOT (" + " OR ".join(f"({to_fts5(c)})" for c in neg) + ")"
        return text
    if isinstance(node, Not):
        raise SearchQueryError("NOT must follow what it excludes from")
    raise SearchQueryError(f"[{node.tag}] selects articles by a stored value, not by their text")


def to_tsquery(node: Node) -> str:
    """A PostgreSQL tsquery literal over the same folded tokens as the stored tsvector."""
    if isinstance(node, Term):
        labels = "".join(sorted(PG_LABELS[f] for f in node.fields or ()))
        parts = [pg_lexeme(tok) + (f":{labels}" if labels else "") for tok in node.tokens]
        if node.prefix:
            parts[-1] = pg_lexeme(node.tokens[-1]) + ":*" + labels
        return " <-> ".join(parts)
    if isinstance(node, Field):
        raise SearchQueryError(f"[{node.tag}] selects articles by a stored value, not by their "
                               "text")
    if isinstance(node, Not):
        return f"!({to_tsquery(node.child)})"
    if isinstance(node, Or):
        return " | ".join(f"({to_tsquery(c)})" for c in node.children)
    return " & ".join(f"({to_tsquery(c)})" for c in node.children)


def pg_lexeme(tok: str) -> str:
    """A token quoted as a tsquery/tsvector lexeme."""
    return "'" + tok.replace("\\", "\\\\").replace("'", "''") + "'"
