"""The Store's foundation: database URLs, engines, transactions and one-line errors."""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from pnet_pubmed.util import first_line
from pnet_pubmed.values import Article

from .. import errors
from .dbapi import ReadConnection, adopt, describe_error

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Pause between tries to switch a new database to WAL while another connection holds a lock.
_WAL_RETRY_S = 0.05
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


def translating(method):
    """Turn SQLAlchemy and driver errors raised by a Store method into StoreError."""

    @functools.wraps(method)
    def wrapper(self: StoreBase, *args, **kwargs):
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


def sqlite_path(url: sa.URL) -> Path | None:
    """The database file of a SQLite URL, None for an in-memory database."""
    db = url.database
    if not db or db == ":memory:" or url.query.get("mode") == "memory":
        return None
    return Path(db)



def utc_now() -> datetime:
    return datetime.now(UTC)


def utc(when: datetime) -> datetime:
    """An aware UTC time; SQLite gives stored times back without their zone, which was UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class StoreBase:
    """A database's engines, transactions and error translation; Store adds what it holds."""

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
        path = sqlite_path(self._url)
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
                _wal(cur)
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

    def __enter__(self) -> Self:
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


def _wal(cur) -> None:
    """Put the database in WAL mode (a setting the file keeps: nothing to do once it is).

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once, without
    its busy handler, when another connection holds a lock this one would deadlock on (several
    processes opening a new database together: seen as a flaky test). So try again until the
    busy timeout has passed."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY_S)

