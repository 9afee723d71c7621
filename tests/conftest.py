"""Shared fixtures: the stand-in E-utilities server, its environment, and the offline guard."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.eutils_standin import StandinServer, default_corpus_files, netguard

TEST_EMAIL = "tests@example.org"


@pytest.fixture(scope="session", autouse=True)
def _offline() -> Iterator[None]:
    """No test may reach a real host (least of all eutils.ncbi.nlm.nih.gov): loopback only."""
    with pytest.MonkeyPatch.context() as mp:
        # A proxy set in the environment would route 127.0.0.1 requests off the machine.
        for var in ("NO_PROXY", "no_proxy"):
            current = os.environ.get(var, "")
            mp.setenv(var, ",".join(filter(None, [current, "127.0.0.1", "localhost", "::1"])))
        with netguard.guard():
            yield


@pytest.fixture(autouse=True)
def _no_refused_connections() -> Iterator[None]:
    """Fail the test even when the code under test swallowed the guard's exception."""
    netguard.blocked.clear()
    yield
    if netguard.blocked:
        refused, netguard.blocked[:] = list(netguard.blocked), []
        pytest.fail(f"test tried to reach the network: {refused}", pytrace=False)


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    """The stand-in's default corpus: modelled seed records first, then NCBI's EFetch files."""
    return default_corpus_files()


def _point_env_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: StandinServer) -> None:
    """Everything the package reads from the environment goes to the stand-in and tmp_path."""
    monkeypatch.setenv("PNET_PUBMED_EUTILS_URL", server.url)
    monkeypatch.setenv("PNET_PUBMED_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PNET_PUBMED_DB", f"sqlite:///{tmp_path}/test.sqlite")
    monkeypatch.setenv("NCBI_EMAIL", TEST_EMAIL)
    # A developer's own key would lift the stand-in's rate limit from 3 to 10 per second.
    monkeypatch.delenv("NCBI_API_KEY", raising=False)


@pytest.fixture
def eutils(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
           corpus_files: list[Path]) -> Iterator[StandinServer]:
    """A started stand-in with the default corpus and no faults; env vars point at it."""
    with StandinServer(corpus_files) as server:
        _point_env_at(monkeypatch, tmp_path, server)
        yield server


@pytest.fixture
def make_eutils(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                corpus_files: list[Path]) -> Iterator[Callable[..., StandinServer]]:
    """Factory: make_eutils(faults=FaultPlan(seed=1), rate_limit=3, ...) -> started server.

    Takes StandinServer's arguments (corpus_files defaults to the default corpus). The env vars
    point at the most recently made server; all are stopped at teardown.
    """
    servers: list[StandinServer] = []
    default_files = corpus_files

    def make(corpus_files: list[Path] | None = None, **kwargs) -> StandinServer:
        server = StandinServer(corpus_files or default_files, **kwargs).start()
        servers.append(server)
        _point_env_at(monkeypatch, tmp_path, server)
        return server

    yield make
    for server in servers:
        server.stop()


# -- databases: SQLite always, PostgreSQL when PNET_PUBMED_TEST_PG_URL is set ------------------
PG_URL = os.environ.get("PNET_PUBMED_TEST_PG_URL")


@pytest.fixture(scope="session")
def pg_admin():
    if not PG_URL:
        pytest.skip("PNET_PUBMED_TEST_PG_URL not set")
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as e:
        pytest.fail(f"PNET_PUBMED_TEST_PG_URL is set but unreachable: {e.orig}")
    yield engine
    engine.dispose()


def _pg_schema_url(admin: sa.Engine) -> tuple[str, str]:
    """A fresh schema and a URL whose connections use it (and only it) via search_path."""
    schema = f"pnet_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


@contextmanager
def empty_database(backend: str, sqlite_path, request):
    """The URL of an empty database: a SQLite file at sqlite_path, or a PostgreSQL schema of
    its own, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_path}"
        return
    admin = request.getfixturevalue("pg_admin")
    schema, url = _pg_schema_url(admin)
    yield url
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    with empty_database(request.param, tmp_path / "db" / "store.sqlite", request) as url:
        yield url


@pytest.fixture
def store(db_url):
    """A Store on an empty, upgraded database of each backend."""
    from pnet_pubmed.store import Store

    s = Store(db_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def linked_url(request, tmp_path_factory) -> Iterator[str]:
    """The bundled list linked once per test module, in SQLite and in a PostgreSQL schema."""
    from tests.linked_db import database_url, link_bundled

    folder = tmp_path_factory.mktemp(f"linked-{request.param}")
    with database_url(request.param, folder) as url:
        link_bundled(url, folder)
        yield url
