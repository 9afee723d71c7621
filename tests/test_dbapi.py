"""The light read connections (pnet_pubmed.store.dbapi), and read commands that import nothing
heavy: search and mesh never load SQLAlchemy, Alembic, requests or matplotlib."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pnet_pubmed.errors import StoreError
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store, dbapi

PG_URL = os.environ.get("PNET_PUBMED_TEST_PG_URL")
HEAVY = ("sqlalchemy", "alembic", "requests", "matplotlib")


def test_the_head_revision_constant_is_the_migrations_head():
    assert dbapi.HEAD_REVISION == Store("sqlite://").head_revision()


@pytest.mark.parametrize(
    ("url", "dialect", "path"),
    [
        ("sqlite:///db/pnet_pubmed.sqlite", "sqlite", "db/pnet_pubmed.sqlite"),
        ("sqlite:////tmp/a b.sqlite", "sqlite", "/tmp/a b.sqlite"),
        ("sqlite:///a%20b.sqlite", "sqlite", "a b.sqlite"),
        ("sqlite+pysqlite:///x.db?timeout=3", "sqlite", "x.db"),
        ("refs.sqlite", "sqlite", "refs.sqlite"),
        ("sqlite://", "sqlite", None),
        ("sqlite:///:memory:", "sqlite", None),
    ],
)
def test_sqlite_urls(url, dialect, path):
    target = dbapi.parse_url(url)
    assert target.dialect == dialect
    assert target.path == (Path(path) if path else None)


def test_postgresql_urls_hide_the_password_and_keep_the_options():
    target = dbapi.parse_url("postgresql+psycopg://alice:s%40cret@db.example:5433/pnet"
                             "?options=-csearch_path%3Dwork")
    assert target.dialect == "postgresql"
    assert "s@cret" not in target.shown and "***" in target.shown
    assert "host='db.example'" in target.conninfo and "port='5433'" in target.conninfo
    assert "password='s@cret'" in target.conninfo and "dbname='pnet'" in target.conninfo
    assert "options='-c jit=off -csearch_path=work'" in target.conninfo  # no JIT, the schema
    with pytest.raises(StoreError, match="unsupported database 'mysql://u:\\*\\*\\*@h/d'"):
        dbapi.parse_url("mysql://u:pw@h/d")


def test_placeholders_in_each_drivers_style():
    statement = "SELECT :a, x::text, '50%' FROM t WHERE y IN (:b_0, :b_1)"
    assert dbapi.to_paramstyle(statement, "sqlite") == statement
    assert dbapi.to_paramstyle(statement, "postgresql") == (
        "SELECT %(a)s, x::text, '50%%' FROM t WHERE y IN (%(b_0)s, %(b_1)s)")
    params: dict = {}
    assert dbapi.in_list("b", ["x", "y"], params) == "(:b_0, :b_1)"
    assert params == {"b_0": "x", "b_1": "y"}
    assert dbapi.in_list("c", [], params) == "(NULL)"


@pytest.fixture
def upgraded(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = Store(url, index=SearchIndex())
    store.upgrade()
    store.close()
    return url


def test_a_sqlite_connection_reads_and_never_writes(upgraded):
    with dbapi.connect(upgraded) as db:
        assert db.dialect == "sqlite"
        assert db.scalar("SELECT count(*) FROM articles WHERE year >= :y", {"y": 2000}) == 0
        assert db.rows("SELECT :a, :b", {"a": 1, "b": "x"}) == [(1, "x")]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("CREATE TABLE t (x)")


def test_the_schema_revision_is_checked_without_alembic(upgraded, tmp_path):
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0007_records_current'")
    with pytest.raises(dbapi.SchemaError, match="revision 0007_records_current.*db upgrade"):
        dbapi.connect(upgraded)
    bare = tmp_path / "bare.sqlite"
    sqlite3.connect(bare).execute("CREATE TABLE t (x)")
    with pytest.raises(dbapi.SchemaError, match="not set up: run `pnet-pubmed db upgrade`"):
        dbapi.connect(f"sqlite:///{bare}")
    with pytest.raises(StoreError, match="no such file"):
        dbapi.connect(f"sqlite:///{tmp_path / 'missing.sqlite'}")
    with pytest.raises(StoreError, match="in-memory"):
        dbapi.connect("sqlite://")


@pytest.mark.skipif(not PG_URL, reason="PNET_PUBMED_TEST_PG_URL not set")
def test_a_postgresql_connection_reads_only(request):
    import uuid

    import sqlalchemy as sa

    admin = request.getfixturevalue("pg_admin")
    schema = f"pnet_dbapi_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url = url.render_as_string(hide_password=False)
    try:
        Store(url, index=SearchIndex()).upgrade()
        with dbapi.connect(url) as db:
            assert db.dialect == "postgresql"
            assert db.scalar("SELECT current_schema()") == schema
            assert db.scalar("SHOW jit") == "off"
            assert db.rows("SELECT CAST(:a AS int) + 1", {"a": 1}) == [(2,)]
            with pytest.raises(Exception, match="read-only"):
                db.execute("CREATE TABLE t (x int)")
        # A URL's own setting wins over the connection's defaults.
        mine = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema} -c jit=on"})
        with dbapi.connect(mine.render_as_string(hide_password=False)) as db:
            assert db.scalar("SHOW jit") == "on"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def _loaded_modules(url: str, *args: str) -> list[str]:
    code = textwrap.dedent(f"""
        import sys
        from pnet_pubmed.cli import main
        try:
            main({["--db", url, *args]!r}, standalone_mode=False)
        finally:
            print("LOADED", ",".join(m for m in {HEAVY!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return [m for m in out.rsplit("LOADED", 1)[1].strip().split(",") if m]


@pytest.mark.parametrize("args", [("search", "everolimus", "--mesh", "Humans"),
                                  ("search", "--author", "Yao", "--format", "json"),
                                  ("mesh", "--top", "3")])
def test_read_commands_import_nothing_heavy(upgraded, args):
    assert _loaded_modules(upgraded, *args) == []
