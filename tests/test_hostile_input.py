"""Hostile or odd input files: one line each, no traceback, no hang, nothing stored lost."""

from __future__ import annotations

import json
import os
import threading

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.references import CitationInputError, parse_csl_json, read_references
from pnet_pubmed.references import io as reference_io


def _one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_symlink_to_dev_zero_is_refused_without_reading(tmp_path, eutils):
    link = tmp_path / "refs.txt"
    os.symlink("/dev/zero", link)
    assert "not a regular file" in _one_line_error(["link", str(link)])


def test_a_fifo_is_refused_without_waiting(tmp_path, eutils):
    fifo = tmp_path / "refs.txt"
    os.mkfifo(fifo)
    done = threading.Event()
    message: list[str] = []

    def run():
        message.append(_one_line_error(["link", str(fifo)]))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(20), "link waited on a FIFO with no writer"
    assert "not a regular file" in message[0]


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path, eutils):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(reference_io.MAX_INPUT_BYTES + 1)  # sparse: no disk used
    assert "more than the" in _one_line_error(["link", str(big)])


def test_deeply_nested_json_is_one_line(tmp_path, eutils):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in _one_line_error(["link", str(deep)])


def test_deeply_nested_bibtex_braces_cost_only_their_entry(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{deep, title = " + "{" * 20_000 + "x" + "}" * 20_000 + "}\n"
                   "@article{ok, author = {Yao, James C.}, title = {Everolimus for advanced "
                   "pancreatic neuroendocrine tumors}, journal = {N Engl J Med}, year = {2011}, "
                   "volume = {364}, pages = {514--523}}\n")
    cits = read_references(bib)
    assert len(cits) == 2
    assert cits[0].kind == "unparsed" and "unreadable" in cits[0].reason
    assert cits[1].title.startswith("Everolimus") and cits[1].year == 2011


def test_an_unclosed_bibtex_entry_does_not_take_the_next_ones_fields(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{first, title = {Never closed}, journal = {J Test}, year = {2001},\n"
                   "@article{second, author = {Yao, James C.}, title = {Everolimus for advanced "
                   "pancreatic neuroendocrine tumors}, journal = {N Engl J Med}, year = {2011}, "
                   "volume = {364}, pages = {514--523}}\n")
    first, second = read_references(bib)
    assert (first.key, first.kind, first.title) == ("first", "unparsed", None)
    assert "unreadable" in first.reason and "Everolimus" not in first.raw
    assert (second.key, second.year, second.volume) == ("second", 2011, "364")


def test_csl_json_numbers_where_text_belongs_are_read(tmp_path):
    items = [
        {"type": "article-journal", "title": 12345, "container-title": ["N Engl J Med"],
         "volume": 364, "page": 514, "issued": {"date-parts": [["2011"]]},
         "author": [{"family": 7, "given": None}, "not an author"], "DOI": 10.1056},
        {"type": "article-journal", "title": {"nested": "object"}, "author": "Yao"},
        ["a list", "as an item"],
    ]
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(items))
    cits = parse_csl_json(path.read_text())
    assert len(cits) == 3
    assert cits[0].volume == "364" and cits[0].year == 2011 and cits[0].title == "12345"
    assert cits[2].kind == "unparsed"


@pytest.mark.parametrize("content", [b"\x00" * 100, b"%PDF-1.7 ...", b""])
def test_binary_or_empty_files_are_one_line(tmp_path, eutils, content):
    path = tmp_path / "refs.txt"
    path.write_bytes(content)
    _one_line_error(["link", str(path)])


def test_a_directory_is_one_line(tmp_path, eutils):
    assert "a directory" in _one_line_error(["link", str(tmp_path)])


def test_missing_file_error_names_it():
    with pytest.raises(CitationInputError, match="no such file"):
        read_references("/nonexistent/refs.txt")


@pytest.mark.parametrize("cache", ["/dev/null", "file"])
def test_a_cache_folder_that_is_a_file_is_one_line(tmp_path, eutils, cache):
    if cache == "file":
        cache = tmp_path / "a-file"
        cache.write_text("not a folder")
    message = _one_line_error(["--cache", str(cache), "link", "--offline"])
    assert f"the cache folder {cache} cannot be used: it is not a folder" in message


@pytest.mark.parametrize("url", ["ftp://eutils.example.org/", "eutils.ncbi.nlm.nih.gov/entrez",
                                 "http:///entrez/"])
def test_an_eutils_address_that_is_not_http_is_one_line(eutils, url):
    result = CliRunner().invoke(main, ["--eutils-url", url, "link"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "must be an http:// or https:// address" in errors[0]


def test_a_lone_surrogate_in_a_python_string_is_read_not_raised():
    """A string decoded with surrogateescape (or built by hand) reaches the readers as U+FFFD."""
    from pnet_pubmed.references import citations_from_texts

    text = ("Yao JC, Shah MH. Everolimus for advanced pancreatic neuroendocrine tumors\udcff. "
            "N Engl J Med. 2011;364(6):514-23.")
    (c,) = citations_from_texts([text] * 1)
    assert c.kind == "article" and c.year == 2011 and c.first_page == "514"
    assert "\ufffd" in c.raw and "\udcff" not in c.raw


def test_a_cache_that_cannot_be_created_is_not_called_deletable(tmp_path):
    """SQLite's "unable to open database file" means two things: a damaged cache (delete it)
    or a folder where no file can be made (/sys, a full disk): the line says which."""
    import sqlite3

    from pnet_pubmed.eutils.cache import cache_error

    err = sqlite3.OperationalError("unable to open database file")
    missing = cache_error(tmp_path / "http_cache.sqlite", err)
    assert "cannot be created" in str(missing) and "delete" not in str(missing)
    assert "--cache" in str(missing)
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"not a database")
    assert "delete it" in str(cache_error(damaged, sqlite3.DatabaseError("file is not a database")))
