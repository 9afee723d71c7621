"""`pnet-pubmed sql`: read-only queries, enforced by the connection, in three formats."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.cli.export import report
from pnet_pubmed.cli.sql import sql
from pnet_pubmed.config import Settings
from pnet_pubmed.sqlquery import QueryError, ReadOnlyError, run_query
from pnet_pubmed.store import Store
from tests.linked_db import COLLECTION, database_url

COUNT_BY_STATUS = (
    "SELECT status, count(*) AS n FROM reference_links GROUP BY status ORDER BY status"
)


def run(url: str, *args: str, stdin: str | None = None):
    return CliRunner().invoke(sql, list(args), obj=Settings(db_url=url), input=stdin)


def counts(url: str) -> dict:
    with Store(url) as store:
        return {c["name"]: c["n_references"] for c in store.collections()}


def test_commands_are_wired_into_the_main_group():
    assert main.commands.get("sql") is sql
    assert main.commands.get("report") is report


# -- output ------------------------------------------------------------------------------------


def test_table_format(linked_url):
    result = run(linked_url, COUNT_BY_STATUS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["status", "n"]
    assert [line.split() for line in lines[2:]] == [["matched", "65"], ["not_found", "7"]]
    assert "(2 rows)" in result.stderr


def test_json_format(linked_url):
    result = run(
        linked_url,
        "SELECT key, pmid, year, reason FROM reference_links WHERE collection = 'pnet-review-2015'"
        " ORDER BY position",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 72
    assert rows[0] == {"key": "1", "pmid": "11334727", "year": 2001, "reason": None}
    assert sum(r["pmid"] is None for r in rows) == 7


def test_csv_format_keeps_exact_values(linked_url):
    result = run(
        linked_url,
        "SELECT key, pmid, score, raw FROM refs WHERE score IS NOT NULL ORDER BY position",
        "--format",
        "csv",
        "--limit",
        "0",
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) >= 65
    assert all(0 < float(r["score"]) <= 1 for r in rows)
    assert any("," in r["raw"] for r in rows)  # quoted, so commas in references survive


def test_limit_truncates_and_says_so(linked_url):
    result = run(
        linked_url,
        "SELECT key FROM reference_links ORDER BY position",
        "--limit",
        "5",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert [r["key"] for r in json.loads(result.stdout)] == ["1", "2", "3", "4", "5"]
    assert "first 5 rows" in result.stderr
    everything = run(
        linked_url, "SELECT key FROM reference_links", "--limit", "0", "--format", "json"
    )
    assert len(json.loads(everything.stdout)) == 72
    assert "first" not in everything.stderr


def test_statement_from_stdin_and_duplicate_column_names(linked_url):
    result = run(
        linked_url,
        "-",
        "--format",
        "json",
        stdin="SELECT r.pmid, a.pmid FROM reference_links r "
        "JOIN articles a ON a.pmid = r.pmid ORDER BY r.position LIMIT 1\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"pmid": "11334727", "pmid_2": "11334727"}]


def test_views_are_queryable_like_tables(linked_url):
    result = run(
        linked_url,
        "SELECT descriptor, count(DISTINCT pmid) AS n FROM article_mesh WHERE major_topic "
        "GROUP BY descriptor ORDER BY n DESC, descriptor LIMIT 3",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and rows[0]["n"] >= rows[-1]["n"] >= 1


# -- refusals ----------------------------------------------------------------------------------

WRITES = [
    "INSERT INTO collections (name, created_at, updated_at) "
    "VALUES ('intruder', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "UPDATE refs SET status = 'pending'",
    "DELETE FROM refs",
    "DROP VIEW reference_links",
    "CREATE TABLE scratch (a INTEGER)",
    "CREATE TEMPORARY TABLE scratch (a INTEGER)",
]


@pytest.mark.parametrize("statement", WRITES, ids=lambda s: s.split("(")[0][:24])
def test_writes_are_refused_with_one_clear_line(linked_url, statement):
    before = counts(linked_url)
    result = run(linked_url, statement)
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message
    assert message.startswith("Error: read-only:"), message
    assert counts(linked_url) == before == {COLLECTION: 72}


def test_a_second_statement_cannot_escape_the_read_only_transaction(linked_url):
    # On PostgreSQL, COMMIT then SET ... READ WRITE would leave the read-only transaction.
    sneaky = (
        "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
        "INSERT INTO collections (name, created_at, updated_at) "
        "VALUES ('intruder', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    result = run(linked_url, sneaky)
    assert result.exit_code == 1
    assert "\n" not in result.output.strip()
    assert counts(linked_url) == {COLLECTION: 72}


def test_sqlite_cannot_create_files_either(tmp_path):
    with database_url("sqlite", tmp_path) as url:
        Store(url).upgrade()
        for statement in (
            f"ATTACH DATABASE '{tmp_path / 'new.sqlite'}' AS other",
            f"VACUUM INTO '{tmp_path / 'copy.sqlite'}'",
        ):
            result = run(url, statement)
            assert result.exit_code == 1
            assert result.output.startswith("Error: read-only:"), result.output
        assert not (tmp_path / "new.sqlite").exists()
        assert not (tmp_path / "copy.sqlite").exists()


def test_syntax_error_is_one_line(linked_url):
    result = run(linked_url, "SELEC key FROM reference_links")
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message
    assert message.startswith("Error: SQL error:") and "syntax error" in message, message


def test_unknown_table_is_one_line(linked_url):
    result = run(linked_url, "SELECT * FROM no_such_table")
    assert result.exit_code == 1
    assert "\n" not in result.output.strip()
    assert "no_such_table" in result.output


def test_empty_statement(linked_url):
    result = run(linked_url, "   ")
    assert result.exit_code == 1
    assert "no SQL statement" in result.output


def test_missing_sqlite_file_is_not_created(tmp_path):
    db = tmp_path / "absent.sqlite"
    result = run(f"sqlite:///{db}", "SELECT 1")
    assert result.exit_code == 1
    assert "no such file" in result.output
    assert not db.exists()


# -- the library function ----------------------------------------------------------------------


def test_run_query_result_and_errors(linked_url):
    with Store(linked_url) as store:
        result = run_query(store, COUNT_BY_STATUS, limit=1)
        assert result.columns == ["status", "n"]
        assert result.rows == [("matched", 65)] and result.truncated
        assert result.records() == [{"status": "matched", "n": 65}]
        with pytest.raises(ReadOnlyError):
            run_query(store, "DELETE FROM articles")
        with pytest.raises(QueryError) as err:
            run_query(store, "SELECT FROM WHERE")
        assert not isinstance(err.value, ReadOnlyError)
        # The store still writes through its own connections afterwards.
        store.collection_id("after", create=True)
        assert "after" in {c["name"] for c in store.collections()}


def test_in_memory_store_is_guarded_and_left_writable():
    with Store("sqlite://") as store:
        store.upgrade()
        with pytest.raises(ReadOnlyError):
            run_query(store, "DELETE FROM refs")
        assert run_query(store, "SELECT count(*) AS n FROM refs").rows == [(0,)]
        store.collection_id("still-writable", create=True)
        assert [c["name"] for c in store.collections()] == ["still-writable"]
