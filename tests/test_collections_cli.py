"""Collections people manage, through the CLI: listing and deleting them, refs across them,
BibTeX keys kept from link to export, lists on standard input, PMIDs on one line."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import bibtexparser
import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.pipeline import bundled_list
from pnet_pubmed.references import io as reference_io
from pnet_pubmed.store import Store

STYLES = Path(__file__).parent / "fixtures" / "styles"


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    return result


def _store() -> Store:
    return Store(os.environ["PNET_PUBMED_DB"])


def _bundled_pmids() -> list[str]:
    return [r["pmid"] for r in _store().references("pnet-review-2015") if r["pmid"]]


@pytest.fixture
def two(eutils):
    """The bundled list, and a PMID list citing two of its records and one record of its own."""
    assert run("link").exit_code == 0
    shared = _bundled_pmids()[:2]
    result = run("link", "-", "-c", "mine", input=" ".join([*shared, "23985001"]) + "\n")
    assert result.exit_code == 0, result.output
    return shared


# -- collections -------------------------------------------------------------------------------
def test_the_new_commands_have_help():
    for args in (("collections",), ("collections", "delete"), ("refresh",)):
        result = run(*args, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_a_database_of_an_older_revision_says_to_upgrade(eutils, tmp_path):
    from alembic import command

    assert run("link").exit_code == 0
    pmid = _bundled_pmids()[0]
    store = _store()
    cfg = store._alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003_readonly_role")
    result = run("show", pmid)
    assert result.exit_code == 1 and "(run `pnet-pubmed db upgrade`)" in result.output
    assert run("db", "upgrade").exit_code == 0
    assert run("show", pmid).exit_code == 0


def test_collections_lists_every_collection_in_each_format(two):
    rows = json.loads(run("collections", "--format", "json").output)
    assert [r["collection"] for r in rows] == ["mine", "pnet-review-2015"]
    mine, review = rows
    assert (review["references"], review["matched"], review["not_found"]) == (72, 65, 7)
    assert (mine["references"], mine["matched"], mine["source"]) == (3, 3, "<stdin>")
    assert review["source"] == str(bundled_list())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", review["last_run"])

    table = run("collections").output.splitlines()
    assert table[0].split() == ["collection", "references", "matched", "ambiguous", "not_found",
                                "pending", "last_run", "source"]
    assert table[3].split()[:6] == ["pnet-review-2015", "72", "65", "0", "7", "0"]
    cells = list(csv.DictReader(io.StringIO(run("collections", "--format", "csv").output)))
    assert [(c["collection"], c["references"]) for c in cells] == [
        ("mine", "3"), ("pnet-review-2015", "72")]


def test_no_collections_yet_says_so(eutils):
    result = run("collections")
    assert result.exit_code == 0 and "no collections yet" in result.output
    assert json.loads(run("collections", "--format", "json").output) == []


def test_deleting_a_collection_keeps_every_record(two):
    store = _store()
    before = store.known_pmids([*_bundled_pmids(), "23985001"])
    result = run("collections", "delete", "mine", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "deleted mine: 3 references; the 3 records it linked stay in the database "
        "(1 cited by no other collection)")
    assert [c["name"] for c in store.collections()] == ["pnet-review-2015"]
    assert store.references("mine") == []
    assert len(store.references("pnet-review-2015")) == 72
    # Records stay: the one no other list cites too (search finds it, a mirror may hold it).
    assert store.known_pmids(before) == before
    assert run("show", "23985001").exit_code == 0
    assert run("refs", "-c", "mine").output.strip() == (
        "Error: no collection named 'mine' (collections: pnet-review-2015)")


def test_delete_asks_first_and_unknown_names_are_one_line(two):
    result = run("collections", "delete", "mine", input="n\n")
    assert result.exit_code == 1 and "Delete collection mine (3 references)?" in result.output
    assert "mine" in [c["name"] for c in _store().collections()]
    result = run("collections", "delete", "nosuch", "-y")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no collection named 'nosuch' (collections: mine, pnet-review-2015)"]


def test_refs_across_collections_names_each_ones_collection(two):
    lines = run("refs").output.splitlines()
    assert lines[0].split()[:4] == ["collection", "key", "status", "pmid"]
    assert sum(line.startswith("mine ") for line in lines) == 3
    assert sum(line.startswith("pnet-review-2015 ") for line in lines) == 72
    rows = list(csv.DictReader(io.StringIO(run("refs", "--format", "csv").output)))
    assert {r["collection"] for r in rows} == {"mine", "pnet-review-2015"}
    one = run("refs", "-c", "mine").output.splitlines()
    assert one[0].split()[0] == "key"
    result = run("refs", "--collection", "nosuch")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no collection named 'nosuch' (collections: mine, pnet-review-2015)"]


# -- BibTeX keys -------------------------------------------------------------------------------
def test_bibtex_keys_survive_link_and_export(eutils, tmp_path):
    entries = re.split(r"\n(?=@)", (STYLES / "refs.bib").read_text(encoding="utf-8"))
    # Seed references 1, 2 and 4-6 (3 is a meeting abstract, not in PubMed).
    entries = [entries[i] for i in (1, 2, 4, 5, 6)]
    keys = ["okamoto2020", "Yao:2011:everolimus", "müller_2013a", "2019-smith", "okamoto2020"]
    text = "\n".join(re.sub(r"^@article\{[^,]+,", f"@article{{{k},", e, count=1)
                     for e, k in zip(entries, keys, strict=True))
    bib = tmp_path / "refs.bib"
    bib.write_text(text, encoding="utf-8")
    result = run("link", str(bib))
    assert result.exit_code == 0, result.output
    rows = _store().references("refs")
    # A key used twice gets "#position", as in any list.
    assert [r["key"] for r in rows] == keys[:4] + ["okamoto2020#5"]
    assert all(r["status"] == "matched" for r in rows)

    library = bibtexparser.parse_string(run("export", "--format", "bibtex").output)
    assert not library.failed_blocks
    assert [e.key for e in library.entries] == keys[:4] + ["okamoto2020-5"]
    by_key = {e.key: e.fields_dict["pmid"].value for e in library.entries}
    assert by_key == {k: r["pmid"] for k, r in zip([e.key for e in library.entries], rows,
                                                    strict=True)}
    # A numbered list still gets keys a \cite cannot mistake for a number.
    assert run("link").exit_code == 0
    keys_out = [e.key for e in bibtexparser.parse_string(
        run("export", "-c", "pnet-review-2015", "--format", "bibtex").output).entries]
    assert keys_out[:3] == ["ref1", "ref2", "ref4"]


# -- standard input, PMIDs on a line, show abc -------------------------------------------------
def test_link_reads_the_list_from_standard_input(eutils):
    text = bundled_list().read_text(encoding="utf-8")
    result = run("link", "-", input=text)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stdin: 72 references — 65 matched, 0 ambiguous, 7 not found")
    assert run("link").exit_code == 0
    piped = [(r["key"], r["status"], r["pmid"]) for r in _store().references("stdin")]
    from_file = [(r["key"], r["status"], r["pmid"])
                 for r in _store().references("pnet-review-2015")]
    assert piped == from_file


def test_pmids_on_one_line_are_a_pmid_list(eutils):
    assert run("link").exit_code == 0
    pmids = _bundled_pmids()[:4]
    for sep in (", ", " ", ";", ",\t"):
        result = run("link", "-", "-c", "line", input=sep.join(pmids) + "\n")
        assert result.exit_code == 0, result.output
        rows = _store().references("line")
        assert [(r["key"], r["pmid"], r["method"]) for r in rows] == [
            (str(i), p, "pmid") for i, p in enumerate(pmids, 1)]


def test_standard_input_is_capped_like_a_file(eutils, monkeypatch):
    monkeypatch.setattr(reference_io, "MAX_INPUT_BYTES", 1000)
    text = bundled_list().read_text(encoding="utf-8")[:3000]
    result = run("link", "-", input=text)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: standard input: more than the 0 MB a reference list may have"]
    assert run("link", "-", input=text[:900]).exit_code == 0  # under the cap: read
    assert run("link", "-", "-c", "e", input="").output.strip() == (
        "Error: standard input: empty file")
    # Nothing stored for a list that could not be read.
    assert [c["name"] for c in _store().collections()] == ["stdin"]


@pytest.mark.parametrize("arg", ["abc", "12a", "PMID", "1.5", "12 34", "x" * 500])
def test_show_says_when_its_argument_is_not_a_pmid(eutils, arg):
    result = run("show", arg)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "is not a PMID" in lines[0] and len(lines[0]) < 120
