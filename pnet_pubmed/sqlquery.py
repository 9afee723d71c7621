"""Run one user-supplied SQL statement on a connection that the database keeps read-only."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from . import csvout
from .store import Store

DEFAULT_LIMIT = 1000

# What the SQLite authorizer lets a statement do: read tables and views, call functions, run
# recursive CTEs and pragmas. Everything else (ATTACH, VACUUM INTO, temp tables...) is denied:
# mode=ro already protects the database file, but ATTACH and VACUUM INTO would create new files.
_SQLITE_ALLOWED = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
        sqlite3.SQLITE_PRAGMA,
    }
)
# PostgreSQL's SQLSTATE for "cannot execute ... in a read-only transaction".
_PG_READ_ONLY = "25006"


class QueryError(Exception):
    """A statement the database refused, with a one-line message fit to show to a user."""


class ReadOnlyError(QueryError):
    """The statement tried to change something; the connection refused it."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # more rows than the limit existed; only the first `limit` are kept

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def run_query(store: Store, sql: str, limit: int | None = DEFAULT_LIMIT) -> QueryResult:
    """Run one statement read-only and return at most `limit` rows (None or 0: all of them).

    Writes fail with ReadOnlyError and other database errors with QueryError; neither check
    looks at the text, the database connection enforces both.
    """
    if not sql.strip():
        raise QueryError("no SQL statement given")
    with store.read_only_connection() as conn:
        raw = conn.connection  # the pooled DBAPI connection, so we control how it executes
        dbapi = store.engine.dialect.loaded_dbapi
        with _sqlite_guard(raw.driver_connection, store.dialect) as denied:
            cursor = raw.cursor()
            try:
                if store.dialect == "postgresql":
                    # prepare=True sends the text with the extended protocol, which accepts
                    # exactly one statement: "COMMIT; SET SESSION ... READ WRITE; INSERT ..."
                    # would otherwise end the read-only transaction and write.
                    cursor.execute(sql, prepare=True)
                else:
                    cursor.execute(sql)  # sqlite3 itself refuses a second statement
                if cursor.description is None:
                    return QueryResult([], [], False)
                columns = _unique([d[0] for d in cursor.description])
                if limit:
                    rows = [tuple(r) for r in cursor.fetchmany(limit + 1)]
                    truncated = len(rows) > limit
                    rows = rows[:limit]
                else:
                    rows, truncated = [tuple(r) for r in cursor.fetchall()], False
                return QueryResult(columns, rows, truncated)
            except dbapi.Error as e:
                raise _translate(e, denied) from e
            finally:
                cursor.close()


@contextmanager
def _sqlite_guard(dbapi_conn, dialect: str) -> Iterator[list[int]]:
    """Deny every action but reading on a SQLite connection; yields the actions denied."""
    denied: list[int] = []
    if dialect != "sqlite":
        yield denied
        return

    def authorize(action, *_args):
        if action in _SQLITE_ALLOWED:
            return sqlite3.SQLITE_OK
        denied.append(action)
        return sqlite3.SQLITE_DENY

    dbapi_conn.set_authorizer(authorize)
    try:
        yield denied
    finally:
        # An in-memory database reuses the Store's own connection: leave it as it was.
        dbapi_conn.set_authorizer(None)


def _translate(err: Exception, denied: list[int]) -> QueryError:
    line = _first_line(err)
    # SQLite reports a denial as SQLITE_AUTH or, for some statements, SQLITE_SCHEMA: what
    # the authorizer saw is the reliable sign.
    if denied:
        return ReadOnlyError(
            f"read-only: the database connection refused the statement ({line}); "
            "the sql command only reads"
        )
    sqlite_name = getattr(err, "sqlite_errorname", "") or ""
    if sqlite_name.startswith("SQLITE_READONLY") or getattr(err, "sqlstate", None) == _PG_READ_ONLY:
        return ReadOnlyError(f"read-only: {line}; the sql command only reads")
    if "cannot insert multiple commands" in line:
        line = "give one statement at a time"
    return QueryError(f"SQL error: {line}")


def _first_line(err: BaseException) -> str:
    text = str(err)
    return next((s.strip() for s in text.splitlines() if s.strip()), type(err).__name__)


def _unique(names: Sequence[str]) -> list[str]:
    """Column names made unique ("pmid", "pmid_2"), so each row can be a dict."""
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        base = name or "?column?"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


# -- output ------------------------------------------------------------------------------------


def plain(value):
    """A JSON-friendly version of a value a driver returned (exact, unlike a table cell)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def to_json(result: QueryResult) -> str:
    rows = [{c: plain(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def to_csv(result: QueryResult) -> str:
    """CSV with exact values: floats keep every digit, JSON values stay JSON, NULL is empty.

    Through the one CSV writer: a text cell that a spreadsheet would run as a formula gets a
    leading quote; numbers are written as numbers.
    """
    return csvout.write(result.columns, ([_csv_value(v) for v in row] for row in result.rows))


def _csv_value(value):
    value = plain(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value
