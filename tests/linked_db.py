"""The bundled list linked against the stand-in, in SQLite or a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import BUNDLED_COLLECTION, LinkSummary, link
from tests.eutils_standin import StandinServer, default_corpus_files

PG_URL = os.environ.get("PNET_PUBMED_TEST_PG_URL")
BACKENDS = ("sqlite", "postgresql")
COLLECTION = BUNDLED_COLLECTION
TEST_EMAIL = "tests@example.org"


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file in folder, or a PostgreSQL schema of its own.

    PostgreSQL is skipped when PNET_PUBMED_TEST_PG_URL is unset; the schema is dropped after.
    """
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'linked.sqlite'}"
        return
    if not PG_URL:
        pytest.skip("PNET_PUBMED_TEST_PG_URL not set")
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    schema = f"pnet_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as e:
        pytest.fail(f"PNET_PUBMED_TEST_PG_URL is set but unreachable: {e.orig}")
    # search_path in the URL: every connection, read-only ones included, sees only this schema.
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def link_bundled(url: str, folder: Path) -> LinkSummary:
    """Link the bundled 72-reference list into the database at url (about a second)."""
    with StandinServer(default_corpus_files()) as server:
        settings = Settings(
            db_url=url, cache_dir=folder / "cache", eutils_url=server.url, email=TEST_EMAIL
        )
        return link(None, None, settings)
