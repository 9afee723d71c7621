"""Index upkeep: the search rows of stored articles, kept in step with every save.

SQLite: article_search holds each article's text by field and the external-content FTS5 table
article_fts indexes it (triggers of migration 0002 keep them in step). PostgreSQL: one
tsvector per article in article_search.document, built here from the folded tokens, with a GIN
index. Both: article_author_keys, the folded author names --author looks up. Writing stays on
SQLAlchemy; the Store calls SearchIndex through its article hooks, and never imports this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa

from ..store import schema as t
from ..values import Article
from .compile import FTS_COLUMNS, PG_LABELS, pg_lexeme
from .errors import SearchError
from .snippets import Document
from .tokens import author_keys, tokens

# Objects the search revision creates, per dialect, beyond the tables of schema.py.
INDEX_TABLES = {
    "sqlite": ("article_search", "article_fts", "article_author_keys"),
    "postgresql": ("article_search", "article_author_keys"),
}
CHUNK = 500


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def documents(conn: sa.Connection, pmids: list[str]) -> dict[str, Document]:
    """The text of each stored article as the index sees it; absent PMIDs are left out."""
    a = t.articles.c
    docs = {
        r.pmid: Document(title=r.title or "")
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
        docs = documents(connection, chunk)
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
        for key in author_keys(r.last_name, r.initials, r.collective_name):
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
