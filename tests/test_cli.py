"""The CLI's own behaviour: formats, messages, help; the logic is tested with the library."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def linked(eutils):
    assert run("link").exit_code == 0
    return eutils


def test_every_command_has_help():
    for command in ("link", "refs", "show", "db", "sql", "report"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "0.1.0" in run("--version").output


def test_refs_csv_and_jsonl_agree(linked):
    rows = list(csv.DictReader(io.StringIO(run("refs", "--format", "csv").output)))
    jsonl = [json.loads(line) for line in run("refs", "--format", "jsonl").output.splitlines()]
    assert [r["key"] for r in rows] == [j["key"] for j in jsonl]
    assert [r["pmid"] or None for r in rows] == [j["pmid"] for j in jsonl]
    assert set(rows[0]) >= {"key", "status", "pmid", "method", "score", "reason", "raw"}


def test_refs_filters_by_status(linked):
    out = run("refs", "--status", "not_found", "--format", "jsonl").output.splitlines()
    assert len(out) == 7 and all(json.loads(x)["status"] == "not_found" for x in out)


def test_show_text_has_the_record(linked):
    pmid = next(json.loads(x)["pmid"] for x in run("refs", "--format", "jsonl").output.splitlines()
                if json.loads(x)["pmid"])
    data = json.loads(run("show", pmid, "--format", "json").output)
    text = run("show", pmid).output
    assert f"PMID {pmid}" in text and data["title"] in text
    for heading in data["mesh"]:
        assert heading["descriptor"] in text


def test_unknown_pmid_is_one_line(linked):
    result = run("show", "1")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: PMID 1 is not in the database (run link first)"]


def test_db_upgrade_is_idempotent(eutils):
    for _ in range(2):
        result = run("db", "upgrade")
        assert result.exit_code == 0 and "up to date" in result.output


def test_bad_database_url_is_one_line(eutils, tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database " * 100)
    result = run("--db", f"sqlite:///{junk}", "refs")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert "Traceback" not in result.output


def test_email_is_required_for_the_real_ncbi(tmp_path, monkeypatch):
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    monkeypatch.delenv("PNET_PUBMED_EUTILS_URL", raising=False)
    monkeypatch.setenv("PNET_PUBMED_DB", f"sqlite:///{tmp_path}/db.sqlite")
    monkeypatch.setenv("PNET_PUBMED_CACHE", str(tmp_path / "cache"))
    result = run("link")
    assert result.exit_code == 1 and "NCBI_EMAIL" in result.output


def test_a_closed_pipe_is_no_error(eutils, tmp_path):
    import os
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pnet_pubmed", "link"], check=True,
                   capture_output=True)
    # Far more than a pipe holds, read by a reader that stops after one line (`| head -1`).
    many = ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000) "
            "SELECT n FROM r")
    proc = subprocess.Popen([sys.executable, "-m", "pnet_pubmed", "sql", many, "--limit", "0",
                             "--format", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=os.environ.copy())
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first.strip() == b"n"
    assert "internal error" not in err and "Traceback" not in err and proc.returncode == 0
