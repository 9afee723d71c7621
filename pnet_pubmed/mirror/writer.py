"""Writing chunks of mirror rows into the store: which versions win, deletions, bulk inserts.

Everything for one file runs in one transaction (load.py opens it), so a file is loaded whole or
not at all. Per chunk:

- A record is written unless the store holds a newer version of it: a later DateRevised, or the
  same DateRevised from a file that sorts later. A record a later file deleted stays deleted.
  An article stored by `link` alone (no mirror row) keeps a later DateRevised; otherwise it
  takes the mirror's version.
- A replaced record loses its old child rows and title words first; its article row is updated
  in place.
- A DeleteCitation PMID loses its article (and with it every child row and its search index
  rows, by the foreign keys' cascades) unless a reference is linked to it: then the article
  stays for that reference and only leaves the mirror. A tombstone remembers the deletion.
- The search index follows in the same transaction. When the store's index is the search index
  (and nothing else follows saves), the readers made its rows with the chunk (Chunk.finish) and
  they are written in bulk like the others; otherwise Store.after_save_articles runs, on the
  chunk's records rebuilt as Articles.

SQLite gets executemany on the driver's cursor with one prepared statement per table;
PostgreSQL gets COPY, straight into the tables for new records and through a temporary table
for records that replace stored ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from pnet_pubmed.search.index import (
    PG_UPSERT_CONFLICT,
    SEARCH_COLUMNS,
    SQLITE_UPSERT,
    SearchIndex,
    absorb_words,
    merge_pending,
)
from pnet_pubmed.store import Store
from pnet_pubmed.store import schema as t
from pnet_pubmed.store.rows import build_articles
from pnet_pubmed.util import chunked
from pnet_pubmed.values import Article

from .keys import NO_YEAR, record_title_words
from .rows import ARTICLE_TABLES, COLUMNS, Chunk

IN_CHUNK = 900  # bound parameters of one IN (...) list
_RECORD_UPDATE = [c for c in COLUMNS["mirror_records"] if c != "pmid"]


@dataclass
class ChunkResult:
    written: int = 0
    superseded: int = 0
    deleted: int = 0
    kept_linked: int = 0  # deleted by NLM but kept: a reference is linked to it
    index_seconds: float = 0.0  # spent writing the search index (or in after_save_articles)


def _order_key(date_revised: str | None, file_name: str | None) -> tuple[str, str]:
    return (date_revised or "", file_name or "")


def bulk_index(store: Store) -> str | None:
    """The dialect whose search rows the readers should make, when the store's one follower of
    saves is the search index; None when Store.after_save_articles must run instead."""
    index = store.index
    if (isinstance(index, SearchIndex) and store.article_hooks == [index.articles_saved]
            and type(store).after_save_articles is Store.after_save_articles):
        return store.dialect
    return None


class Writer:
    """Bulk writes for one backend; the connection is inside load.py's transaction."""

    def __init__(self, store, conn: sa.Connection) -> None:
        self.store = store
        self.conn = conn
        self.dbapi: Any = conn.connection.driver_connection  # sqlite3 or psycopg
        self.descriptors = self._vocabulary(t.mesh_descriptors)
        self.qualifiers = self._vocabulary(t.mesh_qualifiers)
        j = t.mirror_journals.c
        self.journals = {tuple(r) for r in conn.execute(sa.select(j.form, j.journal))}

    def _vocabulary(self, table: sa.Table) -> dict[str, str]:
        return dict(self.conn.execute(sa.select(table.c.ui, table.c.name)).all())

    # -- the chunk -------------------------------------------------------------------------

    def finish(self) -> float:
        """At the end of the file, before its transaction commits: what the index still needs
        (on PostgreSQL, merging the GIN index's pending entries); returns the seconds it took."""
        started = time.perf_counter()
        if bulk_index(self.store):
            merge_pending(self.conn)
        # Deletions reach article_search by cascade whoever indexes: their log, too.
        absorb_words(self.conn)
        return time.perf_counter() - started

    def write(self, chunk: Chunk, file_id: int, file_name: str) -> ChunkResult:
        result = ChunkResult()
        if chunk.pmids:
            self._write_records(chunk, file_id, file_name, result)
        if chunk.deletions:
            self._delete(chunk.deletions, file_id, file_name, result)
        return result

    def _write_records(self, chunk: Chunk, file_id: int, file_name: str,
                       result: ChunkResult) -> None:
        conn = self.conn
        stored: dict[str, sa.Row] = {}
        tombs: dict[str, str] = {}
        for piece in chunked(chunk.pmids, IN_CHUNK):
            self._versions(piece, stored, tombs)
        keep: set[str] = set()
        for pmid, revised in zip(chunk.pmids, chunk.date_revised, strict=True):
            if pmid in tombs and tombs[pmid] > file_name:
                continue  # a later file deleted it
            old = stored.get(pmid)
            if old is not None and _order_key(old.date_revised, old.name) > _order_key(
                    revised, file_name):
                continue  # the stored version is newer
            keep.add(pmid)
        result.superseded = len(chunk.pmids) - len(keep)
        if len(keep) < len(chunk.pmids):
            chunk.keep_only(keep)
        if not chunk.pmids:
            return
        replaced = [p for p in chunk.pmids if p in stored]
        if replaced:
            self._clear(replaced, stored)
        self._vocabulary_rows(t.mesh_descriptors, chunk.descriptors, self.descriptors)
        self._vocabulary_rows(t.mesh_qualifiers, chunk.qualifiers, self.qualifiers)
        self.insert_articles(chunk, set(replaced))
        records = [(r[0], file_id, *r[1:]) for r in chunk.records]
        self.insert_records(records, chunk.title_words, set(replaced))
        new_journals = sorted(chunk.journals - self.journals)
        if new_journals:
            self.insert_ignore(t.mirror_journals, new_journals)
            self.journals.update(new_journals)
        revived = [p for p in chunk.pmids if p in tombs]
        for piece in chunked(revived, IN_CHUNK):
            conn.execute(t.mirror_deletions.delete().where(t.mirror_deletions.c.pmid.in_(piece)))
        # The search index (and any other derived data) follows the rows just written.
        started = time.perf_counter()
        if chunk.index == self.store.dialect and bulk_index(self.store):
            if replaced:
                keys = sa.table("article_author_keys", sa.column("pmid"))
                for piece in chunked(replaced, IN_CHUNK):
                    conn.execute(keys.delete().where(keys.c.pmid.in_(piece)))
            self.insert_search(chunk, set(replaced))
        elif self.store.article_hooks or (type(self.store).after_save_articles
                                          is not Store.after_save_articles):
            self.store.after_save_articles(conn, articles_of(chunk))
        result.index_seconds = time.perf_counter() - started
        result.written = len(chunk.pmids)

    def _versions(self, pmids: list[str], stored: dict[str, sa.Row],
                  tombs: dict[str, str]) -> None:
        """What the store holds of these PMIDs: each stored article's title, year, DateRevised
        and mirror file (into stored), and the file that deleted each tombstoned one."""
        a, m, f, d = t.articles.c, t.mirror_records.c, t.mirror_files.c, t.mirror_deletions.c
        stored.update((row.pmid, row) for row in self.conn.execute(
            sa.select(a.pmid, a.title, a.year, a.date_revised, f.name)
            .select_from(t.articles.outerjoin(t.mirror_records, m.pmid == a.pmid)
                         .outerjoin(t.mirror_files, f.id == m.file_id))
            .where(a.pmid.in_(pmids))))
        tombs.update(self.conn.execute(
            sa.select(d.pmid, f.name).join_from(t.mirror_deletions, t.mirror_files,
                                                f.id == d.file_id)
            .where(d.pmid.in_(pmids))).all())

    def _clear(self, pmids: list[str], stored: dict[str, sa.Row]) -> None:
        """Remove what the new versions of these records replace: child rows, title words."""
        conn = self.conn
        for table in t.ARTICLE_CHILD_TABLES:
            for piece in chunked(pmids, IN_CHUNK):
                conn.execute(table.delete().where(table.c.pmid.in_(piece)))
        self._forget_title_words([(p, stored[p].title, stored[p].year) for p in pmids])

    def _forget_title_words(self, records: Iterable[tuple[str, str | None, int | None]]) -> None:
        w = t.mirror_title_words.c
        rows = [{"w": word, "y": year if year is not None else NO_YEAR, "p": pmid}
                for pmid, title, year in records for word in record_title_words(title)]
        if rows:
            self.conn.execute(
                t.mirror_title_words.delete().where(
                    w.word == sa.bindparam("w"), w.year == sa.bindparam("y"),
                    w.pmid == sa.bindparam("p")),
                rows)

    def _vocabulary_rows(self, table: sa.Table, names: dict[str, str],
                         known: dict[str, str]) -> None:
        new = {ui: name for ui, name in names.items() if known.get(ui) != name}
        if not new:
            return
        ins = (sqlite.insert if self.store.dialect == "sqlite" else postgresql.insert)(table)
        self.conn.execute(
            ins.on_conflict_do_update(index_elements=["ui"], set_={"name": ins.excluded.name},
                                      where=table.c.name != ins.excluded.name),
            [{"ui": ui, "name": new[ui]} for ui in sorted(new)])
        known.update(new)

    # -- deletions -------------------------------------------------------------------------

    def _delete(self, pmids: list[str], file_id: int, file_name: str,
                result: ChunkResult) -> None:
        conn = self.conn
        r = t.refs.c
        unique = sorted(set(pmids))
        stored: dict[str, sa.Row] = {}
        tombs: dict[str, str] = {}
        linked: set[str] = set()
        for piece in chunked(unique, IN_CHUNK):
            self._versions(piece, stored, tombs)
            linked.update(conn.execute(
                sa.select(r.pmid).where(r.pmid.in_(piece)).distinct()).scalars())
        # A record a later file brought back stays; so does a tombstone of a later file.
        gone = [p for p in unique if p in stored
                and (stored[p].name is None or stored[p].name <= file_name)]
        kept = [p for p in gone if p in linked]
        dropped = [p for p in gone if p not in linked]
        self._forget_title_words((p, stored[p].title, stored[p].year) for p in gone)
        for piece in chunked(kept, IN_CHUNK):
            conn.execute(t.mirror_records.delete().where(t.mirror_records.c.pmid.in_(piece)))
        for piece in chunked(dropped, IN_CHUNK):
            # The foreign keys' cascades take the child rows, mirror_records and the search
            # index rows with the article.
            conn.execute(t.articles.delete().where(t.articles.c.pmid.in_(piece)))
        tombstones = [(p, file_id) for p in unique if tombs.get(p, "") <= file_name]
        self.upsert(t.mirror_deletions, tombstones, ["file_id"])
        result.deleted += len(dropped)
        result.kept_linked += len(kept)

    # -- per backend -----------------------------------------------------------------------

    def insert_articles(self, chunk: Chunk, replaced: set[str]) -> None:
        raise NotImplementedError

    def insert_records(self, records: list[tuple], words: list[tuple],
                       replaced: set[str]) -> None:
        """mirror_records rows (replacing those of replaced PMIDs) and title words."""
        raise NotImplementedError

    def insert_search(self, chunk: Chunk, replaced: set[str]) -> None:
        """The chunk's search rows (those of replaced PMIDs replace theirs; their author keys
        are gone already)."""
        raise NotImplementedError

    def upsert(self, table: sa.Table, rows: list[tuple], update: list[str]) -> None:
        raise NotImplementedError

    def insert_ignore(self, table: sa.Table, rows: Iterable[tuple]) -> None:
        raise NotImplementedError


_AUTHOR_KEYS_INSERT = ("INSERT INTO article_author_keys (pmid, key) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING")


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


class SqliteWriter(Writer):
    """executemany on the sqlite3 cursor, one prepared statement per table."""

    def __init__(self, store, conn: sa.Connection) -> None:
        super().__init__(store, conn)
        self.cursor = self.dbapi.cursor()
        self._sql: dict[tuple, str] = {}

    def _insert_sql(self, table: sa.Table, conflict: str = "") -> str:
        key = (table.name, conflict)
        sql = self._sql.get(key)
        if sql is None:
            cols = COLUMNS[table.name]
            sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) "
                   f"VALUES ({_placeholders(len(cols))}) {conflict}")
            self._sql[key] = sql
        return sql

    def insert_articles(self, chunk: Chunk, replaced: set[str]) -> None:
        cols = COLUMNS["articles"]
        update = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "pmid")
        self.cursor.executemany(
            self._insert_sql(t.articles, f"ON CONFLICT (pmid) DO UPDATE SET {update}"),
            chunk.rows["articles"])
        for table in ARTICLE_TABLES[1:]:
            rows = chunk.rows[table.name]
            if rows:
                self.cursor.executemany(self._insert_sql(table), rows)

    def insert_records(self, records: list[tuple], words: list[tuple],
                       replaced: set[str]) -> None:
        self.upsert(t.mirror_records, records, _RECORD_UPDATE)
        if words:
            self.insert_ignore(t.mirror_title_words, words)

    def insert_search(self, chunk: Chunk, replaced: set[str]) -> None:
        # index_articles' statement: a record loaded again unchanged costs no reindexing.
        if chunk.search:
            self.cursor.executemany(SQLITE_UPSERT, chunk.search)
        if chunk.author_keys:
            self.cursor.executemany(_AUTHOR_KEYS_INSERT, chunk.author_keys)

    def upsert(self, table: sa.Table, rows: list[tuple], update: list[str]) -> None:
        if not rows:
            return
        key = ", ".join(c.name for c in table.primary_key.columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        self.cursor.executemany(
            self._insert_sql(table, f"ON CONFLICT ({key}) DO UPDATE SET {sets}"), rows)

    def insert_ignore(self, table: sa.Table, rows: Iterable[tuple]) -> None:
        self.cursor.executemany(self._insert_sql(table, "ON CONFLICT DO NOTHING"), rows)


class PostgresWriter(Writer):
    """COPY: into the tables for new rows, through a temporary table for upserts."""

    def __init__(self, store, conn: sa.Connection) -> None:
        super().__init__(store, conn)
        self.cursor = self.dbapi.cursor()
        self._staged: set[str] = set()

    def _copy(self, table_name: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        with self.cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _stage(self, table: str) -> str:
        name = f"mirror_stage_{table}"
        if name not in self._staged:
            # Dropped at the end of the file's transaction.
            self.cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} "
                f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
            self._staged.add(name)
        else:
            self.cursor.execute(f"TRUNCATE {name}")
        return name

    def _merge(self, table: sa.Table | str, rows: list[tuple], conflict: str,
               cols: Sequence[str] | None = None) -> None:
        name = table if isinstance(table, str) else str(table.name)
        cols = cols or COLUMNS[name]
        stage = self._stage(name)
        self._copy(stage, cols, rows)
        names = ", ".join(cols)
        # Ordered, as the Store writes: concurrent writers lock rows in one order.
        self.cursor.execute(
            f"INSERT INTO {name} ({names}) SELECT {names} FROM {stage} ORDER BY {cols[0]} "
            f"{conflict}")

    def insert_articles(self, chunk: Chunk, replaced: set[str]) -> None:
        cols = COLUMNS["articles"]
        rows = chunk.rows["articles"]
        if replaced:
            update = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "pmid")
            self._merge(t.articles, [r for r in rows if r[0] in replaced],
                        f"ON CONFLICT (pmid) DO UPDATE SET {update}")
            rows = [r for r in rows if r[0] not in replaced]
        self._copy("articles", cols, rows)
        for table in ARTICLE_TABLES[1:]:
            if chunk.rows[table.name]:
                self._copy(table.name, COLUMNS[table.name], chunk.rows[table.name])

    def insert_records(self, records: list[tuple], words: list[tuple],
                       replaced: set[str]) -> None:
        # A PMID new to the articles table has no mirror row and no title words: plain COPY.
        if replaced:
            self.upsert(t.mirror_records, [r for r in records if r[0] in replaced],
                        _RECORD_UPDATE)
            self.insert_ignore(t.mirror_title_words, [w for w in words if w[2] in replaced])
            records = [r for r in records if r[0] not in replaced]
            words = [w for w in words if w[2] not in replaced]
        self._copy("mirror_records", COLUMNS["mirror_records"], records)
        if words:
            self._copy("mirror_title_words", COLUMNS["mirror_title_words"], words)

    def insert_search(self, chunk: Chunk, replaced: set[str]) -> None:
        cols = SEARCH_COLUMNS["postgresql"]
        rows = chunk.search
        if replaced:
            # index_articles' condition: a record loaded again unchanged costs no reindexing.
            self._merge("article_search", [r for r in rows if r[0] in replaced],
                        PG_UPSERT_CONFLICT, cols)
            rows = [r for r in rows if r[0] not in replaced]
        if rows:
            self._copy("article_search", cols, rows)
        if chunk.author_keys:
            self._copy("article_author_keys", ("pmid", "key"), chunk.author_keys)

    def upsert(self, table: sa.Table, rows: list[tuple], update: list[str]) -> None:
        if not rows:
            return
        key = ", ".join(c.name for c in table.primary_key.columns)
        sets = ", ".join(f"{c} = excluded.{c}" for c in update)
        self._merge(table, rows, f"ON CONFLICT ({key}) DO UPDATE SET {sets}")

    def insert_ignore(self, table: sa.Table, rows: Iterable[tuple]) -> None:
        self._merge(table, list(rows), "ON CONFLICT DO NOTHING")


def writer_for(store, conn: sa.Connection) -> Writer:
    return SqliteWriter(store, conn) if store.dialect == "sqlite" else PostgresWriter(store, conn)


# -- the Articles the hooks see ----------------------------------------------------------------


# The child tables build_articles reads, in the order of store.rows.
CHILD_TABLES = ("abstract_sections", "authors", "affiliations", "article_mesh_headings",
                "article_mesh_qualifiers", "publication_types", "keywords", "chemicals",
                "comments_corrections")


def articles_of(chunk: Chunk) -> list[Article]:
    """The chunk's records as Articles, rebuilt from its rows by store.rows.build_articles, as
    the Store reads them back: what Store.after_save_articles' hooks see after a save."""

    def dicts(name: str) -> list[dict]:
        return [dict(zip(COLUMNS[name], row, strict=True)) for row in chunk.rows[name]]

    articles = dicts("articles")
    for a in articles:
        a["languages"] = _languages(a["languages"])
    children = {name: dicts(name) for name in CHILD_TABLES}
    for h in children["article_mesh_headings"]:
        h["name"] = chunk.descriptors.get(h["descriptor_ui"], h["descriptor_ui"])
    for q in children["article_mesh_qualifiers"]:
        q["name"] = chunk.qualifiers.get(q["qualifier_ui"], q["qualifier_ui"])
    built = build_articles(articles, children)
    return [built[a["pmid"]] for a in articles]


def _languages(text: str) -> list[str]:
    return json.loads(text) if text else []


__all__ = ["ChunkResult", "PostgresWriter", "SqliteWriter", "Writer", "articles_of",
           "bulk_index", "writer_for"]
