"""Full-text and filtered search over stored articles, and the MeSH profile of a collection."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from pnet_pubmed.values import Article

from ..errors import QueryError
from . import schema as t

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
    "index_articles",
    "index_hook",
    "mesh_profile",
    "parse_query",
    "parse_year_range",
    "rebuild_index",
    "reindex_all",
    "search",
    "to_fts5",
    "to_tsquery",
    "tokens",
]

# Objects the search revision creates, per dialect, beyond the tables of schema.py.
INDEX_TABLES = {
    "sqlite": ("article_search", "article_fts", "article_author_keys"),
    "postgresql": ("article_search", "article_author_keys"),
}

# Relative weight of each indexed field: title > MeSH > keywords > abstract. SQLite's bm25()
# takes one weight per FTS5 column; PostgreSQL's ts_rank_cd takes one per label {D, C, B, A}.
FTS_COLUMNS = ("title", "abstract", "mesh", "keywords")
BM25_WEIGHTS = (10.0, 1.0, 4.0, 3.0)
PG_LABELS = {"title": "A", "mesh": "B", "keywords": "C", "abstract": "D"}
PG_RANK_WEIGHTS = "{0.1, 0.3, 0.4, 1.0}"

MAX_QUERY_LENGTH = 1000
MAX_NESTING = 20  # parentheses within parentheses; deeper would exhaust Python's stack
MIN_PREFIX = 3  # "ab*" expands to thousands of terms; PubMed itself asks for 4 letters
CHUNK = 500
# Ranking costs per matching article; beyond this many matches, the ones stored last are ranked.
RANK_POOL = 10_000
# With filters that many articles pass, the best so many matches are filtered first; all of
# them only when that leaves too few hits.
PREFILTER_POOLS = (300, 3000)
# Filters that fewer articles pass than this are read whole; others are checked per article.
SELECTIVE = 2000
SNIPPET_TOKENS = 28

OPERATORS = ("AND", "OR", "NOT")
# Straight and typographic double quotes: queries pasted from a word processor use the latter.
QUOTES = '"\u201c\u201d\u201e'

# What SQLite's unicode61 tokenizer calls a token: a run of letters and numbers.
_TOKEN_RE = re.compile(r"[^\W_]+")


class SearchError(QueryError):
    """A search that cannot run as asked, with a one-line message fit for a user."""


class SearchQueryError(SearchError):
    """A malformed search query; the message says what is wrong and at which column."""


# -- folding and tokens ------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without diacritics, as unicode61 with remove_diacritics 2 folds a token."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # unicode61 folds the micro sign into Greek mu; lower() does not.
    return unicodedata.normalize("NFC", bare).lower().replace("\u00b5", "\u03bc")


def tokens(text: str) -> list[str]:
    """The folded tokens of a text, split the way the SQLite index splits it."""
    return [fold(m) for m in _TOKEN_RE.findall(unicodedata.normalize("NFC", text))]


def author_key(name: str) -> str:
    """The lookup key of an author as a user types it: "Öberg K", "Yao J.C.", "RADIANT-3 ..."."""
    toks = tokens(name)
    # Initials typed with dots or spaces ("J. C.") come out as single letters: join them.
    i = len(toks)
    while i > 1 and len(toks[i - 1]) == 1:
        i -= 1
    if i < len(toks) and i >= 1:
        toks = toks[:i] + ["".join(toks[i:])]
    return " ".join(toks)


def _author_keys(last: str | None, initials: str | None, collective: str | None) -> set[str]:
    keys = set()
    if collective and tokens(collective):
        keys.add(" ".join(tokens(collective)))
    if last and tokens(last):
        surname = " ".join(tokens(last))
        keys.add(surname)
        letters = "".join(tokens(initials or ""))
        for n in range(1, len(letters) + 1):
            keys.add(f"{surname} {letters[:n]}")
    return keys


# -- the query language ------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word (one token) or a phrase (several), optionally a prefix on its last token."""

    tokens: tuple[str, ...]
    prefix: bool = False
    column: int = 0


@dataclass(frozen=True)
class Not:
    child: Node
    column: int = 0


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "term", "op", "(", ")"
    column: int  # 1-based
    text: str = ""
    term: Term | None = None


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Lexeme(ch, col))
            i += 1
        elif ch in QUOTES:
            end = next((j for j in range(i + 1, n) if query[j] in QUOTES), -1)
            if end < 0:
                raise SearchQueryError(
                    f"unbalanced quote: the phrase opened at column {col} is never closed"
                )
            prefix = end + 1 < n and query[end + 1] == "*"
            words = tokens(query[i + 1 : end])
            if not words:
                raise SearchQueryError(f"empty phrase at column {col}: put words between quotes")
            if prefix and len(words[-1]) < MIN_PREFIX:
                raise SearchQueryError(_short_prefix(query[i : end + 2], col))
            out.append(_Lexeme("term", col, query[i : end + 1], Term(tuple(words), prefix, col)))
            i = end + 2 if prefix else end + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()' + QUOTES:
                j += 1
            word = query[i:j]
            i = j
            if word in OPERATORS:
                out.append(_Lexeme("op", col, word))
                continue
            star = word.find("*")
            prefix = star >= 0
            if prefix and star != len(word) - 1 or word.count("*") > 1:
                raise SearchQueryError(
                    f"'*' at column {col + star} can only end a word (prefix search, as in "
                    "insulin*)"
                )
            words = tokens(word.rstrip("*"))
            if not words:
                if prefix:
                    raise SearchQueryError(
                        f"'*' at column {col + star} has no word before it (write e.g. insulin*)"
                    )
                continue  # punctuation between words, as in a pasted title: "A - B"
            if prefix and len(words[-1]) < MIN_PREFIX:
                raise SearchQueryError(_short_prefix(word, col))
            out.append(_Lexeme("term", col, word, Term(tuple(words), prefix, col)))
    return out


def _short_prefix(text: str, col: int) -> str:
    return (
        f"prefix {text!r} at column {col} is too short: give at least {MIN_PREFIX} letters "
        "before '*'"
    )


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary ([AND] unary)*; unary := NOT unary
    | primary; primary := term | ( or )."""

    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lx = lexemes
        self.i = 0
        self.depth = 0

    def peek(self) -> _Lexeme | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def take(self) -> _Lexeme:
        lx = self.lx[self.i]
        self.i += 1
        return lx

    @staticmethod
    def starts_operand(lx: _Lexeme | None) -> bool:
        if lx is None:
            return False
        return lx.kind in ("term", "(") or (lx.kind == "op" and lx.text == "NOT")

    def need_operand(self, op: _Lexeme) -> None:
        nxt = self.peek()
        if not self.starts_operand(nxt):
            found = "the end of the query" if nxt is None else f"{nxt.text or nxt.kind!r}"
            if nxt is not None and nxt.kind == "op":
                found = nxt.text
            raise SearchQueryError(
                f"{op.text} at column {op.column} needs a term after it, found {found}"
            )

    def parse(self) -> Node:
        first = self.peek()
        if first is not None and first.kind == "op" and first.text in ("AND", "OR"):
            raise SearchQueryError(
                f"{first.text} at column {first.column} needs a term before it"
            )
        node = self.parse_or()
        rest = self.peek()
        if rest is not None:
            if rest.kind == ")":
                raise SearchQueryError(f"unmatched ')' at column {rest.column}")
            raise SearchQueryError(f"unexpected {rest.text or rest.kind} at column {rest.column}")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (lx := self.peek()) is not None and lx.kind == "op" and lx.text == "OR":
            self.take()
            self.need_operand(lx)
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(_flatten(Or, items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while True:
            lx = self.peek()
            if lx is not None and lx.kind == "op" and lx.text == "AND":
                self.take()
                self.need_operand(lx)
                items.append(self.parse_unary())
            elif self.starts_operand(lx):
                items.append(self.parse_unary())  # implicit AND
            else:
                break
        return items[0] if len(items) == 1 else And(_flatten(And, items))

    def parse_unary(self) -> Node:
        nots = []  # a loop, not recursion: "NOT NOT … a" of any length costs no stack
        while (lx := self.peek()) is not None and lx.kind == "op" and lx.text == "NOT":
            self.take()
            self.need_operand(lx)
            nots.append(lx)
        node = self.parse_primary()
        for lx in reversed(nots):
            node = node.child if isinstance(node, Not) else Not(node, lx.column)
        return node

    def parse_primary(self) -> Node:
        lx = self.peek()
        if lx is None:
            raise SearchQueryError("the query ends where a term was expected")
        if lx.kind == ")":
            raise SearchQueryError(f"unmatched ')' at column {lx.column}")
        self.take()
        if lx.kind == "term":
            assert lx.term is not None
            return lx.term
        if lx.kind != "(":
            raise SearchQueryError(f"{lx.text} at column {lx.column} needs a term before it")
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise SearchQueryError(f"parentheses nested more than {MAX_NESTING} deep at column "
                                   f"{lx.column}")
        inner = self.peek()
        if inner is None:
            raise SearchQueryError(f"the parenthesis opened at column {lx.column} is never closed")
        if inner.kind == ")":
            raise SearchQueryError(f"empty parentheses at column {lx.column}")
        if inner is not None and inner.kind == "op" and inner.text in ("AND", "OR"):
            raise SearchQueryError(
                f"{inner.text} at column {inner.column} needs a term before it"
            )
        node = self.parse_or()
        close = self.peek()
        if close is None or close.kind != ")":
            raise SearchQueryError(f"the parenthesis opened at column {lx.column} is never closed")
        self.take()
        self.depth -= 1
        return node


def _flatten(kind: type, items: list[Node]) -> tuple[Node, ...]:
    out: list[Node] = []
    for item in items:
        out.extend(item.children if isinstance(item, kind) else (item,))
    return tuple(out)


def _check_negations(node: Node, allowed: bool = False) -> None:
    """NOT excludes from something: it may only stand in an AND with a positive term."""
    if isinstance(node, Not):
        if not allowed:
            raise SearchQueryError(
                f"NOT at column {node.column} must follow what it excludes from, as in "
                "'octreotide NOT lanreotide'"
            )
        _check_negations(node.child)
    elif isinstance(node, And):
        has_positive = any(not isinstance(c, Not) for c in node.children)
        for c in node.children:
            _check_negations(c, allowed=has_positive)
    elif isinstance(node, Or):
        for c in node.children:
            _check_negations(c)


def parse_query(query: str) -> Node:
    """The AST of a user query; SearchQueryError says what is wrong, and where."""
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchQueryError(f"query too long: {len(query)} characters, at most "
                               f"{MAX_QUERY_LENGTH}")
    lexemes = _lex(query)
    if not lexemes:
        raise SearchQueryError("the query has no words to search for")
    node = _Parser(lexemes).parse()
    _check_negations(node)
    return node


def to_fts5(node: Node) -> str:
    """An FTS5 MATCH expression; every token is quoted, so no user text is read as syntax."""
    if isinstance(node, Term):
        return '"' + " ".join(node.tokens) + '"' + ("*" if node.prefix else "")
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
    raise SearchQueryError("NOT must follow what it excludes from")


def to_tsquery(node: Node) -> str:
    """A PostgreSQL tsquery literal over the same folded tokens as the stored tsvector."""
    if isinstance(node, Term):
        parts = [_pg_lexeme(tok) for tok in node.tokens]
        if node.prefix:
            parts[-1] += ":*"
        return " <-> ".join(parts)
    if isinstance(node, Not):
        return f"!({to_tsquery(node.child)})"
    if isinstance(node, Or):
        return " | ".join(f"({to_tsquery(c)})" for c in node.children)
    return " & ".join(f"({to_tsquery(c)})" for c in node.children)


def _pg_lexeme(tok: str) -> str:
    return "'" + tok.replace("\\", "\\\\").replace("'", "''") + "'"


def _positive_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t_ for c in node.children for t_ in _positive_terms(c)]


def parse_year_range(text: str | None) -> tuple[int | None, int | None]:
    """ "2009", "2009:2015", "2009:" or ":2015" as (from, to); SearchError when malformed."""
    if text is None or not text.strip():
        return (None, None)
    m = re.fullmatch(r"\s*(\d{4})?\s*(?:([:\-])\s*(\d{4})?)?\s*", text)
    if not m or (m.group(1) is None and m.group(3) is None):
        raise SearchError(f"bad year range {text!r}: use YEAR, FROM:TO, FROM: or :TO")
    start = int(m.group(1)) if m.group(1) else None
    end = int(m.group(3)) if m.group(3) else None
    if m.group(2) is None:
        end = start
    if start is not None and end is not None and start > end:
        raise SearchError(f"bad year range {text!r}: {start} is after {end}")
    return (start, end)


# -- the index ---------------------------------------------------------------------------------


@dataclass
class _Document:
    title: str = ""
    abstract: str = ""
    mesh: str = ""
    keywords: str = ""

    def fields(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in FTS_COLUMNS}


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _documents(conn: sa.Connection, pmids: list[str]) -> dict[str, _Document]:
    """The text of each stored article as the index sees it; absent PMIDs are left out."""
    a = t.articles.c
    docs = {
        r.pmid: _Document(title=r.title or "")
        for r in conn.execute(sa.select(a.pmid, a.title).where(a.pmid.in_(pmids)))
    }
    if not docs:
        return docs
    s = t.abstract_sections.c
    parts: dict[str, list[str]] = defaultdict(list)
    # Section texts without their labels: "METHODS" in every structured abstract is noise.
    for r in conn.execute(
        sa.select(s.pmid, s.text).where(s.pmid.in_(pmids)).order_by(s.pmid, s.position)
    ):
        parts[r.pmid].append(r.text)
    h, d = t.article_mesh_headings.c, t.mesh_descriptors.c
    mesh: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(
        sa.select(h.pmid, d.name)
        .join_from(t.article_mesh_headings, t.mesh_descriptors, h.descriptor_ui == d.ui)
        .where(h.pmid.in_(pmids))
        .order_by(h.pmid, h.position)
    ):
        mesh[r.pmid].append(r.name)
    # Substance names are MeSH too (supplementary concepts): "everolimus" is often only there.
    c = t.chemicals.c
    for r in conn.execute(
        sa.select(c.pmid, c.name).where(c.pmid.in_(pmids)).order_by(c.pmid, c.position)
    ):
        if r.name not in mesh[r.pmid]:
            mesh[r.pmid].append(r.name)
    k = t.keywords.c
    kws: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(
        sa.select(k.pmid, k.text).where(k.pmid.in_(pmids)).order_by(k.pmid, k.position)
    ):
        kws[r.pmid].append(r.text)
    for pmid, doc in docs.items():
        doc.abstract = "\n".join(parts.get(pmid, ()))
        doc.mesh = "; ".join(mesh.get(pmid, ()))
        doc.keywords = "; ".join(kws.get(pmid, ()))
    return docs


def _tsvector(doc: _Document) -> str:
    """A tsvector literal of the folded tokens, labelled by field, with positions."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for name in FTS_COLUMNS:
        label = PG_LABELS[name]
        for tok in tokens(getattr(doc, name)):
            pos += 1
            if len(tok.encode()) > 2000:  # PostgreSQL's limit for one lexeme is 2046 bytes
                continue
            slot = positions.setdefault(tok, [])
            if len(slot) < 255:  # and 256 positions per lexeme
                slot.append(f"{min(pos, 16383)}{label}")
        pos += 1  # a gap, so that a phrase never spans two fields (as in FTS5 columns)
    return " ".join(f"{_pg_lexeme(tok)}:{','.join(p)}" for tok, p in positions.items())


def index_articles(connection: sa.Connection, pmids: Iterable[str]) -> None:
    """Rebuild the search rows of these PMIDs inside the caller's transaction.

    PMIDs whose article is no longer stored lose their rows. Call it after writing articles
    (Store.save_articles runs it through its article hooks).
    """
    wanted = sorted(set(pmids))
    dialect = connection.dialect.name
    if dialect not in INDEX_TABLES:
        raise SearchError(f"full-text search is not available on {dialect}")
    for chunk in _chunks(wanted):
        docs = _documents(connection, chunk)
        _index_authors(connection, chunk, set(docs))
        gone = [p for p in chunk if p not in docs]
        if gone:
            connection.execute(
                sa.text("DELETE FROM article_search WHERE pmid IN :pmids").bindparams(
                    sa.bindparam("pmids", expanding=True)
                ),
                {"pmids": gone},
            )
        if not docs:
            continue
        if dialect == "sqlite":
            # The triggers of the revision carry each change into article_fts.
            connection.execute(
                sa.text(
                    "INSERT INTO article_search (pmid, title, abstract, mesh, keywords) "
                    "VALUES (:pmid, :title, :abstract, :mesh, :keywords) "
                    "ON CONFLICT (pmid) DO UPDATE SET title = excluded.title, "
                    "abstract = excluded.abstract, mesh = excluded.mesh, "
                    "keywords = excluded.keywords "
                    # A record saved again unchanged (a rerun of link) costs no reindexing.
                    "WHERE article_search.title IS NOT excluded.title "
                    "OR article_search.abstract IS NOT excluded.abstract "
                    "OR article_search.mesh IS NOT excluded.mesh "
                    "OR article_search.keywords IS NOT excluded.keywords"
                ),
                [{"pmid": p, **d.fields()} for p, d in docs.items()],
            )
        else:
            connection.execute(
                sa.text(
                    "INSERT INTO article_search (pmid, document) "
                    "VALUES (:pmid, CAST(:document AS tsvector)) "
                    "ON CONFLICT (pmid) DO UPDATE SET document = excluded.document "
                    "WHERE article_search.document IS DISTINCT FROM excluded.document"
                ),
                [{"pmid": p, "document": _tsvector(d)} for p, d in docs.items()],
            )


def _index_authors(connection: sa.Connection, pmids: list[str], present: set[str]) -> None:
    keys_table = sa.table("article_author_keys", sa.column("pmid"), sa.column("key"))
    connection.execute(keys_table.delete().where(keys_table.c.pmid.in_(pmids)))
    if not present:
        return
    au = t.authors.c
    rows = set()
    for r in connection.execute(
        sa.select(au.pmid, au.last_name, au.initials, au.collective_name).where(
            au.pmid.in_(sorted(present))
        )
    ):
        for key in _author_keys(r.last_name, r.initials, r.collective_name):
            rows.add((r.pmid, key))
    if rows:
        connection.execute(
            keys_table.insert(), [{"pmid": p, "key": k} for p, k in sorted(rows)]
        )


def index_hook(connection: sa.Connection, articles: Sequence[Article]) -> None:
    """Store.article_hooks entry: keeps the search index in step with save_articles."""
    index_articles(connection, [a.pmid for a in articles])


def reindex_all(connection: sa.Connection) -> int:
    """Index every stored article and drop rows of articles that are gone; returns the count."""
    pmids = list(connection.execute(sa.select(t.articles.c.pmid).order_by(t.articles.c.pmid))
                 .scalars())
    connection.execute(
        sa.text("DELETE FROM article_search WHERE pmid NOT IN (SELECT pmid FROM articles)")
    )
    connection.execute(
        sa.text("DELETE FROM article_author_keys WHERE pmid NOT IN (SELECT pmid FROM articles)")
    )
    index_articles(connection, pmids)
    return len(pmids)


def rebuild_index(store) -> int:
    """Rebuild the whole search index of a Store; returns the number of articles indexed."""
    # Store.transaction takes SQLite's write lock up front; a bare engine gets a plain one.
    begin = store.transaction if hasattr(store, "transaction") else store.engine.begin
    with begin() as conn:
        n = reindex_all(conn)
        if conn.dialect.name == "sqlite":
            # Merge the index segments that incremental saves leave behind: faster queries.
            conn.exec_driver_sql("INSERT INTO article_fts(article_fts) VALUES ('optimize')")
    return n


# -- searching ---------------------------------------------------------------------------------


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


@contextmanager
def _reading(source) -> Iterator[sa.Connection]:
    """A connection that does not write: the Store's read-only one, or a guarded one."""
    if isinstance(source, sa.Connection):
        yield source
        return
    if hasattr(source, "read_only_connection"):
        with source.read_only_connection() as conn:
            yield conn
        return
    if not isinstance(source, sa.Engine):
        raise TypeError(f"search needs a Store, an Engine or a Connection, not {source!r}")
    with source.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
            try:
                yield conn
            finally:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA query_only = OFF")
        else:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield conn
            finally:
                conn.rollback()


def _database_errors() -> tuple[type[BaseException], ...]:
    # Imported late: store.py may import this module (for its save hook) at its top.
    from .store import StoreError

    return (sa.exc.SQLAlchemyError, sqlite3.Error, StoreError)


def _db_error(err: BaseException) -> SearchError:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    line = next((s.strip() for s in text.splitlines() if s.strip()), type(err).__name__)
    if ("no such table" in line or "does not exist" in line) and (
        "article_search" in line or "article_fts" in line or "article_author_keys" in line
    ):
        return SearchError("the database has no search index: run `pnet-pubmed db upgrade`")
    if "no such table" in line or "does not exist" in line:
        return SearchError(f"the database is not set up ({line}): run `pnet-pubmed db upgrade`")
    return SearchError(f"search failed: {line}")


@dataclass(frozen=True)
class _Filter:
    """Articles whose PMID is in `pmid` of the rows of `source` that satisfy the conditions
    `where(col)` builds, where `col` wraps each column it compares."""

    pmid: sa.ColumnElement
    source: sa.FromClause
    where: Callable[[Callable], tuple]

    def select(self) -> sa.Select:
        return sa.select(self.pmid).select_from(self.source).where(*self.where(_same))

    def condition(self, conn: sa.Connection, pmid_col) -> tuple[sa.ColumnElement[bool], bool]:
        """The condition on pmid_col, and whether few articles pass it.

        A filter that few articles pass is read whole, once, and becomes a list of PMIDs; one
        that many pass is checked article by article (EXISTS), so that walking articles newest
        first, or the full-text matches best first, stops early.
        """
        first = conn.execute(self.select().distinct().limit(SELECTIVE)).scalars().all()
        if len(first) < SELECTIVE:
            return pmid_col.in_(first), True
        # Checked per article, the lookup must start from the PMID (the primary key). SQLite
        # has no statistics (nothing runs ANALYZE) and would as soon walk the index of the
        # other column for every article: a unary + keeps it off that index.
        col = _unindexed(conn) if conn.dialect.name == "sqlite" else _same
        return sa.exists(
            sa.select(sa.literal(1)).select_from(self.source)
            .where(self.pmid == pmid_col, *self.where(col))
        ), False


def _same(col):
    return col


def _unindexed(conn: sa.Connection) -> Callable:
    prepare = conn.dialect.identifier_preparer

    def plus(col):
        return sa.literal_column("+" + prepare.format_column(col, use_table=True), col.type)

    return plus


def _mesh_filter(term: str | None, qualifier: str | None, major: bool) -> _Filter:
    h, q = t.article_mesh_headings, t.article_mesh_qualifiers
    d, mq = t.mesh_descriptors, t.mesh_qualifiers

    def named(table: sa.Table, value: str):
        # Names case-insensitively, or the UI ("D007340", "Q000188").
        return sa.select(table.c.ui).where(
            sa.or_(sa.func.lower(table.c.name) == value.strip().lower(),
                   table.c.ui == value.strip().upper())
        )

    def starred_qualifier():
        return sa.exists().where(
            q.c.pmid == h.c.pmid, q.c.heading_position == h.c.position, q.c.major == sa.true()
        )

    if qualifier is None:
        def where(col) -> tuple:
            out = []
            if term is not None:
                out.append(col(h.c.descriptor_ui).in_(named(d, term)))
            if major:
                out.append(sa.or_(col(h.c.major) == sa.true(), starred_qualifier()))
            return tuple(out)

        return _Filter(h.c.pmid, h, where)

    def pair_where(col) -> tuple:
        out = [col(q.c.qualifier_ui).in_(named(mq, qualifier))]
        if term is not None:
            out.append(col(q.c.descriptor_ui).in_(named(d, term)))
        if major:
            # The pair Descriptor/qualifier is major when either half is starred.
            out.append(sa.or_(h.c.major == sa.true(), col(q.c.major) == sa.true()))
        return tuple(out)

    source = sa.join(q, h, sa.and_(h.c.pmid == q.c.pmid, h.c.position == q.c.heading_position))
    return _Filter(q.c.pmid, source, pair_where)


def _journal_key(text: str | None) -> str:
    # "N. Engl. J. Med." and "N Engl J Med" alike: no dots, lower case, single spaces.
    return " ".join((text or "").replace(".", "").lower().split())


def _distinct(conn: sa.Connection, table: str, column: str, *also: str) -> list[sa.Row]:
    """The distinct values of an indexed column, one index seek each (a loose index scan),
    with the other columns of one row per value."""
    extra = "".join(
        f", (SELECT {c} FROM {table} WHERE {column} = v.x LIMIT 1) AS {c}" for c in also
    )
    return conn.execute(sa.text(
        f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT min({column}) FROM {table} WHERE {column} > v.x) FROM v "
        f"WHERE v.x IS NOT NULL) SELECT x{extra} FROM v WHERE x IS NOT NULL"
    )).all()


_ISSN = re.compile(r"\d{4}-?\d{3}[\dXx]")


def _journal_condition(conn: sa.Connection, a, journal: str) -> sa.ColumnElement[bool]:
    """Articles of the journals whose title, MEDLINE or ISO abbreviation is `journal`, or whose
    full title starts with it ("Journal of clinical oncology" for its subtitled title)."""
    key = _journal_key(journal)
    if not key:
        raise SearchError("--journal needs a journal name, abbreviation or ISSN")
    issn = journal.strip().upper()
    if _ISSN.fullmatch(issn):
        issn = issn if "-" in issn else f"{issn[:4]}-{issn[4:]}"
        return sa.or_(a.issn == issn, a.issn_linking == issn)
    # Journals are few next to articles: match their names here, then use the title index.
    titles = [
        row.x
        for row in _distinct(conn, "articles", "journal_title", "medline_ta", "iso_abbreviation")
        if key in (_journal_key(row.x), _journal_key(row.medline_ta),
                   _journal_key(row.iso_abbreviation))
        or _journal_key(row.x).startswith(key + " ")
    ]
    return a.journal_title.in_(titles)


def search(
    source,
    query: str | None = None,
    *,
    mesh: Sequence[str] = (),
    major: bool = False,
    qualifier: str | None = None,
    author: str | None = None,
    journal: str | None = None,
    year: tuple[int | None, int | None] = (None, None),
    publication_type: str | None = None,
    collection: str | None = None,
    limit: int = 20,
    highlight: tuple[str, str] = ("[", "]"),
) -> SearchResults:
    """Articles matching a full-text query and filters, best first (newest first without one).

    source is a Store (read through its read-only connection), an Engine or a Connection.
    Every filter narrows the result: several MeSH terms must all be present. The query and
    the filters are checked before the database is touched (SearchQueryError, SearchError).
    """
    node = parse_query(query) if query is not None and query.strip() else None
    if isinstance(mesh, str):
        mesh = (mesh,)
    mesh = [m for m in mesh if m and m.strip()]
    if major and not mesh and not qualifier:
        raise SearchError("--major needs --mesh or --qualifier to say which heading is major")
    if limit < 1:
        raise SearchError(f"limit must be at least 1, not {limit}")
    year_from, year_to = year
    if year_from is not None and year_to is not None and year_from > year_to:
        raise SearchError(f"bad year range: {year_from} is after {year_to}")
    if author is not None and not author_key(author):
        raise SearchError("--author needs a name, e.g. 'Yao' or 'Yao JC'")
    if publication_type is not None and not publication_type.strip():
        raise SearchError("--type needs a publication type, e.g. 'Randomized Controlled Trial'")

    try:
        with _reading(source) as conn:
            return _run(conn, node, mesh, major, qualifier, author, journal, year_from,
                        year_to, publication_type, collection, limit, highlight)
    except SearchError:
        raise
    except _database_errors() as e:
        raise _db_error(e) from e


def _ranked_sqlite(node: Node, conds: list, article_conds: list, limit: int):
    """(statement of the ranked matches given a rowid floor, statement of that floor)."""
    fts = sa.table("article_fts", sa.column("rowid"))
    s = sa.table("article_search", sa.column("id"), sa.column("pmid"))
    rank = sa.func.bm25(sa.literal_column("article_fts"), *BM25_WEIGHTS)
    match = sa.text("article_fts MATCH :fts_query").bindparams(fts_query=to_fts5(node))
    floor = (
        sa.select(fts.c.rowid).where(match).order_by(fts.c.rowid.desc())
        .offset(RANK_POOL - 1).limit(1)
    )

    def matched(floor_value, best_of: int | None):
        pool = [fts.c.rowid >= floor_value] if floor_value is not None else []
        if best_of is not None or (not conds and not article_conds):
            # Rank inside the index, then look up and filter only the best few.
            best = (
                sa.select(fts.c.rowid, rank.label("rank")).where(match, *pool)
                .order_by(rank).limit(best_of or limit).subquery()
            )
            frm = best.join(s, s.c.id == best.c.rowid)
            if article_conds:
                frm = frm.join(t.articles, t.articles.c.pmid == s.c.pmid)
            return (
                sa.select(s.c.pmid, (-best.c.rank).label("score")).select_from(frm)
                .where(*conds, *article_conds).order_by(best.c.rank).limit(limit)
            )
        frm = fts.join(s, s.c.id == fts.c.rowid)
        if article_conds:
            frm = frm.join(t.articles, t.articles.c.pmid == s.c.pmid)
        return (
            sa.select(s.c.pmid, (-rank).label("score")).select_from(frm)
            .where(match, *pool, *conds, *article_conds)
            .order_by(rank).limit(limit)
        )

    return matched, floor


def _ranked_postgresql(node: Node, conds: list, article_conds: list, limit: int):
    s = sa.table("article_search", sa.column("id"), sa.column("pmid"), sa.column("document"))
    tsq = sa.text("CAST(:tsq AS tsquery)").bindparams(tsq=to_tsquery(node))
    match = s.c.document.op("@@")(tsq)
    rank = sa.func.ts_rank_cd(sa.text(f"'{PG_RANK_WEIGHTS}'::float4[]"), s.c.document, tsq, 1)
    floor = sa.select(s.c.id).where(match).order_by(s.c.id.desc()).offset(RANK_POOL - 1).limit(1)

    def matched(floor_value, best_of: int | None):
        pool = [s.c.id >= floor_value] if floor_value is not None else []
        frm = s
        if article_conds:
            frm = frm.join(t.articles, t.articles.c.pmid == s.c.pmid)
        return (
            sa.select(s.c.pmid, rank.label("score")).select_from(frm)
            .where(match, *pool, *conds, *article_conds)
            .order_by(rank.desc(), s.c.pmid).limit(limit)
        )

    return matched, floor


def _run(conn, node, mesh, major, qualifier, author, journal, year_from, year_to,
         publication_type, collection, limit, highlight) -> SearchResults:
    dialect = conn.dialect.name
    if dialect not in INDEX_TABLES:
        raise SearchError(f"full-text search is not available on {dialect}")
    a = t.articles.c
    r, c = t.refs.c, t.collections.c
    if collection is not None:
        found = conn.execute(sa.select(c.id).where(c.name == collection)).first()
        if found is None:
            names = conn.execute(sa.select(c.name).order_by(c.name)).scalars().all()
            known = ", ".join(names) if names else "none yet"
            raise SearchError(f"no collection named {collection!r} (collections: {known})")

    def conditions(pmid_col) -> list:
        filters = [_mesh_filter(term, qualifier, major) for term in mesh]
        if qualifier is not None and not mesh:
            filters.append(_mesh_filter(None, qualifier, major))
        if author is not None:
            keys = sa.table("article_author_keys", sa.column("pmid"), sa.column("key"))
            key = author_key(author)
            filters.append(_Filter(keys.c.pmid, keys, lambda col: (keys.c.key == key,)))
        if publication_type is not None:
            p = t.publication_types
            filters.append(_Filter(p.c.pmid, p, lambda col: (col(p.c.name).in_(type_names),)))
        if collection is not None:
            filters.append(_Filter(
                r.pmid, sa.join(t.refs, t.collections, r.collection_id == c.id),
                lambda col: (c.name == collection, r.status == "matched"),
            ))
        return [f.condition(conn, pmid_col) for f in filters]

    type_names: list[str] = []
    if publication_type is not None:
        # Case-insensitive by name or UI, resolved here so the query can use the name index.
        want = publication_type.strip()
        type_names = [row.x for row in _distinct(conn, "publication_types", "name", "ui")
                      if row.x.lower() == want.lower() or (row.ui or "") == want.upper()]
    article_conds = []
    if year_from is not None:
        article_conds.append(a.year >= year_from)
    if year_to is not None:
        article_conds.append(a.year <= year_to)
    if journal is not None:
        article_conds.append(_journal_condition(conn, a, journal))

    checked = conditions(a.pmid if node is None else sa.literal_column("article_search.pmid"))
    conds = [cond for cond, _ in checked]
    # Few articles pass the filters: rank every match that does. Else rank the best matches
    # first and filter them, going on to all of them only if that leaves too few.
    few = any(selective for _, selective in checked) or not (conds or article_conds)
    capped = False
    if node is None:
        if dialect == "sqlite":
            # SQLite sorts NULL lowest, so DESC puts it last already; an explicit NULLS LAST,
            # or a tie-break the year index does not hold, would stop it walking that index.
            order = (a.year.desc(), sa.literal_column("articles.rowid").desc())
        else:
            order = (a.year.desc().nulls_last(), a.pmid.desc())
        ranked = conn.execute(
            sa.select(a.pmid, sa.null().label("score"))
            .where(*conds, *article_conds).order_by(*order).limit(limit)
        ).all()
    else:
        build = _ranked_sqlite if dialect == "sqlite" else _ranked_postgresql
        matched, floor = build(node, conds, article_conds, limit)
        # The rank function costs per matching article: a query that matches more than
        # RANK_POOL of them ranks the RANK_POOL stored last, unless that leaves too few hits.
        floor_value = conn.execute(floor).scalar()
        ranked = []
        # PostgreSQL's planner has statistics and orders ranking and filtering itself.
        for best_of in () if few or dialect != "sqlite" else PREFILTER_POOLS:
            ranked = conn.execute(matched(floor_value, max(best_of, limit))).all()
            if len(ranked) >= limit:
                break
        if len(ranked) < limit:
            ranked = conn.execute(matched(floor_value, None)).all()
        if floor_value is not None:
            if len(ranked) < limit:
                ranked = conn.execute(matched(None, None)).all()
            else:
                capped = True
    pmids = [row.pmid for row in ranked]
    if not pmids:
        return SearchResults()

    details = {
        row.pmid: row
        for row in conn.execute(
            sa.select(a.pmid, a.title, a.year, a.doi, sa.func.coalesce(
                a.iso_abbreviation, a.medline_ta, a.journal_title).label("journal"))
            .where(a.pmid.in_(pmids))
        )
    }
    cites: dict[str, list[str]] = defaultdict(list)
    cq = (
        sa.select(c.name, r.key, r.pmid)
        .join_from(t.refs, t.collections, r.collection_id == c.id)
        .where(r.pmid.in_(pmids), r.status == "matched")
        .order_by(c.name, r.position, r.key)
    )
    if collection is not None:
        cq = cq.where(c.name == collection)
    for row in conn.execute(cq):
        cites[row.pmid].append(row.key if collection is not None else f"{row.name}:{row.key}")
    p = t.publication_types.c
    types: dict[str, list[str]] = defaultdict(list)
    for row in conn.execute(
        sa.select(p.pmid, p.name).where(p.pmid.in_(pmids)).order_by(p.pmid, p.position)
    ):
        types[row.pmid].append(row.name)
    docs = _documents(conn, pmids) if node is not None else {}
    terms = _positive_terms(node) if node is not None else []

    hits = SearchResults()
    hits.capped = capped
    for row in ranked:
        d = details[row.pmid]
        score = None if row.score is None else round(float(row.score), 4)
        snippet = _snippet(docs[row.pmid], terms, highlight) if row.pmid in docs else None
        hits.append(SearchHit(
            pmid=row.pmid, title=d.title, year=d.year, journal=d.journal, score=score,
            snippet=snippet, cited_by=tuple(cites.get(row.pmid, ())), doi=d.doi,
            publication_types=tuple(types.get(row.pmid, ())),
        ))
    return hits


# -- snippets ----------------------------------------------------------------------------------


def _matches(text: str, terms: list[Term]) -> tuple[list[tuple[int, int]], list[tuple]]:
    """Token spans of a text, and the (first token, last token, term) of each term match."""
    spans, folded = [], []
    plain = text.isascii()  # the common case: folding is lower() and keeps every offset
    for m in _TOKEN_RE.finditer(text):
        spans.append(m.span())
        folded.append(m.group().lower() if plain else fold(m.group()))
    where: dict[str, list[int]] = defaultdict(list)
    for i, tok in enumerate(folded):
        where[tok].append(i)

    def same(i: int, want: str, prefix: bool) -> bool:
        return folded[i].startswith(want) if prefix else folded[i] == want

    found = []
    for ti, term in enumerate(terms):
        n, head = len(term.tokens), term.tokens[0]
        if n == 1 and term.prefix:
            starts = [i for tok, idx in where.items() if tok.startswith(head) for i in idx]
        else:
            starts = where.get(head, [])
        for i in starts:
            if i + n <= len(folded) and all(
                same(i + k, term.tokens[k], term.prefix and k == n - 1) for k in range(1, n)
            ):
                found.append((i, i + n - 1, ti))
    found.sort()
    return spans, found


def _snippet(doc: _Document, terms: list[Term], highlight: tuple[str, str]) -> str | None:
    """A short passage around the query's words, each match wrapped in the highlight marks."""
    if not terms:
        return None
    best = None
    # Abstract first: it gives context; the title is printed anyway.
    for text in (doc.abstract, doc.title, doc.mesh, doc.keywords):
        if not text:
            continue
        spans, found = _matches(text, terms)
        if not found:
            continue
        # The window of SNIPPET_TOKENS tokens that holds the most distinct terms.
        window = None
        for first, _, _ in found[:64]:
            start = max(0, first - 4)
            inside = [f for f in found if f[0] >= start and f[1] < start + SNIPPET_TOKENS]
            score = (len({f[2] for f in inside}), len(inside))
            if window is None or score > window[0]:
                window = (score, start, inside)
        assert window is not None
        if best is None or window[0][0] > best[0][0][0]:
            best = (window, text, spans)
        if best[0][0][0] == len(terms):
            break  # every term is in view: no later field can do better
    if best is None:
        return None
    (_, start, inside), text, spans = best
    end = min(len(spans), start + SNIPPET_TOKENS)
    marks = sorted({(spans[f][0], spans[last][1]) for f, last, _ in inside})
    out, pos = [], spans[start][0]
    for s_, e_ in marks:
        if s_ < pos:
            continue  # overlapping matches: the first one wins
        out.append(text[pos:s_])
        out.append(highlight[0] + text[s_:e_] + highlight[1])
        pos = e_
    out.append(text[pos : spans[end - 1][1]])
    snippet = " ".join("".join(out).split())
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(spans) else "")


# -- MeSH profile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeshCount:
    descriptor: str
    ui: str | None
    articles: int
    major_articles: int

    def as_dict(self) -> dict:
        return {"descriptor": self.descriptor, "ui": self.ui, "articles": self.articles,
                "major_articles": self.major_articles}


def mesh_profile(
    source, collection: str | None = None, major: bool = False, top: int | None = 20
) -> list[dict]:
    """Descriptors of a collection's matched articles (all stored articles without one):
    how many articles carry each, and how many as a major topic, most frequent first.

    With major, only descriptors that are a major topic somewhere, ranked by that count.
    """
    if top is not None and top < 1:
        raise SearchError(f"--top must be at least 1, not {top}")
    h, d, q = t.article_mesh_headings.c, t.mesh_descriptors.c, t.article_mesh_qualifiers
    r, c = t.refs.c, t.collections.c
    starred = sa.or_(
        h.major == sa.true(),
        sa.exists().where(q.c.pmid == h.pmid, q.c.heading_position == h.position,
                          q.c.major == sa.true()),
    )
    n_articles = sa.func.count(sa.distinct(h.pmid))
    n_major = sa.func.count(sa.distinct(sa.case((starred, h.pmid))))
    stmt = (
        sa.select(d.name, d.ui, n_articles.label("articles"), n_major.label("major_articles"))
        .join_from(t.article_mesh_headings, t.mesh_descriptors, d.ui == h.descriptor_ui)
        .group_by(d.ui, d.name)
    )
    if collection is not None:
        stmt = stmt.where(h.pmid.in_(
            sa.select(r.pmid)
            .join_from(t.refs, t.collections, r.collection_id == c.id)
            .where(c.name == collection, r.status == "matched")
        ))
    if major:
        stmt = stmt.having(n_major > 0).order_by(n_major.desc(), n_articles.desc(), d.name)
    else:
        stmt = stmt.order_by(n_articles.desc(), n_major.desc(), d.name)
    if top is not None:
        stmt = stmt.limit(top)
    try:
        with _reading(source) as conn:
            if collection is not None and conn.execute(
                sa.select(c.id).where(c.name == collection)
            ).first() is None:
                raise SearchError(f"no collection named {collection!r}")
            rows = conn.execute(stmt).all()
    except SearchError:
        raise
    except _database_errors() as e:
        raise _db_error(e) from e
    return [
        MeshCount(
            descriptor=row.name,
            ui=None if row.ui.startswith(t.SURROGATE_PREFIX) else row.ui,
            articles=int(row.articles),
            major_articles=int(row.major_articles),
        ).as_dict()
        for row in rows
    ]
