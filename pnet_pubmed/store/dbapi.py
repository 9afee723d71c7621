"""Light read connections from a database URL: stdlib sqlite3 or psycopg, no SQLAlchemy.

Read commands (search, mesh, refs, show, collections, sql) answer within a few times Python's
own start-up only if they import nothing heavy: SQLAlchemy alone costs about 190 ms to import,
Alembic more. This module opens a connection that only reads, from the same URL the Store and
the CLI take, and checks the schema revision without Alembic:

    from pnet_pubmed.store.dbapi import connect

    with connect("sqlite:///db/pnet_pubmed.sqlite") as db:
        rows = db.rows("SELECT pmid, title FROM articles WHERE year >= :year", {"year": 2011})

* `sqlite:///path` (or a bare path): the stdlib sqlite3 module, the file opened read-only
  (`mode=ro`) with a busy timeout, so a writer holding the lock makes it wait, not fail.
* `postgresql://…`, `postgresql+psycopg://…`: psycopg 3, imported only then, in a session whose
  transactions are all READ ONLY, with server-side prepared statements off (every statement is
  planned with its values, the same on a new connection as on the hundredth query) and JIT
  compilation off.

Statements are written once for both drivers with `:name` placeholders (ReadConnection.execute
turns them into the driver's own style); `in_list` spells an IN list of bound values.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ..errors import StoreError
from ..util import first_line

# The Alembic revision this version of pnet-pubmed reads and writes: the head of
# pnet_pubmed/store/migrations/versions (tests/test_dbapi.py checks that they agree).
HEAD_REVISION = "0012_qualifier_pairs"

BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 10

# A :name placeholder: not a PostgreSQL cast (::text), not inside a word (a:b).
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# What follows a driver in a URL scheme: sqlite+pysqlite, postgresql+psycopg.
_SCHEME = re.compile(r"^(?P<backend>[a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?$")


@dataclass(frozen=True)
class Target:
    """Where a URL points: the backend, and how its driver opens it."""

    dialect: str  # "sqlite" or "postgresql"
    shown: str  # the URL with any password hidden, for messages
    path: Path | None = None  # SQLite: the file (None: in memory)
    conninfo: str = ""  # PostgreSQL: a libpq connection string


def parse_url(url: str) -> Target:
    """The backend and location of a database URL (the Store's: sqlite:///…, postgresql…://…,
    or a bare file path for SQLite); StoreError when it names neither."""
    if "://" not in url:
        return Target("sqlite", url, Path(url) if url not in ("", ":memory:") else None)
    parts = urlsplit(url)
    scheme = _SCHEME.match(parts.scheme)
    backend = scheme.group("backend") if scheme else ""
    if backend == "sqlite":
        database = unquote(url.split("://", 1)[1].split("?", 1)[0])
        # sqlite:///rel.db -> "/rel.db" after the authority: drop the one separator slash.
        path = database[1:] if database.startswith("/") else database
        memory = path in ("", ":memory:") or dict(parse_qsl(parts.query)).get("mode") == "memory"
        return Target("sqlite", url, None if memory else Path(path))
    if backend in ("postgresql", "postgres"):
        shown = url
        if parts.password is not None:
            shown = url.replace(f":{parts.password}@", ":***@", 1)
        return Target("postgresql", shown, conninfo=_conninfo(parts))
    raise StoreError(f"unsupported database {_masked(url)!r}: use sqlite or postgresql")


def _conninfo(parts) -> str:
    """A libpq key=value string of a URL's parts, each value quoted for libpq."""
    values: dict[str, str] = {}
    if parts.hostname:
        values["host"] = unquote(parts.hostname)
    if parts.port:
        values["port"] = str(parts.port)
    if parts.username:
        values["user"] = unquote(parts.username)
    if parts.password is not None:
        values["password"] = unquote(parts.password)
    if parts.path.strip("/"):
        values["dbname"] = unquote(parts.path.lstrip("/"))
    values.update(parse_qsl(parts.query))
    values.setdefault("connect_timeout", str(PG_CONNECT_TIMEOUT_S))
    # No JIT: it compiles for tens of milliseconds whenever a plan's cost estimate is high,
    # which for a search's short statements costs far more than it saves. The URL's own
    # options come after and win.
    values["options"] = " ".join(filter(None, ["-c jit=off", values.get("options")]))

    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quoted(value)}" for key, value in values.items())


def _masked(url: str) -> str:
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


class ReadConnection:
    """A DB-API connection that only reads, with one way to write statements for both drivers.

    `dialect` is "sqlite" or "postgresql"; `raw` the driver's own connection. Statements use
    `:name` placeholders and a mapping of values. Driver errors come out as they are (sqlite3.
    Error, psycopg.Error): callers turn them into their own one-line messages.
    """

    def __init__(self, raw: Any, dialect: str, shown: str = "", owned: bool = True) -> None:
        self.raw = raw
        self.dialect = dialect
        self.url = shown
        self._owned = owned

    def sql(self, statement: str) -> str:
        """The statement in the driver's parameter style (qmark-free: named for sqlite3,
        pyformat for psycopg, where a literal % is doubled)."""
        return to_paramstyle(statement, self.dialect)

    def execute(self, statement: str, params: Mapping[str, Any] | None = None):
        """Run one statement; returns the driver's cursor (iterate it, or fetch)."""
        cursor = self.raw.cursor()
        cursor.execute(self.sql(statement), dict(params or {}))
        return cursor

    def rows(self, statement: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Every row of a statement, as tuples."""
        cursor = self.execute(statement, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def mappings(self, statement: str,
                 params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of a statement, as a dict of its column names."""
        cursor = self.execute(statement, params)
        try:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def one(self, statement: str, params: Mapping[str, Any] | None = None) -> tuple | None:
        """The first row of a statement, or None."""
        cursor = self.execute(statement, params)
        try:
            row = cursor.fetchone()
            return None if row is None else tuple(row)
        finally:
            cursor.close()

    def scalar(self, statement: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.one(statement, params)
        return None if row is None else row[0]

    def close(self) -> None:
        if self._owned:
            try:
                self.raw.rollback()
            finally:
                self.raw.close()

    def __enter__(self) -> ReadConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ReadConnection({self.dialect!r}, {self.url!r})"


def to_paramstyle(statement: str, dialect: str) -> str:
    """`:name` placeholders in the style of the dialect's driver.

    sqlite3 takes `:name` itself; psycopg wants `%(name)s`, and a literal `%` doubled. A `:`
    inside a string literal of the statement must not be followed by a letter.
    """
    if dialect == "sqlite":
        return statement
    return _PLACEHOLDER.sub(r"%(\1)s", statement.replace("%", "%%"))


def in_list(name: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """`(:name_0, :name_1, …)` for an IN list, adding the values to params; `(NULL)` when empty
    (an IN that matches nothing)."""
    keys = []
    for i, value in enumerate(values):
        key = f"{name}_{i}"
        params[key] = value
        keys.append(f":{key}")
    return "(" + (", ".join(keys) or "NULL") + ")"


def connect(url: str, *, busy_timeout: float = BUSY_TIMEOUT_S,
            check_schema: bool = True) -> ReadConnection:
    """A connection to the database at url that only reads; StoreError (one line) when the
    database cannot be opened or its schema is not the one this pnet-pubmed reads."""
    target = parse_url(url)
    if target.dialect == "sqlite":
        conn = _sqlite(target, busy_timeout)
    else:
        conn = _postgresql(target)
    if check_schema:
        try:
            check_revision(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def _sqlite(target: Target, busy_timeout: float) -> ReadConnection:
    if target.path is None:
        raise StoreError(f"database {target.shown}: an in-memory database exists only in the "
                         "connection that made it; give a file")
    if not target.path.exists():
        raise NotSetUp(f"database {target.shown}: no such file (run `pnet-pubmed db upgrade` or "
                       "`pnet-pubmed link` to create it)")
    uri = "file:" + quote(str(target.path.resolve())) + "?mode=ro"
    try:
        raw = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None,
                              check_same_thread=False)
    except sqlite3.Error as e:
        raise StoreError(f"database {target.shown}: {first_line(e)}") from e
    raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    return ReadConnection(raw, "sqlite", target.shown)


def _postgresql(target: Target) -> ReadConnection:
    try:
        import psycopg
    except ImportError as e:
        raise StoreError(f"cannot use database {target.shown}: psycopg is not installed "
                         "(pip install 'pnet-pubmed[postgres]')") from e
    try:
        raw = psycopg.connect(target.conninfo, prepare_threshold=None)
        # Every transaction of the session reads only; the first statement opens one.
        raw.read_only = True
    except psycopg.Error as e:
        raise StoreError(f"database {target.shown}: {first_line(e)}") from e
    return ReadConnection(raw, "postgresql", target.shown)


def adopt(raw: Any, dialect: str) -> ReadConnection:
    """A ReadConnection over a DB-API connection someone else opened and will close (a
    SQLAlchemy connection's, say): close() leaves it open."""
    return ReadConnection(raw, dialect, owned=False)


class SchemaError(StoreError):
    """The database has no pnet-pubmed schema, or another revision of it."""


class NotSetUp(SchemaError):
    """No pnet-pubmed schema at all: a SQLite file that does not exist, or no tables yet."""


def current_revision(conn: ReadConnection) -> str | None:
    """The schema revision of the database; None before the first `db upgrade`. Database
    errors come out as StoreError, in one line."""
    try:
        return conn.scalar("SELECT version_num FROM alembic_version")
    except Exception as e:
        if not is_database_error(e):
            raise
        _rollback(conn)
        if _missing_table(e):
            return None
        raise StoreError(describe_error(conn.url, e)) from e


def check_revision(conn: ReadConnection) -> str:
    """The schema revision of the database, when it is HEAD_REVISION; SchemaError otherwise,
    saying to run `pnet-pubmed db upgrade` (or that the database is newer than this code)."""
    where = f"database {conn.url}: " if conn.url else ""
    revision = current_revision(conn)
    if revision is None:
        raise NotSetUp(f"{where}the database is not set up: run `pnet-pubmed db upgrade`")
    if revision != HEAD_REVISION:
        raise SchemaError(f"{where}the schema is at revision {revision}, this pnet-pubmed reads "
                          f"{HEAD_REVISION} (run `pnet-pubmed db upgrade`), unless a newer "
                          "pnet-pubmed wrote it (then update pnet-pubmed)")
    return revision


def _missing_table(err: BaseException) -> bool:
    text = str(err)
    return "no such table" in text or ("does not exist" in text and "relation" in text)


def describe_error(url: str, err: BaseException) -> str:
    """One line for a database error: where, what the driver said, and `db upgrade` when a
    table or column is missing (a database of an older schema)."""
    line = first_line(err)
    if ("no such table" in line or "no such column" in line
            or (("relation" in line or "column" in line) and "does not exist" in line)):
        line += " (run `pnet-pubmed db upgrade`)"
    return f"database {url}: {line}" if url else line


def _rollback(conn: ReadConnection) -> None:
    # PostgreSQL: a failed statement aborts the transaction until it is rolled back.
    try:
        conn.raw.rollback()
    except Exception:  # noqa: BLE001 (nothing to roll back on a broken connection)
        pass


def is_database_error(err: BaseException) -> bool:
    """Whether err comes from a driver (sqlite3 or psycopg), without importing psycopg."""
    if isinstance(err, sqlite3.Error):
        return True
    return any(cls.__module__.startswith("psycopg") and cls.__name__ == "Error"
               for cls in type(err).__mro__)
