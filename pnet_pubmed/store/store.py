"""The Store: references, matches and PubMed records in SQLite or PostgreSQL via SQLAlchemy."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.request import pathname2url

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from .base import (
    MIGRATIONS,
    PG_CONNECT_TIMEOUT_S,
    SQLITE_BUSY_TIMEOUT_MS,
    ArticleHook,
    ArticleIndex,
    StoreError,
    sqlite_path,
    translating,
)
from .lists import CollectionStore
from .records import RecordStore

__all__ = ["ArticleHook", "ArticleIndex", "Store", "StoreError"]


class Store(CollectionStore, RecordStore):
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

    # -- schema --------------------------------------------------------------------------------

    def _alembic_config(self):
        # Alembic is imported only here: it costs a CLI start-up ~0.15 s it rarely needs.
        from alembic.config import Config

        cfg = Config()
        # configparser interpolation would read a % in the path as a reference.
        cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        return cfg

    @translating
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

    @translating
    def current_revision(self) -> str | None:
        """The schema revision of the database, None before the first upgrade."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        """The newest schema revision this version of pnet-pubmed knows."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

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
        path = sqlite_path(self._url)
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
