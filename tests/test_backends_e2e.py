"""One link run gives the same rows on SQLite and PostgreSQL; parallel runs duplicate nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.pipeline import BUNDLED_COLLECTION
from pnet_pubmed.store import Store

ROOT = Path(__file__).resolve().parents[1]
STYLES = ROOT / "tests" / "fixtures" / "styles"
STABLE = ("key", "raw", "status", "pmid", "candidates", "method", "score", "reason")


def outcome(db_url: str, collection: str = BUNDLED_COLLECTION) -> list[tuple]:
    return [tuple(str(r.get(k)) for k in STABLE) for r in Store(db_url).references(collection)]


def test_link_gives_the_same_rows_on_every_backend(eutils, db_url, tmp_path):
    sqlite_url = os.environ["PNET_PUBMED_DB"]
    assert CliRunner().invoke(main, ["link"]).exit_code == 0
    result = CliRunner().invoke(main, ["--db", db_url, "link"])
    assert result.exit_code == 0, result.output
    assert outcome(db_url) == outcome(sqlite_url)
    shown = CliRunner().invoke(main, ["--db", db_url, "refs", "--format", "jsonl"])
    assert shown.output == CliRunner().invoke(main, ["refs", "--format", "jsonl"]).output
    for pmid in Store(sqlite_url).known_pmids(
        r["pmid"] for r in Store(sqlite_url).references() if r["pmid"]
    ):
        assert Store(db_url).article(pmid) == Store(sqlite_url).article(pmid)


def test_parallel_link_processes_duplicate_nothing(eutils, db_url):
    env = dict(os.environ, PNET_PUBMED_DB=db_url)
    lists = [None, None, str(STYLES / "vancouver.txt"), str(STYLES / "refs.ris")]
    procs = []
    for i, source in enumerate(lists):
        args = [sys.executable, "-m", "pnet_pubmed", "--cache", str(Path(env[
            "PNET_PUBMED_CACHE"]) / f"c{i}"), "link", "--batch-size", "9"]
        if source:
            args += [source]
        procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        n_articles = conn.execute(sa.text("SELECT count(*) FROM articles")).scalar()
        distinct = conn.execute(sa.text("SELECT count(DISTINCT pmid) FROM articles")).scalar()
        n_refs = conn.execute(sa.text("SELECT count(*) FROM refs")).scalar()
        dup_keys = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT collection_id, key FROM refs "
            "GROUP BY collection_id, key HAVING count(*) > 1) d")).scalar()
    engine.dispose()
    assert n_articles == distinct == 65
    assert dup_keys == 0
    store = Store(db_url)
    names = {c["name"]: c for c in store.collections()}
    assert names[BUNDLED_COLLECTION]["n_matched"] == 65
    for name in ("vancouver", "refs"):
        assert names[name]["n_matched"] == 65, names[name]
    assert n_refs == sum(c["n_references"] for c in names.values())
