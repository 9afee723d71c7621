"""Run one user-supplied SQL statement that can only read, with a time limit and a row limit.

What the database enforces (no check looks at the text of the statement):

* SQLite: the file is opened with mode=ro, and an authorizer allows reading tables and views,
  calling functions other than load_extension and fts3_tokenizer, recursive CTEs and the pragmas
  that only report (table_info, index_list, ...; none that sets a value). A progress handler
  stops the statement at the deadline and on Ctrl-C; rows are stepped only up to the limit.
* PostgreSQL: a READ ONLY session that switches to the NOLOGIN role pnet_pubmed_reader, and the
  statement runs inside a SECURITY DEFINER function owned by that role (store/readonly.py),
  where PostgreSQL refuses every change of role or session authorization. The role may read the
  project's tables and nothing more, whatever rights the connecting role has. statement_timeout
  and client_connection_check_interval bound the statement on the server, Ctrl-C cancels it
  there, and the function stops after limit + 1 rows, so no row past them is computed or sent.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time as clock
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import cast
from uuid import UUID

from . import csvout, errors
from .store import Store
from .util import first_line

DEFAULT_LIMIT = 1000
DEFAULT_TIMEOUT = 30.0  # seconds; None or 0: no time limit
# The progress handler runs every this many SQLite virtual-machine instructions.
_SQLITE_PROGRESS_STEPS = 10_000
# PostgreSQL checks this often (ms) whether the client is still there during a long statement.
_PG_CLIENT_CHECK_MS = 1000

# What the SQLite authorizer lets a statement do: read tables and views, call functions, run
# recursive CTEs and reporting pragmas. Everything else (ATTACH, VACUUM INTO, temp tables...)
# is denied: mode=ro already protects the database file, but ATTACH and VACUUM INTO would
# create new files, and some pragmas change the process (temp_store_directory).
_SQLITE_ALLOWED = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
        sqlite3.SQLITE_PRAGMA,
    }
)
# Pragmas that only report. Those in _SQLITE_PRAGMA_WITH_ARGUMENT take a table or index name (or
# a row count) as their argument; every other one is allowed only without a value to set.
_SQLITE_PRAGMA_WITH_ARGUMENT = frozenset(
    {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
     "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"}
)
_SQLITE_PRAGMAS = _SQLITE_PRAGMA_WITH_ARGUMENT | {
    "application_id", "collation_list", "compile_options", "data_version", "database_list",
    "encoding", "foreign_keys", "freelist_count", "function_list", "journal_mode",
    "module_list", "page_count", "page_size", "pragma_list", "schema_version", "user_version",
}
# load_extension runs native code (Python's sqlite3 disables it, this is a second lock);
# fts3_tokenizer hands out and accepts raw pointers.
_SQLITE_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})
# PostgreSQL SQLSTATEs: read-only transaction, read-write mode after the first query,
# insufficient privilege, query canceled (the timeout).
_PG_READ_ONLY = ("25006", "25001")
_PG_NOT_ALLOWED = "42501"
_PG_CANCELED = "57014"


class QueryError(errors.QueryError):
    """A statement the database refused, with a one-line message fit to show to a user."""


class ReadOnlyError(QueryError):
    """The statement tried to change something or use rights beyond reading; it was refused."""


class ReadOnlyUnavailable(QueryError):
    """PostgreSQL lacks a safe read-only role for this schema, so sql does not run at all."""


class QueryTimeout(QueryError):
    """The statement ran past the time limit and was stopped (on the server, for PostgreSQL)."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # more rows than the limit existed; only the first `limit` are kept

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def run_query(store: Store, sql: str, limit: int | None = DEFAULT_LIMIT,
              timeout: float | None = DEFAULT_TIMEOUT) -> QueryResult:
    """Run one statement read-only: at most `limit` rows (None or 0: all), `timeout` seconds.

    Writes and anything beyond reading fail with ReadOnlyError, a statement that runs too long
    with QueryTimeout, other database errors with QueryError; Ctrl-C stops the statement (on
    the server too) and raises KeyboardInterrupt. The database enforces all of it.
    """
    if not sql.strip():
        raise QueryError("no SQL statement given")
    if "\x00" in sql:
        raise QueryError("SQL error: the statement contains a NUL character")
    limit = limit or None
    timeout = timeout or None
    with store.read_only_connection() as conn:
        raw = conn.connection  # the pooled DBAPI connection, so we control how it executes
        if store.dialect == "postgresql":
            return _run_postgresql(raw.driver_connection, sql, limit, timeout)
        return _run_sqlite(cast(sqlite3.Connection, raw.driver_connection), sql, limit, timeout)


def _fetch(cursor, limit: int | None) -> tuple[list[tuple], bool]:
    if not limit:
        return [tuple(r) for r in cursor.fetchall()], False
    rows = [tuple(r) for r in cursor.fetchmany(limit + 1)]
    return rows[:limit], len(rows) > limit


def _timeout_error(timeout: float | None) -> QueryTimeout:
    return QueryTimeout(f"the statement ran longer than {timeout or 0:g} s and was stopped; "
                        "give it more time with --timeout SECONDS (0: no limit)")


# -- SQLite ------------------------------------------------------------------------------------


def _run_sqlite(dbapi_conn: sqlite3.Connection, sql: str, limit: int | None,
                timeout: float | None) -> QueryResult:
    with _sqlite_guard(dbapi_conn, timeout) as guard:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(sql)  # sqlite3 itself refuses a second statement
            if cursor.description is None:
                return QueryResult([], [], False)
            columns = _unique([d[0] for d in cursor.description])
            rows, truncated = _fetch(cursor, limit)  # steps no row past limit + 1
            return QueryResult(columns, rows, truncated)
        except sqlite3.Error as e:
            if guard["timed_out"]:
                raise _timeout_error(timeout) from None
            if getattr(e, "sqlite_errorname", "") == "SQLITE_INTERRUPT":
                # Ctrl-C arrived while SQLite ran: its KeyboardInterrupt, raised inside the
                # progress handler, stopped the statement and was swallowed by sqlite3.
                raise KeyboardInterrupt from None
            raise _translate(e, guard["denied"]) from e
        finally:
            cursor.close()


@contextmanager
def _sqlite_guard(dbapi_conn: sqlite3.Connection, timeout: float | None) -> Iterator[dict]:
    """Deny every action but reading, stop at the deadline; yields what it denied and did."""
    guard: dict = {"denied": [], "timed_out": False}
    deadline = clock.monotonic() + timeout if timeout else None

    def authorize(action, arg1, arg2, *_rest):
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            allowed = name in _SQLITE_PRAGMAS and (
                arg2 is None or name in _SQLITE_PRAGMA_WITH_ARGUMENT)
        elif action == sqlite3.SQLITE_FUNCTION:
            allowed = (arg2 or "").lower() not in _SQLITE_DENIED_FUNCTIONS
        else:
            allowed = action in _SQLITE_ALLOWED
        if allowed:
            return sqlite3.SQLITE_OK
        guard["denied"].append(action)
        return sqlite3.SQLITE_DENY

    def progress() -> int:
        # Python code: a pending Ctrl-C raises here, which makes SQLite stop the statement.
        if deadline is not None and clock.monotonic() > deadline:
            guard["timed_out"] = True
            return 1
        return 0

    dbapi_conn.set_authorizer(authorize)
    dbapi_conn.set_progress_handler(progress, _SQLITE_PROGRESS_STEPS)
    try:
        yield guard
    finally:
        # An in-memory database reuses the Store's own connection: leave it as it was.
        dbapi_conn.set_progress_handler(None, 0)
        dbapi_conn.set_authorizer(None)


# -- PostgreSQL --------------------------------------------------------------------------------


def _run_postgresql(pg, sql: str, limit: int | None, timeout: float | None) -> QueryResult:
    """The statement, inside store/readonly.py's function, as its role; see the module doc."""
    import psycopg
    from psycopg import pq
    from psycopg import sql as psql
    from psycopg.adapt import Transformer

    from .store import readonly

    try:
        with pg.cursor() as cur:
            cur.execute("SELECT set_config('statement_timeout', %s, true)",
                        (str(round(timeout * 1000)) if timeout else "0",))
            if pg.info.server_version >= 140000:  # a client that is gone stops the statement
                cur.execute("SELECT set_config('client_connection_check_interval', %s, true)",
                            (str(_PG_CLIENT_CHECK_MS),))
            schema = _check_reader(cur, readonly)
            call = psql.SQL("SELECT * FROM {}.{}(%s, %s)").format(
                psql.Identifier(schema), psql.Identifier(readonly.FUNCTION))
            cur.execute(psql.SQL("SET LOCAL ROLE {}").format(psql.Identifier(readonly.ROLE)))
            columns, types = _describe(pg, sql)  # parsed as the role, not run
            if not columns:
                cur.execute(call, (sql, None))  # no rows to return: run for the verdict
                return QueryResult([], [], False)
            cur.execute(call, (sql, limit + 1 if limit else 0))
            texts = [row[0] for row in cur.fetchall()]  # at most limit + 1 rows
        loader = Transformer(pg)
        loader.set_loader_types(types, pq.Format.TEXT)
        encoding = pg.info.encoding
        rows = []
        for text in texts[: limit or None]:
            fields = _record_fields(text)
            if len(fields) != len(types):
                raise QueryError("SQL error: the statement changed its columns while it ran")
            rows.append(loader.load_sequence(
                [None if f is None else f.encode(encoding) for f in fields]))
        return QueryResult(_unique(columns), rows, limit is not None and len(texts) > limit)
    except psycopg.Error as e:
        if getattr(e, "sqlstate", None) == _PG_CANCELED and timeout:
            raise _timeout_error(timeout) from None
        raise _translate(e, []) from e
    finally:
        try:
            pg.rollback()
        except psycopg.Error:
            pass  # the connection is gone (e.g. cancelled): it is closed next anyway


def _check_reader(cur, readonly) -> str:
    """The schema whose reader function to use; refuses, in one line, to run without one."""
    cur.execute(readonly.STATE_SQL, readonly.state_params())
    state = dict(zip([d.name for d in cur.description], cur.fetchone(), strict=True))
    role = readonly.ROLE
    if not state["role_exists"] or not state["function_ok"] or not state["grants_ok"]:
        raise ReadOnlyUnavailable(
            f"sql on PostgreSQL runs statements as the read-only role {role}, which schema "
            f"{state['schema']} is not set up for: run `pnet-pubmed db upgrade` once as a "
            "superuser or a role with CREATEROLE")
    if not state["role_is_plain"]:
        raise ReadOnlyUnavailable(
            f"role {role} has more rights than reading (an attribute such as SUPERUSER, or "
            "a membership in another role): sql will not run as it")
    if not state["may_use"]:
        raise ReadOnlyUnavailable(
            f"sql on PostgreSQL runs statements as the read-only role {role}; ask an "
            f"administrator to GRANT {role} TO your database user")
    return state["schema"]


def _describe(pg, sql: str) -> tuple[list[str], list[int]]:
    """Names and type OIDs of the statement's result columns, parsed but not run (as the role)."""
    from psycopg import errors, pq

    encoding = pg.info.encoding
    result = pg.pgconn.prepare(b"", sql.encode(encoding))
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise errors.error_from_result(result, encoding=encoding)
    described = pg.pgconn.describe_prepared(b"")
    if described.status != pq.ExecStatus.COMMAND_OK:
        raise errors.error_from_result(described, encoding=encoding)
    names = [(described.fname(i) or b"").decode(encoding) for i in range(described.nfields)]
    types = [described.ftype(i) for i in range(described.nfields)]
    return names, types


def _record_fields(text: str) -> list[str | None]:
    """The fields of PostgreSQL's text form of a record (record_out), None for NULL.

    A field is nothing (NULL), bare text, or double-quoted with "" and a backslash escaping.
    """
    if not (text.startswith("(") and text.endswith(")")):
        raise QueryError("SQL error: unexpected row from the database")
    body, i = text[1:-1], 0
    fields: list[str | None] = []
    while True:
        if i < len(body) and body[i] == '"':
            i += 1
            part = []
            while True:
                ch = body[i]
                if ch == '"' and body[i + 1 : i + 2] == '"':
                    part.append('"')
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                elif ch == "\\":
                    part.append(body[i + 1])
                    i += 2
                else:
                    part.append(ch)
                    i += 1
            fields.append("".join(part))
        else:
            end = body.find(",", i)
            end = len(body) if end < 0 else end
            fields.append(body[i:end] or None)  # nothing at all is NULL; "" is quoted
            i = end
        if i >= len(body):
            return fields
        i += 1  # the comma


def _translate(err: Exception, denied: list[int]) -> QueryError:
    line = first_line(err)
    # SQLite reports a denial as SQLITE_AUTH or, for some statements, SQLITE_SCHEMA: what
    # the authorizer saw is the reliable sign.
    if denied:
        return ReadOnlyError(
            f"read-only: the database connection refused the statement ({line}); "
            "the sql command only reads"
        )
    sqlite_name = getattr(err, "sqlite_errorname", "") or ""
    sqlstate = getattr(err, "sqlstate", None)
    if sqlite_name.startswith("SQLITE_READONLY") or sqlstate in _PG_READ_ONLY:
        return ReadOnlyError(f"read-only: {line}; the sql command only reads")
    if sqlstate == _PG_NOT_ALLOWED:
        return ReadOnlyError(f"read-only: {line}; the sql command runs as a role that can only "
                             "read the project's tables")
    if "cannot insert multiple commands" in line:
        line = "give one statement at a time"
    return QueryError(f"SQL error: {line}")


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
