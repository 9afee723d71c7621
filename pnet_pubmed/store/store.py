"""The Store: references, matches and PubMed records in SQLite or PostgreSQL via SQLAlchemy."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.request import pathname2url

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import NullPool, StaticPool

from pnet_pubmed.flags import Flag
from pnet_pubmed.util import chunked, first_line, no_cycle_collection
from pnet_pubmed.values import MATCH_STATUSES, Article, Citation, Match

from .. import errors
from . import reads
from . import schema as t
from .dbapi import ReadConnection, adopt, describe_error
from .rows import article_rows, citation_row, match_row

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
# Bounds the number of bound parameters of an IN (...) list; both backends allow far more.
CHUNK = 500
# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
_WRITE = "pnet_pubmed_write"

ArticleHook = Callable[[sa.Connection, Sequence[Article]], None]


class ArticleIndex(Protocol):
    """Data derived from the stored articles that follows every save: the search index.

    The Store only calls it (it never imports what implements it: pnet_pubmed.search.index's
    SearchIndex). articles_saved runs inside save_articles' transaction once every row is
    written; rebuild is what a migration that changes the index calls (Store.upgrade passes
    the index to the migrations as the Alembic attribute "article_index").
    """

    def articles_saved(self, connection: sa.Connection, articles: Sequence[Article]) -> None:
        ...

    def rebuild(self, connection: sa.Connection) -> int:
        ...


class StoreError(errors.StoreError):
    """A database problem, with a one-line message fit to show to a user."""


def _one_line(err: BaseException) -> str:
    """The first line of the driver's message: SQLAlchemy appends the SQL and a help link."""
    orig = getattr(err, "orig", None)
    return first_line(orig) if isinstance(orig, BaseException) else first_line(err)


def _masked(url: str) -> str:
    """A URL that could not be parsed, with any password hidden all the same."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def _translating(method):
    """Turn SQLAlchemy and driver errors raised by a Store method into StoreError."""

    @functools.wraps(method)
    def wrapper(self: Store, *args, **kwargs):
        with self._errors():
            return method(self, *args, **kwargs)

    return wrapper


def _normalise_url(url: str) -> sa.URL:
    if "://" not in url:
        # A bare path is a SQLite file: the CLI's --db accepts either.
        return sa.URL.create("sqlite", database=url)
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        # psycopg 3 is the driver the project installs; SQLAlchemy's default is psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_path(url: sa.URL) -> Path | None:
    """The database file of a SQLite URL, None for an in-memory database."""
    db = url.database
    if not db or db == ":memory:" or url.query.get("mode") == "memory":
        return None
    return Path(db)


class Store:
    """References, their matches and the matched PubMed records, in one database.

    Every save_* method is one transaction, committed when it returns. Saving a collection's
    citations makes it that list: references no longer in it go, the articles stay.

    url is a SQLAlchemy URL (sqlite:///path, postgresql+psycopg://...; plain postgresql://
    means psycopg 3) or a bare file path for SQLite. On PostgreSQL, a schema other than public
    is chosen with the URL, e.g. ?options=-csearch_path%3Dmyschema.

    index keeps derived data in step with saved articles: SearchIndex() (pnet_pubmed.search.
    index) for the full-text search. Without it, saves do not update the search index, and an
    upgrade that must rebuild it fails on a database holding articles.

    Concurrency: on SQLite, writes start with BEGIN IMMEDIATE under WAL and a 30 s busy
    timeout; on PostgreSQL, rows are upserted with ON CONFLICT in sorted key order so that
    writers saving overlapping records wait for each other instead of deadlocking.
    """

    def __init__(self, url: str, index: ArticleIndex | None = None) -> None:
        try:
            self._url = _normalise_url(url)
        except (sa.exc.ArgumentError, ValueError) as e:
            raise StoreError(f"bad database URL {_masked(url)!r}: {_one_line(e)}") from e
        self.url = self._url.render_as_string(hide_password=True)
        self.dialect = self._url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"unsupported database {self.url!r}: use sqlite or postgresql")
        # Functions called inside save_articles' transaction after all rows are written, e.g. to
        # index the articles for full-text search. Subclasses may override after_save_articles.
        self.article_hooks: list[ArticleHook] = []
        # The full-text index follows every save, in the same transaction.
        self.index = index
        if index is not None:
            self.article_hooks.append(index.articles_saved)
        try:
            self.engine = self._sqlite_engine() if self.dialect == "sqlite" else self._pg_engine()
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
            raise StoreError(f"cannot use database {self.url}: {_one_line(e)}") from e
        self._writer = self.engine.execution_options(**{_WRITE: True})
        self._insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert

    # -- engines -------------------------------------------------------------------------------

    def _sqlite_engine(self) -> sa.Engine:
        path = _sqlite_path(self._url)
        if path is None:
            # One shared connection, or each checkout would see its own empty database.
            engine = sa.create_engine(
                self._url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create directory for {path}: {e.strerror}") from e
            engine = sa.create_engine(self._url)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # SQLAlchemy emits BEGIN itself (below); pysqlite's own handling would defer it.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                # WAL: readers and the writer do not block each other. With WAL, NORMAL sync
                # can lose the last commits on power loss but never corrupts the file.
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):
            # Writers take the write lock up front: a deferred transaction that later upgrades
            # from read to write gets SQLITE_BUSY at once, without waiting on busy_timeout.
            if conn.get_execution_options().get(_WRITE):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    def _pg_engine(self) -> sa.Engine:
        connect_args = {}
        if "connect_timeout" not in self._url.query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        return sa.create_engine(self._url, connect_args=connect_args)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- transactions and errors ---------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as e:
            raise StoreError(self._message(e)) from e
        except Exception as e:
            # Driver errors raised outside SQLAlchemy's wrapping (e.g. in a connect event).
            dbapi = self.engine.dialect.loaded_dbapi
            if isinstance(e, dbapi.Error):
                raise StoreError(self._message(e)) from e
            raise

    def _message(self, err: BaseException) -> str:
        orig = getattr(err, "orig", None)  # SQLAlchemy appends the SQL and a help link
        return describe_error(self.url, orig if isinstance(orig, BaseException) else err)

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A write transaction committed at the end of the block, for code beside the Store.

        For instance rebuilding the search index. On SQLite it takes the write lock at once;
        database errors that leave the block come out as StoreError.
        """
        with self._errors(), self._write() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[ReadConnection]:
        """The DB-API connection beneath a read connection, for pnet_pubmed.store.reads."""
        with self._read() as conn:
            yield adopt(conn.connection.dbapi_connection, self.dialect)

    # -- schema --------------------------------------------------------------------------------

    def _alembic_config(self):
        # Alembic is imported only here: it costs a CLI start-up ~0.15 s it rarely needs.
        from alembic.config import Config

        cfg = Config()
        # configparser interpolation would read a % in the path as a reference.
        cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        return cfg

    @_translating
    def upgrade(self) -> None:
        """Bring the schema to the newest revision; does nothing when it is there already."""
        from alembic import command
        from alembic.util import CommandError

        cfg = self._alembic_config()
        with self._write() as conn:
            if self.dialect == "postgresql":
                # Transactional DDL plus this lock: concurrent upgrades run one after the other,
                # and the later one finds the schema current. SQLite's BEGIN IMMEDIATE does the
                # same there. The lock is per schema, so parallel test schemas do not wait.
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:k || current_schema()))"),
                    {"k": "pnet_pubmed.store:"},
                )
            cfg.attributes["connection"] = conn
            # Revisions that change the search index rebuild it through this.
            cfg.attributes["article_index"] = self.index
            try:
                command.upgrade(cfg, "head")
            except CommandError as e:
                # E.g. a database migrated by a newer pnet-pubmed: "Can't locate revision".
                raise StoreError(self._message(e)) from e
            if self.dialect == "postgresql":
                # The role `sql` runs as, with SELECT on tables added since; only reads when
                # all is in place, and leaves things as they are when the user may not.
                from .readonly import ensure

                ensure(conn)

    @_translating
    def current_revision(self) -> str | None:
        """The schema revision of the database, None before the first upgrade."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        """The newest schema revision this version of pnet-pubmed knows."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    # -- collections and references ------------------------------------------------------------

    @_translating
    def collection_id(self, name: str, source: str | None = None, create: bool = True) -> int:
        """The id of a collection; created when missing (or StoreError if create is False).

        A source given for an existing collection replaces the stored one.
        """
        if create:
            with self._write() as conn:
                return self._collection_id(conn, name, source, create=True)
        with self._read() as conn:
            return self._collection_id(conn, name, None, create=False)

    def _collection_id(
        self, conn: sa.Connection, name: str, source: str | None, create: bool
    ) -> int:
        c = t.collections.c
        row = conn.execute(sa.select(c.id, c.source).where(c.name == name)).first()
        if row is not None:
            if source is not None and source != row.source:
                conn.execute(
                    t.collections.update()
                    .where(c.id == row.id)
                    .values(source=source, updated_at=_now())
                )
            return row.id
        if not create:
            reads.require_collection(name, conn.execute(
                sa.select(c.name).order_by(c.name)).scalars(), StoreError)
        now = _now()
        # ON CONFLICT: another process may create the same collection at the same time.
        conn.execute(
            self._insert(t.collections)
            .values(name=name, source=source, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return conn.execute(sa.select(c.id).where(c.name == name)).scalar_one()

    @_translating
    def save_citations(self, collection: str, citations: Sequence[Citation]) -> int:
        """Make the collection's references exactly `citations`, by key; returns how many left.

        A reference is its key in the list. Parsed fields always take the new values (a
        reference read as it is stored is not written again). A reference whose raw text
        changed goes back to 'pending' and loses its match; an unchanged one keeps it.
        References of the collection whose keys are not in `citations` are deleted (the
        articles they were linked to stay: other lists may cite them). All of it is one
        transaction: the collection is the old list or the new one, never a mix.
        """
        dupes = sorted(k for k, n in Counter(c.key for c in citations).items() if n > 1)
        if dupes:
            raise StoreError(f"duplicate reference keys in {collection!r}: {', '.join(dupes)}")
        now = _now()
        with no_cycle_collection(), self._write() as conn:
            cid = self._collection_id(conn, collection, None, create=True)
            conn.execute(
                t.collections.update().where(t.collections.c.id == cid).values(updated_at=now)
            )
            r = t.refs.c
            # What is stored already, read once: rows that would be written as they are stay.
            stored = {row[0]: row[1:] for row in conn.execute(
                sa.select(r.key, *(r[k] for k in _PARSED_COLUMNS)).where(r.collection_id == cid))}
            removed = self._remove_other_keys(conn, cid, set(stored),
                                              {c.key for c in citations})
            rows = []
            for c in sorted(citations, key=lambda c: c.key):
                row = citation_row(c)
                if stored.get(c.key) != tuple(row[k] for k in _PARSED_COLUMNS):
                    rows.append(row | {"updated_at": now})
            if not rows:
                return removed
            # A new reference is pending, with no match: the same for every row, in the SQL.
            ins = self._insert(t.refs).values(
                collection_id=sa.literal_column(str(int(cid))),
                status=sa.literal_column("'pending'"),
                candidates=sa.literal_column("'[]'"), notes=sa.literal_column("'[]'"))
            new = ins.excluded
            old = t.refs.c
            changed = old.raw != new.raw
            set_ = {k: new[k] for k in rows[0] if k != "key"}
            set_["status"] = sa.case((changed, "pending"), else_=old.status)
            for k in ("pmid", "method", "score", "reason"):
                set_[k] = sa.case((changed, sa.null()), else_=old[k])
            set_["candidates"] = sa.case((changed, new.candidates), else_=old.candidates)
            set_["notes"] = sa.case((changed, new.notes), else_=old.notes)
            conn.execute(
                ins.on_conflict_do_update(index_elements=["collection_id", "key"], set_=set_),
                rows,
            )
            return removed

    @staticmethod
    def _remove_other_keys(conn: sa.Connection, cid: int, stored: set[str],
                           keep: set[str]) -> int:
        r = t.refs.c
        gone = sorted(stored - keep)
        for chunk in chunked(gone, CHUNK):
            conn.execute(t.refs.delete().where(r.collection_id == cid, r.key.in_(chunk)))
        return len(gone)

    @_translating
    def save_matches(self, collection: str, matches: Sequence[Match]) -> None:
        """Record match outcomes on the references with the same keys; unknown keys fail.

        A 'pending' outcome says a run could not decide: it never replaces a decided status
        (matched, ambiguous, not_found) and only updates the reason of a pending reference.
        """
        bad = sorted({m.status for m in matches} - set(MATCH_STATUSES))
        if bad:
            raise StoreError(f"invalid match status: {', '.join(bad)}")
        now = _now()
        with no_cycle_collection(), self._write() as conn:
            cid = self._collection_id(conn, collection, None, create=False)
            if not matches:
                return
            r = t.refs.c
            keys = sorted({m.key for m in matches})
            known: set[str] = set()
            for chunk in chunked(keys, CHUNK):  # only this batch's keys: a long list stays linear
                known.update(conn.execute(sa.select(r.key).where(
                    r.collection_id == cid, r.key.in_(chunk))).scalars())
            missing = [k for k in keys if k not in known]
            if missing:
                shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                raise StoreError(f"no references with keys {shown} in {collection!r}")
            values = [match_row(m) for m in matches]
            if len(keys) == len(matches) and all(v == values[0] for v in values):
                # One outcome for all (a batch an offline run could not decide): one statement
                # per chunk of keys, in key order as the rows below.
                undecided = matches[0].status == "pending"
                for chunk in chunked(keys, CHUNK):
                    conn.execute(t.refs.update().where(
                        r.collection_id == cid, r.key.in_(chunk),
                        *([r.status == "pending"] if undecided else []),
                    ).values(values[0] | {"updated_at": now}))
                conn.execute(t.collections.update().where(t.collections.c.id == cid)
                             .values(updated_at=now))
                return
            stmt = (
                t.refs.update()
                .where(
                    r.collection_id == cid,
                    r.key == sa.bindparam("b_key"),
                    sa.or_(sa.not_(sa.bindparam("b_undecided", type_=sa.Boolean)),
                           r.status == "pending"),
                )
                .values(
                    {
                        col: sa.bindparam(f"b_{col}", type_=r[col].type)
                        for col in (*_MATCH_COLUMNS, "updated_at")
                    }
                )
            )
            params = [
                {f"b_{k}": v for k, v in match_row(m).items()}
                | {"b_key": m.key, "b_updated_at": now, "b_undecided": m.status == "pending"}
                for m in sorted(matches, key=lambda m: m.key)
            ]
            conn.execute(stmt, params)
            conn.execute(
                t.collections.update().where(t.collections.c.id == cid).values(updated_at=now)
            )

    @_translating
    def references(self, collection: str | None = None, status: str | None = None) -> list[dict]:
        """References with their match, ordered by collection name and position."""
        with self._reading() as conn:
            return reads.references(conn, collection, status)

    @_translating
    def collections(self) -> list[dict]:
        """Every collection with its number of references in each status, by name."""
        with self._reading() as conn:
            return reads.collections(conn)

    @_translating
    def delete_collection(self, name: str) -> dict:
        """Remove a collection and its references, in one transaction; the records stay.

        Stored records are shared: other collections may cite them, a mirror loads records that
        no collection cites, and `search` finds them all. So deleting a list never deletes a
        record; the counts say how many of its records no other collection cites.
        """
        c, r = t.collections.c, t.refs.c
        with self._write() as conn:
            cid = self._collection_id(conn, name, None, create=False)
            n_refs = conn.execute(
                sa.select(sa.func.count()).select_from(t.refs).where(r.collection_id == cid)
            ).scalar_one()
            linked = set(conn.execute(
                sa.select(r.pmid).where(r.collection_id == cid, r.status == "matched",
                                        r.pmid.is_not(None))).scalars())
            elsewhere: set[str] = set()
            for chunk in chunked(sorted(linked), CHUNK):
                elsewhere.update(conn.execute(
                    sa.select(r.pmid).where(r.collection_id != cid, r.status == "matched",
                                            r.pmid.in_(chunk))).scalars())
            conn.execute(t.refs.delete().where(r.collection_id == cid))
            conn.execute(t.collections.delete().where(c.id == cid))
        return {"collection": name, "references": int(n_refs), "records": len(linked),
                "records_cited_elsewhere": len(elsewhere)}

    # -- articles ------------------------------------------------------------------------------

    @_translating
    def save_articles(
        self, articles: Sequence[Article], fetched_at: Mapping[str, datetime] | None = None
    ) -> int:
        """Insert or replace records by PMID, with all their parts; returns how many were saved.

        Child rows are deleted and inserted again. MeSH descriptors and qualifiers are shared:
        a UI seen with a new name takes that name for every article.

        fetched_at says when NCBI gave each copy (default: now). A copy older than the stored
        one is skipped, so an answer cached before a `refresh` never brings an old version back,
        and so is the stored copy itself (the same fetched_at: a rerun served from the cache).
        """
        unique = {a.pmid: a for a in articles}  # the same record twice: the later one wins
        if not unique:
            return 0
        given = {p: _utc(f) for p, f in (fetched_at or {}).items() if p in unique and f}
        with self._write() as conn:
            now = _now()  # once the write lock is held: a copy without a time is the newest
            when = {p: given.get(p, now) for p in unique}
            stored = self._fetched_at(conn, sorted(given))
            # Sorted, so concurrent writers lock rows in the same order and cannot deadlock.
            # The same copy again (a rerun served from the cache) is not rewritten either.
            batch = [unique[p] for p in sorted(unique) if p not in stored or stored[p] < when[p]]
            if not batch:
                return 0
            rows = article_rows(batch, when)
            pmids = [a.pmid for a in batch]
            ins = self._insert(t.articles)
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["pmid"],
                    set_={k: ins.excluded[k] for k in rows.articles[0] if k != "pmid"},
                ),
                rows.articles,
            )
            self._upsert_vocabulary(conn, t.mesh_descriptors, rows.mesh_descriptors)
            self._upsert_vocabulary(conn, t.mesh_qualifiers, rows.mesh_qualifiers)
            for table in t.ARTICLE_CHILD_TABLES:
                for chunk in chunked(pmids, CHUNK):
                    conn.execute(table.delete().where(table.c.pmid.in_(chunk)))
            for table in reversed(t.ARTICLE_CHILD_TABLES):
                table_rows = getattr(rows, table.name)
                if table_rows:
                    conn.execute(table.insert(), table_rows)
            self.after_save_articles(conn, batch)
        return len(batch)

    @staticmethod
    def _fetched_at(conn: sa.Connection, pmids: list[str]) -> dict[str, datetime]:
        a = t.articles.c
        out: dict[str, datetime] = {}
        for chunk in chunked(pmids, CHUNK):
            q = sa.select(a.pmid, a.fetched_at).where(a.pmid.in_(chunk))
            out.update((p, _utc(f)) for p, f in conn.execute(q))
        return out

    @_translating
    def touch_articles(self, pmids: Iterable[str], fetched_at: datetime | None = None) -> None:
        """Record that NCBI's copy of these records was checked at fetched_at (default: now)."""
        when = _utc(fetched_at) if fetched_at else _now()
        wanted = sorted(set(pmids))
        a = t.articles
        with self._write() as conn:
            for chunk in chunked(wanted, CHUNK):
                conn.execute(a.update().where(a.c.pmid.in_(chunk)).values(fetched_at=when))

    @_translating
    def refresh_selection(
        self,
        collection: str | None = None,
        older_than: datetime | None = None,
        status_not: Sequence[str] = (),
    ) -> list[str]:
        """PMIDs of the stored records that matched references link to, for `refresh`.

        Of one collection or of all; only those fetched before older_than, and only those whose
        MEDLINE status is none of status_not (a record without a status is always kept).
        """
        a, r, c = t.articles.c, t.refs.c, t.collections.c
        q = (
            sa.select(a.pmid)
            .join_from(t.articles, t.refs, r.pmid == a.pmid)
            .where(r.status == "matched")
            .distinct()
        )
        if collection is not None:
            q = q.join(t.collections, c.id == r.collection_id).where(c.name == collection)
        if older_than is not None:
            q = q.where(a.fetched_at < _utc(older_than))
        if status_not:
            q = q.where(sa.or_(a.status.is_(None), a.status.not_in(list(status_not))))
        with self._read() as conn:
            return sorted(conn.execute(q).scalars(), key=lambda p: (len(p), p))

    @_translating
    def article_flags(self, pmids: Iterable[str]) -> dict[str, tuple[Flag, ...]]:
        """Retracted, expression of concern, erratum, updated: the flags of stored records, read
        from the view article_flags (pnet_pubmed/flags.py has the rule). Unflagged: left out."""
        with self._reading() as conn:
            return reads.article_flags(conn, pmids)

    def _upsert_vocabulary(self, conn: sa.Connection, table: sa.Table, names: dict) -> None:
        if not names:
            return
        ins = self._insert(table)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["ui"],
                set_={"name": ins.excluded.name},
                # No write (and no dead row on PostgreSQL) when the name is the same.
                where=table.c.name != ins.excluded.name,
            ),
            [{"ui": ui, "name": names[ui]} for ui in sorted(names)],
        )

    def after_save_articles(self, conn: sa.Connection, articles: Sequence[Article]) -> None:
        """Called inside save_articles' transaction once every row is written; runs the hooks.

        The place for derived data such as a full-text index (pnet_pubmed/search/index.py).
        """
        for hook in self.article_hooks:
            hook(conn, articles)

    @_translating
    def article(self, pmid: str) -> Article | None:
        """The stored record with this PMID, rebuilt from its rows; None when not stored."""
        found = self.articles([pmid])
        return found[0] if found else None

    @_translating
    def articles(self, pmids: Iterable[str]) -> list[Article]:
        """Stored records in the order asked for; PMIDs not stored are skipped."""
        with self._reading() as conn:
            return reads.articles(conn, pmids)

    @_translating
    def known_pmids(self, pmids: Iterable[str]) -> set[str]:
        """Those of the PMIDs whose records are stored."""
        wanted = list(dict.fromkeys(pmids))
        found: set[str] = set()
        with self._read() as conn:
            for chunk in chunked(wanted, CHUNK):
                q = sa.select(t.articles.c.pmid).where(t.articles.c.pmid.in_(chunk))
                found.update(conn.execute(q).scalars())
        return found

    @_translating
    def journal_names(self) -> list[tuple[str | None, str | None, str]]:
        """(title, ISO abbreviation, MedlineTA) of every journal with a stored record."""
        a = t.articles.c
        q = (sa.select(a.journal_title, a.iso_abbreviation, a.medline_ta)
             .where(a.medline_ta.is_not(None)).distinct())
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(q)]

    # -- read-only access ----------------------------------------------------------------------

    @contextmanager
    def read_only_connection(self) -> Iterator[sa.Connection]:
        """A connection that refuses to write, for running user-supplied SQL.

        SQLite opens the file with mode=ro; PostgreSQL makes every transaction of the session
        READ ONLY. Database errors inside the block come out as StoreError too.
        """
        with self._errors():
            if self.dialect == "sqlite":
                engine, guard = self._sqlite_read_only_engine()
            else:
                engine, guard = self._pg_read_only_engine(), None
            try:
                with engine.connect() as conn:
                    if guard:
                        conn.exec_driver_sql("PRAGMA query_only = ON")
                    try:
                        yield conn
                    finally:
                        if guard:
                            conn.rollback()
                            conn.exec_driver_sql("PRAGMA query_only = OFF")
            finally:
                if engine is not self.engine:
                    engine.dispose()

    def _sqlite_read_only_engine(self) -> tuple[sa.Engine, bool]:
        path = _sqlite_path(self._url)
        if path is None:
            # An in-memory database exists only in our own connection: guard that one instead.
            return self.engine, True
        if not path.exists():
            raise StoreError(f"database {self.url}: no such file")
        uri = f"file:{pathname2url(str(path.resolve()))}?mode=ro"

        def connect():
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            return conn

        return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool), False

    def _pg_read_only_engine(self) -> sa.Engine:
        connect_args: dict = {
            # Always the extended protocol: one statement per call, so a string such as
            # "COMMIT; SET SESSION ... READ WRITE; INSERT ..." cannot undo the read-only session.
            "prepare_threshold": 0,
        }
        if "connect_timeout" not in self._url.query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        engine = sa.create_engine(self._url, poolclass=NullPool, connect_args=connect_args)

        @sa.event.listens_for(engine, "connect")
        def _read_only(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cur.close()
            dbapi_conn.commit()  # SET is transactional in PostgreSQL

        return engine


_MATCH_COLUMNS = ("status", "pmid", "candidates", "method", "score", "reason", "notes")
# The columns a reference's parsed fields fill (rows.citation_row), but its key.
_PARSED_COLUMNS = ("position", "raw", "kind", "authors", "et_al", "group_name", "year", "title",
                   "journal", "volume", "issue", "pages", "first_page", "doi", "pmid_given",
                   "abstract_number", "parse_reason")


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(when: datetime) -> datetime:
    """An aware UTC time; SQLite gives stored times back without their zone, which was UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
