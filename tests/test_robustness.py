"""NCBI's failure modes: faults, rate limits, kills, concurrent runs, offline runs, secrets."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pnet_pubmed.config import Settings
from pnet_pubmed.eutils import EntrezClient, open_cache
from pnet_pubmed.eutils.answers import validate_response
from pnet_pubmed.pipeline import BUNDLED_COLLECTION, LinkError, link
from pnet_pubmed.store import Store
from tests.eutils_standin import FaultPlan, StandinServer

ROOT = Path(__file__).resolve().parents[1]
STABLE = ("key", "raw", "status", "pmid", "candidates", "method", "score", "reason")


def settings_for(server: StandinServer, folder: Path, **extra) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    values = dict(
        db_url=f"sqlite:///{folder}/db.sqlite",
        cache_dir=folder / "cache",
        eutils_url=server.url,
        email="tests@example.org",
        max_backoff=0.05,  # honour Retry-After, but keep the tests quick
        read_timeout=1.0,
        max_attempts=6,
    )
    values.update(extra)
    return Settings(**values)


def outcome(settings: Settings) -> list[tuple]:
    rows = Store(settings.db_url).references(BUNDLED_COLLECTION)
    return [tuple(str(r.get(k)) for k in STABLE) for r in rows]


@pytest.fixture(scope="module")
def clean_outcome(tmp_path_factory, corpus_files):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path_factory.mktemp("clean"))
        link(None, None, settings)
        return outcome(settings)


def cached_answers_are_valid(settings: Settings) -> int:
    cache = open_cache(settings.cache_dir)
    n = 0
    for response in cache.responses.values():
        validate_response(response)  # raises BadAnswer for anything that should not be there
        n += 1
    return n


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thirty_percent_faults_end_like_a_clean_run(seed, tmp_path, corpus_files, clean_outcome):
    plan = FaultPlan(seed=seed, rate=0.3, slow_seconds=1.5)
    with StandinServer(corpus_files, faults=plan) as server:
        # Small batches: some twenty requests, so that 30% faults hit several of them.
        settings = settings_for(server, tmp_path, ecitmatch_batch=10, esearch_batch=3,
                                efetch_batch=10)
        summary = link(None, None, settings)
        assert outcome(settings) == clean_outcome
        assert sum(server.faults_injected.values()) >= 1
        assert summary.stats.retries >= 1
        # Every answered request that was bad stayed out of the cache; every good one is in it.
        answered_bad = sum(n for kind, n in summary.stats.failures.items()
                           if kind[:1].isdigit() or kind == "bad_answer")
        assert cached_answers_are_valid(settings) == summary.stats.sent - answered_bad


def test_every_fault_kind_is_survived(tmp_path, corpus_files, clean_outcome):
    # rate 1.0: every request fails twice (each kind in turn) before it is answered.
    plan = FaultPlan(seed=7, rate=1.0, max_failures_per_request=2, slow_seconds=1.5)
    with StandinServer(corpus_files, faults=plan) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        assert outcome(settings) == clean_outcome
        assert cached_answers_are_valid(settings) >= 3


def test_giving_up_names_the_step_and_keeps_what_was_stored(tmp_path, corpus_files):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        before = outcome(settings)
    plan = FaultPlan(seed=3, rate=1.0, kinds=("503",), max_failures_per_request=1000)
    with StandinServer(corpus_files, faults=plan) as server:
        broken = settings_for(server, tmp_path / "other-cache", db_url=settings.db_url,
                              max_attempts=3, api_key="SECRET-KEY-123")
        with pytest.raises(LinkError) as err:
            link(None, None, broken)
    message = str(err.value)
    assert "ECitMatch" in message and "gave up after 3 attempts" in message
    assert "SECRET-KEY-123" not in message and "\n" not in message
    assert outcome(settings) == before


def test_client_keeps_under_the_rate_limit(tmp_path, corpus_files):
    with StandinServer(corpus_files, rate_limit=3) as server:
        settings = settings_for(server, tmp_path, efetch_batch=10, max_backoff=5)
        link(None, None, settings)
        assert len(server.requests) >= 8
        assert server.rate_limited == 0


def test_secrets_never_reach_cache_or_database(tmp_path, corpus_files):
    key, email = "APIKEY-abcdef123456", "private.person@example.org"
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path, api_key=key, email=email)
        link(None, None, settings)
        assert all(r.params.get("api_key") == key for r in server.requests)
        assert all(r.params.get("email") == email for r in server.requests)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key.encode() not in data, path
            assert email.encode() not in data, path
    assert key not in repr(settings) and email not in repr(settings)


def test_secrets_never_reach_the_logs(tmp_path, corpus_files, caplog):
    key, email = "APIKEY-logged-987654", "logged.person@example.org"
    caplog.set_level(logging.DEBUG)
    with StandinServer(corpus_files) as server:
        link(None, None, settings_for(server, tmp_path, api_key=key, email=email))
    assert any("ecitmatch" in r.getMessage() for r in caplog.records), "urllib3 logged nothing"
    for record in caplog.records:
        assert key not in record.getMessage() and email not in record.getMessage()


def test_offline_uses_only_the_cache(tmp_path, corpus_files, clean_outcome):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        summary = link(None, None, settings.with_(offline=True))
        assert len(server.requests) == 0
        assert summary.counts["pending"] == 72
        rows = Store(settings.db_url).references(BUNDLED_COLLECTION)
        assert all("offline" in r["reason"] for r in rows)
        link(None, None, settings)
        server.reset_log()
        link(None, None, settings.with_(offline=True))
        assert len(server.requests) == 0
        assert outcome(settings) == clean_outcome


def _cli(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pnet_pubmed", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _env(server: StandinServer, folder: Path) -> dict:
    env = dict(os.environ)
    env.update(
        PNET_PUBMED_EUTILS_URL=server.url,
        PNET_PUBMED_DB=f"sqlite:///{folder}/db.sqlite",
        PNET_PUBMED_CACHE=str(folder / "cache"),
        NCBI_EMAIL="tests@example.org",
    )
    env.pop("NCBI_API_KEY", None)
    return env


def test_kill_9_mid_run_then_rerun_equals_a_clean_run(tmp_path, corpus_files, clean_outcome):
    with StandinServer(corpus_files, latency=0.15) as server:
        env = _env(server, tmp_path)
        proc = _cli(env, "link", "--batch-size", "8")
        deadline = time.monotonic() + 60
        while len(server.requests) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        settings = Settings.from_env(env)
        partial = Store(settings.db_url).references(BUNDLED_COLLECTION)
        assert 0 < sum(r["status"] != "pending" for r in partial) < 72
        rerun = _cli(env, "link", "--batch-size", "8")
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        assert outcome(settings) == clean_outcome


def test_two_runs_on_one_sqlite_database_at_once(tmp_path, corpus_files, clean_outcome):
    with StandinServer(corpus_files, latency=0.05) as server:
        env = _env(server, tmp_path)
        runs = [_cli(env, "link", "--batch-size", "10") for _ in range(2)]
        results = [p.communicate(timeout=180) for p in runs]
        for p, (_out, err) in zip(runs, results, strict=True):
            assert p.returncode == 0, err
            assert "Traceback" not in err
        assert outcome(Settings.from_env(env)) == clean_outcome


def test_cached_bad_answer_from_an_older_version_is_dropped_and_refetched(tmp_path, corpus_files):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        with EntrezClient(settings) as client:
            count, ids = client.esearch('"yao j"[1au]')
            assert count == len(ids) > 0
            # Corrupt the cached copy behind the client's back.
            cache = client.session.cache
            for cached_key in list(cache.responses.keys()):
                response = cache.responses[cached_key]
                response._content = b"<html>error</html>"
                cache.responses[cached_key] = response
        server.reset_log()
        with EntrezClient(settings) as client:
            assert client.esearch('"yao j"[1au]') == (count, ids)
        assert len(server.requests) == 1


def test_a_full_disk_stops_with_one_line_and_keeps_the_database(tmp_path, corpus_files,
                                                                clean_outcome):
    import sqlite3

    import sqlalchemy as sa
    from click.testing import CliRunner

    from pnet_pubmed.cli import main
    from tests.reflist import real_records, reference_list

    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        db = tmp_path / "db.sqlite"
        # The disk fills a few pages past what the bundled list took (SQLite's own limit on
        # the file, as a full disk would refuse the next page).
        pages = db.stat().st_size // 4096 + 5

        def full_disk(dbapi_conn, _record):
            if isinstance(dbapi_conn, sqlite3.Connection):
                dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

        bigger = tmp_path / "bigger.txt"
        bigger.write_text(reference_list(real_records(), seed=1)[0], encoding="utf-8")
        sa.event.listen(sa.engine.Engine, "connect", full_disk)
        try:
            result = CliRunner().invoke(main, [
                "--db", settings.db_url, "--cache", str(settings.cache_dir), "--eutils-url",
                server.url, "--email", "tests@example.org", "link", str(bigger)])
        finally:
            sa.event.remove(sa.engine.Engine, "connect", full_disk)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.output.strip().splitlines()[-1].endswith("database or disk is full")
        assert outcome(settings) == clean_outcome  # the first list's results, untouched
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rerun = link(bigger, "bigger", settings)  # with room again, the run completes
    assert rerun.references == len(reference_list(real_records(), seed=1)[1]) > 100
    assert rerun.counts["pending"] == 0 and outcome(settings) == clean_outcome
