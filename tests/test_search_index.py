"""The search index follows saves, deletions, rebuilds and upgrades, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from pnet_pubmed.search import SearchError, search
from pnet_pubmed.search.index import SearchIndex, index_articles, rebuild_index
from pnet_pubmed.store import Store

from .test_search import CURACAO, _found, corpus, fresh  # noqa: F401 (fixtures)

STORE = Path(__file__).parents[1] / "pnet_pubmed" / "store"


def test_index_follows_saves_and_deletes(fresh, corpus):  # noqa: F811
    a = next(a for a in corpus if a.pmid == "21306238")
    fresh.save_articles([a])
    assert _found(fresh, "everolimus") == {a.pmid}
    fresh.save_articles([replace(a, title="Sunitinib for zebrafish.", abstract=(), mesh=(),
                                 chemicals=(), keywords=())])
    assert _found(fresh, "everolimus") == set()
    assert _found(fresh, "zebrafish") == {a.pmid}
    with fresh.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM articles WHERE pmid = :p"), {"p": a.pmid})
        index_articles(conn, [a.pmid])
    assert _found(fresh, "zebrafish") == set()
    assert _found(fresh, None, author="Yao") == set()


def test_rebuild_index(fresh, corpus):  # noqa: F811
    fresh.save_articles(list(corpus[:40]))
    before = [h.pmid for h in search(fresh, "patients", limit=100)]
    assert before
    with fresh.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM article_search"))
        conn.execute(sa.text("DELETE FROM article_author_keys"))
    assert _found(fresh, "patients") == set()
    assert rebuild_index(fresh) == 40
    assert [h.pmid for h in search(fresh, "patients", limit=100)] == before


def test_upgrade_indexes_existing_articles(tmp_path, corpus):  # noqa: F811
    from alembic import command

    store = Store(f"sqlite:///{tmp_path / 'old.sqlite'}", index=SearchIndex())
    store.upgrade()
    store.article_hooks.clear()
    store.save_articles([a for a in corpus if a.pmid == CURACAO])
    # Back to the schema before the index, with the article kept: as an old version left it.
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    store.upgrade()
    assert _found(store, "curacao") == {CURACAO}
    store.close()


def test_missing_index_is_a_clear_error(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'bare.sqlite'}")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    with pytest.raises(SearchError, match="db upgrade"):
        search(store, "everolimus")


def test_an_upgrade_that_rebuilds_the_index_needs_it(tmp_path, corpus):  # noqa: F811
    from alembic import command

    from pnet_pubmed.errors import StoreError

    url = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    store = Store(url)  # no index: saves leave the search index alone
    store.upgrade()
    store.save_articles([a for a in corpus if a.pmid == CURACAO])
    assert _found(store, "curacao") == set()
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with pytest.raises(StoreError, match="rebuilds the search index") as err:
        store.upgrade()
    assert "\n" not in str(err.value)
    store.close()
    indexed = Store(url, index=SearchIndex())
    indexed.upgrade()
    assert _found(indexed, "curacao") == {CURACAO}
    indexed.close()


def test_the_store_never_imports_search():
    code = ("import sys, pnet_pubmed.store.store, pnet_pubmed.store.migrations.rebuild; "
            "print(sorted(m for m in sys.modules if m.startswith('pnet_pubmed.search')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    imports = re.compile(r"^\s*(from|import)\s+(pnet_pubmed\.search|\.+search)\b", re.M)
    assert not [p for p in STORE.rglob("*.py") if imports.search(p.read_text())]
