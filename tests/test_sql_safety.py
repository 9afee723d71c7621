"""`pnet-pubmed sql` as an attacker would use it: nothing beyond reading the project's tables,
on SQLite and on PostgreSQL with a superuser role (as CI's is); and its time and row limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.cli.sql import sql
from pnet_pubmed.config import Settings
from pnet_pubmed.sqlquery import QueryError, QueryTimeout, run_query
from pnet_pubmed.store import Store, readonly
from tests.linked_db import PG_URL, database_url, link_bundled

ROOT = Path(__file__).resolve().parents[1]
ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sql-safety-pg")
    with database_url("postgresql", folder) as url:
        link_bundled(url, folder)
        yield url


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sql-safety-sqlite")
    with database_url("sqlite", folder) as url:
        link_bundled(url, folder)
        yield url


@pytest.fixture(scope="module")
def admin():
    if not PG_URL:
        pytest.skip("PNET_PUBMED_TEST_PG_URL not set")
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def run(url: str, *args: str):
    return CliRunner().invoke(sql, list(args), obj=Settings(db_url=url))


def refused(result) -> str:
    message = result.output.strip()
    assert result.exit_code == 1, message
    assert "\n" not in message, message
    assert message.startswith("Error: read-only:"), message
    return message


def references(url: str) -> int:
    with Store(url) as store:
        return len(store.references())


# -- PostgreSQL: no more rights than reading the project's tables --------------------------------

ADMIN_ROLE = sa.make_url(PG_URL).username if PG_URL else "postgres"
MARKER = f"/tmp/pnet-sql-attack-{uuid.uuid4().hex[:12]}"

PG_ATTACKS = {
    "copy-to-program": f"COPY refs TO PROGRAM 'touch {MARKER}-program'",
    "copy-query-to-program": f"COPY (SELECT 1) TO PROGRAM 'touch {MARKER}-program-2'",
    "copy-to-file": f"COPY refs TO '{MARKER}-file'",
    "read-file": "SELECT pg_read_file('/etc/passwd')",
    "read-binary-file": "SELECT pg_read_binary_file('/etc/passwd')",
    "list-directory": "SELECT pg_ls_dir('.')",
    "reload-conf": "SELECT pg_reload_conf()",
    "read-write": "SET TRANSACTION READ WRITE",
    "lock-exclusive": "LOCK TABLE refs IN ACCESS EXCLUSIVE MODE",
    "reset-role": "RESET ROLE",
    "set-role": f"SET ROLE {ADMIN_ROLE}",
    "set-config-role": f"SELECT set_config('role', '{ADMIN_ROLE}', false)",
    # Leave the role, then read a file in the same statement, at run time.
    "set-config-role-then-read": (
        f"SELECT set_config('role', '{ADMIN_ROLE}', false) AS r, "
        "query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, false, '') AS x"),
    "set-config-session-authorization": (
        f"SELECT set_config('session_authorization', '{ADMIN_ROLE}', false)"),
    "set-session-authorization": f"SET SESSION AUTHORIZATION {ADMIN_ROLE}",
    "reset-session-authorization": "RESET SESSION AUTHORIZATION",
    "do-block": (
        f"DO $$BEGIN PERFORM set_config('role', '{ADMIN_ROLE}', false); "
        "PERFORM pg_read_file('/etc/passwd'); END$$"),
    "role-passwords": "SELECT rolname, rolpassword FROM pg_authid",
    "server-settings-file": "SELECT * FROM pg_hba_file_rules",
    "write-through-cte": "WITH d AS (DELETE FROM refs RETURNING key) SELECT * FROM d",
    "create-function": "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
}


@pytest.mark.parametrize("statement", list(PG_ATTACKS.values()), ids=list(PG_ATTACKS))
def test_postgresql_refuses_what_a_superuser_could_do(pg_url, statement):
    message = refused(run(pg_url, statement))
    assert "root:" not in message
    assert not list(Path("/tmp").glob(Path(MARKER).name + "*"))
    assert references(pg_url) == 72


def test_postgresql_cannot_signal_other_sessions(pg_url, admin):
    victim_name = f"pnet-victim-{uuid.uuid4().hex[:8]}"
    victim = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool,
                              connect_args={"application_name": victim_name})
    with victim.connect() as conn:
        for function in ("pg_terminate_backend", "pg_cancel_backend"):
            refused(run(pg_url, f"SELECT {function}(pid) FROM pg_stat_activity "
                                f"WHERE application_name = '{victim_name}'"))
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    victim.dispose()


def test_postgresql_runs_as_the_reader_and_reads_only_the_project(pg_url, admin):
    rows = run_query(Store(pg_url), "SELECT current_user AS u, session_user AS s").rows
    assert rows == [(readonly.ROLE, ADMIN_ROLE)]
    other = f"pnet_other_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {other}")
        conn.exec_driver_sql(f"CREATE TABLE {other}.secret AS SELECT 'hidden' AS word")
    try:
        message = refused(run(pg_url, f"SELECT * FROM {other}.secret"))
        assert "hidden" not in message
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {other} CASCADE")


@contextmanager
def login_role(admin: sa.Engine):
    """A role that may log in but not create roles, owning a fresh schema; URL of it."""
    name = f"pnet_test_plain_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
        conn.exec_driver_sql(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
    url = sa.make_url(PG_URL).set(username=name, password=None)
    url = url.update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield name, url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
            conn.exec_driver_sql(f"DROP OWNED BY {name}")
            conn.exec_driver_sql(f"DROP ROLE {name}")


def test_a_role_that_cannot_create_roles_gets_one_line_and_no_unsafe_run(admin):
    with login_role(admin) as (name, url):
        with Store(url) as store:
            store.upgrade()  # the schema is created; the reader set-up is not possible
        result = run(url, "SELECT 1")
        assert result.exit_code == 1 and "\n" not in result.output.strip()
        assert "db upgrade" in result.output and readonly.ROLE in result.output
        # A superuser's upgrade of the same schema installs what was missing...
        admin_url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
        with Store(admin_url.render_as_string(hide_password=False)) as store:
            store.upgrade()
        # ...which the plain role may use once it is granted the reader role.
        result = run(url, "SELECT 1")
        assert result.exit_code == 1 and f"GRANT {readonly.ROLE} TO" in result.output
        with admin.begin() as conn:
            conn.exec_driver_sql(f"GRANT {readonly.ROLE} TO {name}")
        try:
            assert run_query(Store(url), "SELECT current_user").rows == [(readonly.ROLE,)]
            assert run_query(Store(url), "SELECT count(*) FROM refs").rows == [(0,)]
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"REVOKE {readonly.ROLE} FROM {name}")


def test_a_tampered_reader_function_is_not_used(pg_url, admin):
    schema = sa.make_url(pg_url).query["options"].split("=", 1)[1]
    with admin.begin() as conn:
        conn.exec_driver_sql(f"ALTER FUNCTION {schema}.{readonly.SIGNATURE} SECURITY INVOKER")
    try:
        result = run(pg_url, "SELECT 1")
        assert result.exit_code == 1 and "db upgrade" in result.output
    finally:
        with Store(pg_url) as store:
            store.upgrade()  # puts it back
    assert run(pg_url, "SELECT 1").exit_code == 0


def _upgrade_fresh_schema(url: str, role: str) -> bool:
    readonly.ROLE = role  # a role of this test only, so that it starts out missing
    with Store(url) as store:
        store.upgrade()
        with store.engine.connect() as conn:
            return readonly.is_ready(readonly.state(conn))


def test_concurrent_upgrades_in_many_schemas_share_one_role(admin):
    import multiprocessing

    role = f"pnet_test_reader_{uuid.uuid4().hex[:10]}"
    schemas = [f"pnet_test_{uuid.uuid4().hex[:12]}" for _ in range(4)]
    with admin.begin() as conn:
        for s in schemas:
            conn.exec_driver_sql(f"CREATE SCHEMA {s}")
    urls = [sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={s}"})
            .render_as_string(hide_password=False) for s in schemas]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    try:
        with ctx.Pool(len(urls)) as pool:
            assert pool.starmap(_upgrade_fresh_schema, [(u, role) for u in urls]) == [True] * 4
    finally:
        with admin.begin() as conn:
            for s in schemas:
                conn.exec_driver_sql(f"DROP SCHEMA {s} CASCADE")
            if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").first():
                conn.exec_driver_sql(f"DROP ROLE {role}")


# -- SQLite: read-only file, and an authorizer ---------------------------------------------------

SQLITE_ATTACKS = {
    "writable-schema": "PRAGMA writable_schema = ON",
    "journal-mode": "PRAGMA journal_mode = DELETE",
    "user-version": "PRAGMA user_version = 7",
    "temp-store-directory": "PRAGMA temp_store_directory = '/tmp'",
    "optimize": "PRAGMA optimize",
    "load-extension": "SELECT load_extension('/tmp/evil.so')",
    "fts3-tokenizer": "SELECT fts3_tokenizer('simple')",
    "attach-memory": "ATTACH DATABASE ':memory:' AS scratch",
    "attach-uri": "ATTACH DATABASE 'file:/tmp/pnet-evil.sqlite?mode=rwc' AS evil",
    "temp-view": "CREATE TEMP VIEW v AS SELECT 1",
    "savepoint": "SAVEPOINT s",
    "analyze": "ANALYZE",
    "reindex": "REINDEX",
}


@pytest.mark.parametrize("statement", list(SQLITE_ATTACKS.values()), ids=list(SQLITE_ATTACKS))
def test_sqlite_refuses_pragmas_that_set_and_dangerous_functions(sqlite_url, statement):
    refused(run(sqlite_url, statement))
    assert not Path("/tmp/pnet-evil.sqlite").exists()
    settings = run(sqlite_url, "PRAGMA user_version")
    assert settings.exit_code == 0 and settings.stdout.splitlines()[2].strip() == "0"
    assert run(sqlite_url, "PRAGMA journal_mode").stdout.splitlines()[2].strip() == "wal"
    assert references(sqlite_url) == 72


def test_sqlite_reporting_pragmas_still_work(sqlite_url):
    result = run(sqlite_url, "PRAGMA table_info(refs)", "--format", "json")
    assert result.exit_code == 0 and '"name": "raw"' in result.stdout


# -- time limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_endless_query_is_stopped_at_the_timeout(backend, request):
    url = request.getfixturevalue(f"{'pg' if backend == 'postgresql' else 'sqlite'}_url")
    result = run(url, ENDLESS, "--timeout", "1")
    message = result.output.strip()
    assert result.exit_code == 1 and "\n" not in message
    assert message.startswith("Error: the statement ran longer than 1 s and was stopped"), message
    with pytest.raises(QueryTimeout):
        run_query(Store(url), ENDLESS, timeout=0.5)


def test_the_timeout_setting_comes_from_the_environment(sqlite_url):
    result = CliRunner().invoke(main, ["--db", sqlite_url, "sql", ENDLESS],
                                env={"PNET_PUBMED_SQL_TIMEOUT": "0.5"})
    assert result.exit_code == 1 and "longer than 0.5 s" in result.output


def test_a_statement_cannot_lift_its_own_timeout_on_postgresql(pg_url):
    with pytest.raises(QueryTimeout):
        run_query(Store(pg_url), "SELECT set_config('statement_timeout', '0', false), "
                                 "pg_sleep(30)", timeout=1)


# -- rows: computed and fetched only up to the limit ---------------------------------------------

FAILS_AT_ROW_500 = {
    "postgresql": "SELECT 1 / (g - 500) AS x FROM generate_series(1, 1000) AS g",
    "sqlite": ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000) "
               "SELECT json(CASE WHEN n = 500 THEN 'not json' ELSE n END) AS x FROM r"),
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_no_row_past_the_limit_is_computed(backend, request):
    url = request.getfixturevalue(f"{'pg' if backend == 'postgresql' else 'sqlite'}_url")
    statement = FAILS_AT_ROW_500[backend]
    # Row 500 fails, so the statement succeeds only if the rows after the limit never ran.
    result = run_query(Store(url), statement, limit=10)
    assert len(result.rows) == 10 and result.truncated
    with pytest.raises(QueryError):
        run_query(Store(url), statement, limit=None)


# -- Ctrl-C and a killed client: the statement stops, on the server too --------------------------


def _sql_process(url: str, statement: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("PNET_PUBMED_SQL_TIMEOUT", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pnet_pubmed", "--db", url, "sql", statement, "--timeout", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # As a terminal starts it: a test run started in the background (`pytest &`) ignores
        # SIGINT, which the child would inherit, and Python then never turns it into Ctrl-C.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_stops_a_sqlite_statement(sqlite_url):
    db_file = Path(sa.make_url(sqlite_url).database).resolve()
    proc = _sql_process(sqlite_url, ENDLESS)

    def has_db_open() -> bool:
        try:
            return any(Path(f).resolve() == db_file
                       for f in (os.readlink(p) for p in Path(f"/proc/{proc.pid}/fd").iterdir()))
        except OSError:
            return False

    try:
        assert _wait_for(has_db_open), "the sql process never opened the database"
        time.sleep(0.5)  # inside the statement
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Interrupted: the statement was stopped." in err and "Traceback" not in err


def _pg_process_url(url: str, app: str) -> str:
    return sa.make_url(url).update_query_dict({"application_name": app}).render_as_string(
        hide_password=False)


def _server_statements(admin: sa.Engine, app: str, active_only: bool = True) -> int:
    with admin.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %(app)s"
            + (" AND state = 'active'" if active_only else ""), {"app": app}).scalar()


@pytest.mark.parametrize("how", ["ctrl-c", "kill-9"])
def test_a_stopped_client_stops_the_statement_on_the_server(pg_url, admin, how):
    app = f"pnet-sql-{how}-{uuid.uuid4().hex[:8]}"
    proc = _sql_process(_pg_process_url(pg_url, app), "SELECT pg_sleep(120)")
    try:
        assert _wait_for(lambda: _server_statements(admin, app) == 1), "never ran"
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        _out, err = proc.communicate(timeout=20)
        # Well before the two minutes of pg_sleep (and there is no timeout): the server saw
        # the cancel request, or found its client gone.
        assert _wait_for(lambda: _server_statements(admin, app, active_only=False) == 0, 15)
    finally:
        proc.kill()
    if how == "ctrl-c":
        assert proc.returncode == 130 and "Interrupted: the statement was stopped." in err
    else:
        assert proc.returncode == -signal.SIGKILL


# -- PostgreSQL values come back as a plain query would give them --------------------------------


def test_postgresql_values_keep_their_types(pg_url):
    import datetime
    from decimal import Decimal

    result = run_query(Store(pg_url), """
        SELECT 1 AS i, 1.5::float8 AS f, 2.25::numeric AS n, true AS b, DATE '2015-03-01' AS d,
               '{"a": [1, null]}'::jsonb AS j, ARRAY[1, NULL] AS arr, ARRAY['a,b', 'c"d'] AS t,
               '\\x00ff'::bytea AS raw, NULL::text AS nothing, '' AS empty,
               'a "quote", (paren) \\ backslash' AS q, 'x' AS i""")
    assert result.columns == ["i", "f", "n", "b", "d", "j", "arr", "t", "raw", "nothing",
                              "empty", "q", "i_2"]
    assert result.rows == [(1, 1.5, Decimal("2.25"), True, datetime.date(2015, 3, 1),
                            {"a": [1, None]}, [1, None], ["a,b", 'c"d'], b"\x00\xff", None, "",
                            'a "quote", (paren) \\ backslash', "x")]
    # Domains (information_schema's) and views read like tables.
    tables = run_query(Store(pg_url), "SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = current_schema() ORDER BY 1").rows
    assert ("refs",) in tables and ("reference_links",) in tables


def test_record_text_is_split_into_fields():
    from pnet_pubmed.sqlquery import _record_fields

    assert _record_fields("(1,x)") == ["1", "x"]
    assert _record_fields("()") == [None]
    assert _record_fields('("")') == [""]
    assert _record_fields('(,"a ""b"", (c)",\\\\)') == [None, 'a "b", (c)', "\\\\"]
    assert _record_fields('("back\\\\slash",)') == ["back\\slash", None]


def test_a_malformed_timeout_setting_is_one_line(sqlite_url):
    result = CliRunner().invoke(main, ["--db", sqlite_url, "sql", "SELECT 1"],
                                env={"PNET_PUBMED_SQL_TIMEOUT": "-1"})
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "PNET_PUBMED_SQL_TIMEOUT must be a number of seconds" in result.output
