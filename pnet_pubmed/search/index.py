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

from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa

from ..store.dbapi import adopt, in_list
from ..values import Article
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


def _tsvector(doc: Document) -> str:
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
    return " ".join(f"{pg_lexeme(tok)}:{','.join(p)}" for tok, p in positions.items())


_SQLITE_UPSERT = sa.text(
    "INSERT INTO article_search (id, pmid, title, abstract, mesh, keywords) "
    "VALUES (:id, :pmid, :title, :abstract, :mesh, :keywords) "
    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
    "abstract = excluded.abstract, mesh = excluded.mesh, keywords = excluded.keywords "
    # A record saved again unchanged (a rerun of link) costs no reindexing.
    "WHERE article_search.title IS NOT excluded.title "
    "OR article_search.abstract IS NOT excluded.abstract "
    "OR article_search.mesh IS NOT excluded.mesh "
    "OR article_search.keywords IS NOT excluded.keywords"
)
_PG_UPSERT = sa.text(
    "INSERT INTO article_search (pmid, document) "
    "VALUES (:pmid, CAST(:document AS tsvector)) "
    "ON CONFLICT (pmid) DO UPDATE SET document = excluded.document "
    "WHERE article_search.document IS DISTINCT FROM excluded.document"
)
_DELETE = sa.text("DELETE FROM article_search WHERE pmid IN :pmids").bindparams(
    sa.bindparam("pmids", expanding=True))


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
        if not docs:
            continue
        if dialect == "sqlite":
            # The text is stored folded, as queries are: "Søreide" is found as "soreide".
            # The triggers of the revision carry each change into article_fts.
            rows = [{"id": rowid(p), "pmid": p,
                     **{k: fold_text(v) for k, v in docs[p].fields().items()}}
                    for p in sorted(docs) if rowid(p) is not None]
            if rows:
                connection.execute(_SQLITE_UPSERT, rows)
        else:
            # In PMID order, as the Store writes: concurrent savers lock rows in one order.
            connection.execute(_PG_UPSERT, [{"pmid": p, "document": _tsvector(docs[p])}
                                            for p in sorted(docs)])


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
    rows: set[tuple[str, str]] = set()
    first_seen: set[str] = set()
    for pmid, last, initials, collective in found:
        keys = author_keys(last, initials, collective)
        rows.update((pmid, key) for key in keys)
        if pmid not in first_seen:  # the first author in the record's order
            first_seen.add(pmid)
            rows.update((pmid, FIRST_AUTHOR + key) for key in keys)
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
