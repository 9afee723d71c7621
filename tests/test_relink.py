"""Runs on a database that already holds results: relinking an edited list, and runs that cannot
decide (offline with a cache that lacks the answers), which must keep what is stored."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import BUNDLED_COLLECTION, bundled_list, link
from pnet_pubmed.store import Store
from tests.eutils_standin import StandinServer
from tests.test_robustness import _cli, _env, outcome, settings_for

KEPT = [*range(1, 10), *range(20, 51)]  # 40 of the 72 references stay in the edited list
EDITED_KEY, TEXT_FROM = 5, 60  # key 5 now holds the text of reference 60 (itself removed)


def bundled_lines() -> dict[int, str]:
    lines = bundled_list().read_text(encoding="utf-8").splitlines()
    return {int(m.group(1)): m.group(2) for m in (re.match(r"(\d+)\. (.*)", x) for x in lines)}


def write_edited_list(folder: Path) -> Path:
    text = bundled_lines()
    text[EDITED_KEY] = text[TEXT_FROM]
    path = folder / "edited.txt"
    path.write_text("".join(f"{k}. {text[k]}\n" for k in KEPT), encoding="utf-8")
    return path


def rows_by_key(settings: Settings) -> dict[str, dict]:
    with Store(settings.db_url) as store:
        return {r["key"]: r for r in store.references(BUNDLED_COLLECTION)}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, corpus_files) -> tuple[dict[str, dict], list[tuple]]:
    """The bundled list linked once, as every test here starts: rows by key, outcome."""
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path_factory.mktemp("first"))
        link(None, None, settings)
        return rows_by_key(settings), outcome(settings)


@pytest.fixture(scope="module")
def edited_clean(tmp_path_factory, corpus_files) -> list[tuple]:
    """The edited list linked into an empty database: what a relink must end with."""
    folder = tmp_path_factory.mktemp("edited-clean")
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, folder)
        link(write_edited_list(folder), BUNDLED_COLLECTION, settings)
        return outcome(settings)


# -- 1: a run that cannot decide keeps what is stored -------------------------------------------


@pytest.mark.parametrize("email", ["tests@example.org", None], ids=["email", "no-email"])
def test_offline_with_a_cache_that_lacks_the_answers_keeps_every_stored_result(
        tmp_path, corpus_files, first_run, email):
    _, before = first_run
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        assert outcome(settings) == before
        server.reset_log()
        # A new, empty cache folder (or one whose keys do not match): no answer at all.
        blind = settings.with_(offline=True, cache_dir=tmp_path / "new-cache", email=email)
        summary = link(None, None, blind)
        assert len(server.requests) == 0
    assert outcome(settings) == before  # statuses, PMIDs, scores and reasons untouched
    assert summary.counts == {"matched": 65, "ambiguous": 0, "not_found": 7, "pending": 0}
    assert summary.undecided == 72 and summary.references == 72


def test_offline_cli_says_what_it_kept(tmp_path, corpus_files, first_run):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
    result = CliRunner().invoke(main, ["--db", settings.db_url, "--cache",
                                       str(tmp_path / "empty-cache"), "link", "--offline"])
    assert result.exit_code == 0, result.output
    assert ("pnet-review-2015: 72 references — 65 matched, 0 ambiguous, 7 not found, "
            "0 pending") in result.output
    assert "72 references had no cached answer" in result.output


def test_offline_relink_keeps_decided_references_and_leaves_an_edited_one_pending(
        tmp_path, corpus_files, first_run):
    rows_before, _ = first_run
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        blind = settings.with_(offline=True, cache_dir=tmp_path / "new-cache")
        link(write_edited_list(tmp_path), BUNDLED_COLLECTION, blind)
    rows = rows_by_key(settings)
    edited = rows.pop(str(EDITED_KEY))
    # New text at the key: the old match does not survive, and nothing could decide it.
    assert (edited["status"], edited["pmid"]) == ("pending", None)
    assert "offline" in edited["reason"]
    for key, row in rows.items():
        old = rows_before[key]
        assert (row["status"], row["pmid"], row["reason"]) == (
            old["status"], old["pmid"], old["reason"]), key


# -- 4: the collection is what its list is now ---------------------------------------------------


def test_relinking_an_edited_list_removes_what_left_it(tmp_path, corpus_files, first_run,
                                                       edited_clean):
    rows_before, _ = first_run
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        summary = link(write_edited_list(tmp_path), BUNDLED_COLLECTION, settings)
    rows = rows_by_key(settings)
    assert sorted(rows, key=int) == [str(k) for k in KEPT]
    assert summary.references == len(KEPT) == sum(summary.counts.values())
    assert summary.removed == 72 - len(KEPT)
    # The edited key was decided again, from its new text.
    assert rows[str(EDITED_KEY)]["pmid"] == rows_before[str(TEXT_FROM)]["pmid"]
    assert rows[str(EDITED_KEY)]["pmid"] != rows_before[str(EDITED_KEY)]["pmid"]
    assert outcome(settings) == edited_clean
    # The records of references that left stay in the database.
    gone = [rows_before[str(k)]["pmid"] for k in range(10, 20) if rows_before[str(k)]["pmid"]]
    with Store(settings.db_url) as store:
        assert gone and store.known_pmids(gone) == set(gone)


def test_relink_totals_add_up_in_what_link_prints(tmp_path, corpus_files):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        result = CliRunner().invoke(main, [
            "--db", settings.db_url, "--cache", str(settings.cache_dir), "--eutils-url",
            server.url, "--email", "tests@example.org",
            "link", str(write_edited_list(tmp_path)), "--collection", BUNDLED_COLLECTION])
    assert result.exit_code == 0, result.output
    m = re.search(r": (\d+) references — (\d+) matched, (\d+) ambiguous, (\d+) not found, "
                  r"(\d+) pending", result.output)
    assert m, result.output
    total, *parts = map(int, m.groups())
    assert total == len(KEPT) == sum(parts)
    assert f"{72 - len(KEPT)} references no longer in the list were removed" in result.output


def test_an_interrupted_relink_is_already_the_new_list_and_a_rerun_completes_it(
        tmp_path, corpus_files, first_run, edited_clean):
    first, _ = first_run
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
    edited = write_edited_list(tmp_path)
    # Another cache: the relink must ask the server, slowly, so that it can be killed mid-way.
    with StandinServer(corpus_files, latency=0.15) as server:
        env = _env(server, tmp_path) | {"PNET_PUBMED_CACHE": str(tmp_path / "cache-2")}
        proc = _cli(env, "link", str(edited), "--collection", BUNDLED_COLLECTION,
                    "--batch-size", "8")
        deadline = time.monotonic() + 60
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        partial = rows_by_key(settings)
        # The list was swapped in one transaction before the first request, and the edited
        # key lost its old match (it may have been decided again before the kill).
        assert sorted(partial, key=int) == [str(k) for k in KEPT]
        assert partial[str(EDITED_KEY)]["pmid"] in (None, first[str(TEXT_FROM)]["pmid"])
        rerun = _cli(env, "link", str(edited), "--collection", BUNDLED_COLLECTION,
                     "--batch-size", "8")
        _out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
    assert outcome(settings) == edited_clean


# -- 1 and 4 on each backend ----------------------------------------------------------------------


def test_keeping_and_removing_on_every_backend(tmp_path, corpus_files, db_url, first_run,
                                               edited_clean):
    _, before = first_run
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path, db_url=db_url)
        link(None, None, settings)
        assert outcome(settings) == before
        blind = settings.with_(offline=True, cache_dir=tmp_path / "new-cache", email=None)
        kept = link(None, None, blind)
        assert outcome(settings) == before and kept.undecided == 72
        edited = link(write_edited_list(tmp_path), BUNDLED_COLLECTION, settings)
    assert edited.removed == 72 - len(KEPT) and edited.references == len(KEPT)
    assert sorted(rows_by_key(settings), key=int) == [str(k) for k in KEPT]
    assert outcome(settings) == edited_clean
