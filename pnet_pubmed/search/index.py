"""Index upkeep: the search rows of stored articles, kept in step with every save.

SQLite: article_search holds each article's folded text by field, its id the PMID as a number,
and the external-content FTS5 table article_fts indexes it with that id as its rowid (triggers
keep them in step), so that a search reads PMIDs straight from the index. PostgreSQL: one
tsvector per article in article_search.document, built here from the folded tokens, with a GIN
index. Both: article_author_keys, the folded author names --author and [au] look up ("1au:…"
for the first author). Writing stays on SQLAlchemy; the Store calls SearchIndex through its
article hooks and never imports this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from ..store.dbapi import adopt, in_list
from ..values import Article
from . import pgwords, words
from .compile import FTS_COLUMNS, PG_LABELS, pg_lexeme
from .documents import documents
from .errors import SearchError
from .snippets import Document
from .tokens import FIRST_AUTHOR, author_keys, fold_text, tokens

# Objects the search revisions create, per dialect, beyond the tables of schema.py.
INDEX_TABLES = {
    "sqlite": ("article_search", "article_fts", "article_author_keys"),
    "postgresql": ("article_search", "article_author_keys"),
}
CHUNK = 500
# SQLite's rowids are signed 64-bit: longer digit strings cannot be one.
MAX_ROWID_DIGITS = 18


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def rowid(pmid: str) -> int | None:
    """The FTS5 rowid of a PMID: the number itself (None for a PMID that is not a number)."""
    if pmid.isascii() and pmid.isdigit() and len(pmid) <= MAX_ROWID_DIGITS:
        return int(pmid)
    return None


# PostgreSQL keeps at most 256 positions of a lexeme, positions up to 16383, and refuses a
# lexeme longer than 2047 bytes; the index keeps 255, clamps at 16383 and skips past 2000.
_MAX_POSITIONS = 255
_MAX_POSITION = 16383
_MAX_LEXEME_BYTES = 2000
# A token of up to this many characters is within _MAX_LEXEME_BYTES whatever its letters.
_SHORT_TOKEN = _MAX_LEXEME_BYTES // 4
_SUFFIXES: dict[str, list[str]] = {}


def _suffixes(label: str) -> list[str]:
    """"':1A '", "':2A '", … up to _MAX_POSITION: what follows a token in the literal, its quote
    closed, its position and label, and the next token's quote opened."""
    out = _SUFFIXES.get(label)
    if out is None:
        out = _SUFFIXES[label] = [f"':{i}{label} '" for i in range(_MAX_POSITION + 1)]
    return out


def _tsvector(doc: Document) -> str:
    """A tsvector literal of the folded tokens, labelled by field, with positions.

    Each field's tokens take the next positions, with a gap between fields so that a phrase
    never spans two (as in FTS5 columns). Usually one entry per occurrence ("word:3A word:9D"),
    which PostgreSQL merges into one lexeme with its positions; a document where a limit
    applies (a lexeme too long or too frequent, positions past the last) is written lexeme by
    lexeme by _tsvector_capped, which applies them.
    """
    fields = [(PG_LABELS[name], tokens(getattr(doc, name))) for name in FTS_COLUMNS]
    every = [tok for _, toks in fields for tok in toks]
    if (len(every) + len(fields) > _MAX_POSITION
            or (every and max(map(len, every)) > _SHORT_TOKEN)
            or (len(every) > _MAX_POSITIONS and max(Counter(every).values()) > _MAX_POSITIONS)):
        return _tsvector_capped(fields)
    parts = []
    pos = 1
    for label, toks in fields:
        if toks:
            # 'a':1A 'b':2A … : tokens are letters and digits, never a quote or a backslash.
            entries = "".join(map(str.__add__, toks, _suffixes(label)[pos:pos + len(toks)]))
            parts.append("'" + entries[:-1])
        pos += len(toks) + 1  # the gap between fields
    return "".join(parts).rstrip()


def _tsvector_capped(fields: list[tuple[str, list[str]]]) -> str:
    positions: dict[str, list[str]] = {}
    pos = 0
    for label, toks in fields:
        for tok in toks:
            pos += 1
            if len(tok.encode()) > _MAX_LEXEME_BYTES:
                continue
            slot = positions.setdefault(tok, [])
            if len(slot) < _MAX_POSITIONS:
                slot.append(f"{min(pos, _MAX_POSITION)}{label}")
        pos += 1  # a gap, so that a phrase never spans two fields (as in FTS5 columns)
    return " ".join(f"{pg_lexeme(tok)}:{','.join(p)}" for tok, p in positions.items())


# The columns of search_row's tuples, per dialect.
SEARCH_COLUMNS = {
    "sqlite": ("pmid", "id", "title", "abstract", "mesh", "keywords"),
    "postgresql": ("pmid", "document"),
}


def search_row(pmid: str, doc: Document, dialect: str) -> tuple | None:
    """The article_search row of an article, in SEARCH_COLUMNS' order: on SQLite its folded
    text by field (None for a PMID that cannot be a rowid), on PostgreSQL its tsvector."""
    if dialect == "sqlite":
        number = rowid(pmid)
        if number is None:
            return None
        # The text is stored folded, as queries are: "Søreide" is found as "soreide".
        return (pmid, number, fold_text(doc.title), fold_text(doc.abstract),
                fold_text(doc.mesh), fold_text(doc.keywords))
    return (pmid, _tsvector(doc))


# An author's keys by (last name, initials, collective name): names recur from record to
# record, and a mirror load asks for millions of them. Bounded; cleared when full.
_KEYS: dict[tuple, tuple[str, ...]] = {}
_KEYS_MAX = 200_000


def _author_keys(name: tuple[str | None, str | None, str | None]) -> tuple[str, ...]:
    keys = _KEYS.get(name)
    if keys is None:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        keys = _KEYS[name] = tuple(author_keys(*name))
    return keys


def author_key_rows(pmid: str, authors: Iterable[tuple[str | None, str | None, str | None]]
                    ) -> set[tuple[str, str]]:
    """The article_author_keys rows of an article from its authors' (last name, initials,
    collective name), in the record's order: every key of each, and the first's again as
    the first author's."""
    rows: set[tuple[str, str]] = set()
    first = True
    for name in authors:
        keys = _author_keys(name)
        rows.update((pmid, key) for key in keys)
        if first:
            rows.update((pmid, FIRST_AUTHOR + key) for key in keys)
            first = False
    return rows


# The statements that write search rows (positional, in SEARCH_COLUMNS' order). SQLite's
# triggers of the revision carry each change into article_fts.
SQLITE_UPSERT = (
    "INSERT INTO article_search (pmid, id, title, abstract, mesh, keywords) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
    "abstract = excluded.abstract, mesh = excluded.mesh, keywords = excluded.keywords "
    # A record saved again unchanged (a rerun of link) costs no reindexing.
    "WHERE article_search.title IS NOT excluded.title "
    "OR article_search.abstract IS NOT excluded.abstract "
    "OR article_search.mesh IS NOT excluded.mesh "
    "OR article_search.keywords IS NOT excluded.keywords"
)
PG_UPSERT_CONFLICT = (
    "ON CONFLICT (pmid) DO UPDATE SET document = excluded.document "
    "WHERE article_search.document IS DISTINCT FROM excluded.document"
)
_PG_UPSERT = ("INSERT INTO article_search (pmid, document) "
              "VALUES (%s, CAST(%s AS tsvector)) " + PG_UPSERT_CONFLICT)
_DELETE = sa.text("DELETE FROM article_search WHERE pmid IN :pmids").bindparams(
    sa.bindparam("pmids", expanding=True))


# PostgreSQL: the GIN index of article_search.document takes new entries in its pending list
# (revision 0009); a writer merges them into the tree before it commits.
_MERGE_PENDING = (
    "SELECT gin_clean_pending_list(c.oid) FROM pg_class c "
    "WHERE c.oid = to_regclass('ix_article_search_document') "
    # Only the index's owner may; without it, autovacuum merges them later.
    "AND pg_has_role(c.relowner, 'USAGE')"
)


def merge_pending(connection: sa.Connection) -> None:
    """PostgreSQL: merge the search index's pending entries into its GIN tree (in bulk, which
    is what makes adding them cheap), so that searches do not scan them once committed."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_MERGE_PENDING)


def index_articles(connection: sa.Connection, pmids: Iterable[str]) -> None:
    """Rebuild the search rows of these PMIDs inside the caller's transaction.

    PMIDs whose article is no longer stored lose their rows. Call it after writing articles
    (Store.save_articles runs it through its article index).
    """
    wanted = sorted(set(pmids))
    dialect = connection.dialect.name
    if dialect not in INDEX_TABLES:
        raise SearchError(f"full-text search is not available on {dialect}")
    reader = adopt(connection.connection.dbapi_connection, dialect)
    for chunk in _chunks(wanted):
        docs = documents(reader, chunk)
        _index_authors(connection, reader, chunk, set(docs))
        gone = [p for p in chunk if p not in docs]
        if gone:
            connection.execute(_DELETE, {"pmids": gone})
        # In PMID order, as the Store writes: concurrent savers lock rows in one order.
        rows = [row for p in sorted(docs) if (row := search_row(p, docs[p], dialect)) is not None]
        if rows:
            connection.exec_driver_sql(SQLITE_UPSERT if dialect == "sqlite" else _PG_UPSERT,
                                       rows)
    if wanted:
        merge_pending(connection)
        absorb_words(connection)


def absorb_words(connection: sa.Connection) -> None:
    """Carry the changes just written into the frequent words' lists (words.py on SQLite,
    pgwords.py on PostgreSQL), in the same transaction; nothing before revision 0010 made the
    lists' tables."""
    raw: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite":
        if raw.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_word_log'").fetchone():
            words.absorb(raw)
    elif connection.dialect.name == "postgresql":
        with raw.cursor() as cur:
            cur.execute("SELECT to_regclass('search_word_log') IS NOT NULL")
            if cur.fetchone()[0]:
                pgwords.absorb(cur)


def _index_authors(connection: sa.Connection, reader, pmids: list[str],
                   present: set[str]) -> None:
    keys_table = sa.table("article_author_keys", sa.column("pmid"), sa.column("key"))
    connection.execute(keys_table.delete().where(keys_table.c.pmid.in_(pmids)))
    if not present:
        return
    params: dict = {}
    found = reader.rows(
        "SELECT pmid, last_name, initials, collective_name FROM authors "
        f"WHERE pmid IN {in_list('p', sorted(present), params)} ORDER BY pmid, position",
        params)
    by_pmid: dict[str, list[tuple]] = {}
    for pmid, last, initials, collective in found:
        by_pmid.setdefault(pmid, []).append((last, initials, collective))
    rows: set[tuple[str, str]] = set()
    for pmid, authors in by_pmid.items():
        rows |= author_key_rows(pmid, authors)
    if rows:
        connection.execute(
            keys_table.insert(), [{"pmid": p, "key": k} for p, k in sorted(rows)]
        )


def index_hook(connection: sa.Connection, articles: Sequence[Article]) -> None:
    """Store.article_hooks entry: keeps the search index in step with save_articles."""
    index_articles(connection, [a.pmid for a in articles])


def reindex_all(connection: sa.Connection) -> int:
    """Index every stored article and drop rows of articles that are gone; returns the count."""
    pmids = list(connection.execute(sa.text("SELECT pmid FROM articles ORDER BY pmid"))
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


def build_word_lists(connection: sa.Connection, min_df: int | None = None,
                     size: int | None = None) -> int:
    """Build the score-ordered list of every word found in at least min_df articles
    (words.MIN_DF) anew, in the caller's transaction; returns how many words have one."""
    min_df = words.MIN_DF if min_df is None else min_df
    size = words.LIST_SIZE if size is None else size
    raw: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite":
        return words.build(raw, min_df, size)
    return pgwords.build(raw, min_df, size)


def optimize(store, min_df: int | None = None) -> int:
    """Make a Store's searches of frequent words fast: build the score-ordered list of every
    word found in at least min_df articles (words.MIN_DF), on SQLite after merging the FTS5
    index's segments; returns how many words have one."""
    with store.transaction() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("INSERT INTO article_fts(article_fts) VALUES ('optimize')")
        return build_word_lists(conn, min_df)


def refresh_word_lists(store, written: int) -> int | None:
    """After a bulk load that wrote `written` articles (`mirror load`): build the frequent
    words' lists when there are none yet and the store holds at least words.MIN_DF articles,
    or anew when the load wrote a tenth of the store or more (the lists' floors drift from
    the store's, and on SQLite their mean length: still right, as saves keep them, but slower
    to read). Returns how many words have a list, or None when they were left as they are."""
    if not isinstance(store.index, SearchIndex):
        return None
    with store.transaction() as conn:
        raw: Any = conn.connection.dbapi_connection
        if store.dialect == "sqlite":
            articles, _ = words.averages(raw)
        else:
            articles = conn.exec_driver_sql("SELECT count(*) FROM article_search").scalar()
        listed = conn.exec_driver_sql("SELECT count(*) FROM search_words").scalar()
        if articles < words.MIN_DF or (listed and written * 10 < articles):
            return None
        return build_word_lists(conn)


class SearchIndex:
    """The search index as the Store's article index: Store(url, index=SearchIndex()).

    The Store calls articles_saved inside every save_articles transaction, and Store.upgrade
    hands it to the migrations that must rebuild the index (rebuild).
    """

    def articles_saved(self, connection: sa.Connection, articles: Sequence[Article]) -> None:
        index_hook(connection, articles)

    def rebuild(self, connection: sa.Connection) -> int:
        return reindex_all(connection)

    def __repr__(self) -> str:
        return "SearchIndex()"
