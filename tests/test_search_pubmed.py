"""PubMed habits in search, through the CLI on SQLite and PostgreSQL: field tags, Boolean
operators left to right, the number of hits beyond --limit, and --flag."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.flags import article_flags
from pnet_pubmed.pubmed import parse_articles
from pnet_pubmed.search import search, tokens
from pnet_pubmed.search.query import parse_query

from .test_search import (  # noqa: F401  (fixtures)
    CORPUS,
    _expect,
    _fields,
    _has,
    _indexed_store,
    _new_db,
    corpus,
    load,
)

UPDATE_FILE = CORPUS / "modelled" / "update-file.xml"  # a retracted report, notices, an EoC


@pytest.fixture(scope="module")
def records(corpus):  # noqa: F811
    """The corpus and the update file's records (the later copy of a PMID wins)."""
    extra = parse_articles(UPDATE_FILE.read_bytes())
    return tuple({a.pmid: a for a in (*corpus, *extra)}.values())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request, tmp_path_factory, records):
    url, drop = _new_db(request.param, tmp_path_factory.mktemp("pubmed"), request)
    store = _indexed_store(url)
    load(store, records)
    store.close()
    yield url
    drop()


def run(url: str, *args: str):
    result = CliRunner().invoke(main, ["--db", url, "search", *args], catch_exceptions=False)
    return result


def found(url: str, query: str, *args: str) -> set[str]:
    result = run(url, query, "--limit", "1000", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return {h["pmid"] for h in json.loads(result.stdout)}


def _in(a, words: tuple[str, ...], fields: tuple[int, ...]) -> bool:
    """Whether the phrase is in one of the fields (0 title, 1 abstract, 2 MeSH, 3 keywords)."""
    n = len(words)
    return any(toks[i:i + n] == list(words)
               for f, toks in enumerate(_fields(a)) if f in fields
               for i in range(len(toks) - n + 1))


def _authors(a, surname: str, initials: str = "", first_only: bool = False) -> bool:
    people = a.authors[:1] if first_only else a.authors
    return any(" ".join(tokens(p.last_name or "")) == surname
               and "".join(tokens(p.initials or "")).startswith(initials) for p in people)


# -- field tags ----------------------------------------------------------------------------------


def test_text_tags_search_their_fields(db, records):
    word = ("mice",)  # in MeSH (Animals; Mice) of records that say it nowhere else
    everywhere = _expect(records, lambda a: _has(a, word))
    tiab = _expect(records, lambda a: _in(a, word, (0, 1, 3)))
    title = _expect(records, lambda a: _in(a, word, (0,)))
    abstract = _expect(records, lambda a: _in(a, word, (1,)))
    assert title < tiab < everywhere and abstract - title
    assert found(db, "mice") == everywhere
    assert found(db, "mice[tiab]") == found(db, "MICE[Title/Abstract]") == tiab
    assert found(db, "mice[ti]") == title
    assert found(db, "mice[ab]") == abstract
    # The words before a tag are its term, a phrase; a prefix works in a tag too.
    phrase = _expect(records, lambda a: _in(a, ("neuroendocrine", "tumors"), (0,)))
    assert phrase and found(db, "neuroendocrine tumors[ti]") == phrase
    prefix = {a.pmid for a in records
              if any(t.startswith("insulin") for t in _fields(a)[0])}
    assert prefix and found(db, "insulin*[ti]") == prefix


def test_author_tags(db, records):
    yao = _expect(records, lambda a: _authors(a, "yao"))
    yao_jc = _expect(records, lambda a: _authors(a, "yao", "jc"))
    first = _expect(records, lambda a: _authors(a, "yao", first_only=True))
    assert yao_jc and first and first < yao  # some Yao of the corpus is not a first author
    assert found(db, "Yao[au]") == yao
    assert found(db, "Yao JC[au]") == found(db, '"Yao J.C."[au]') == yao_jc
    assert found(db, "Yao[1au]") == first


def test_value_tags(db, records):
    name = "Pancreatic Neoplasms"
    exactly = _expect(records, lambda a: any(h.descriptor == name for h in a.mesh))
    major = _expect(records, lambda a: any(h.descriptor == name and h.is_major_topic
                                           for h in a.mesh))
    assert exactly and major and major < exactly
    assert found(db, f"{name}[mh:noexp]") == found(db, f'"{name.lower()}"[mh:noexp]') == exactly
    assert found(db, f"{name}[majr:noexp]") == major
    rct = _expect(records, lambda a: any(p.name == "Randomized Controlled Trial"
                                         for p in a.publication_types))
    assert rct and found(db, "randomized controlled trial[pt]") == rct
    nejm = _expect(records, lambda a: a.medline_ta == "N Engl J Med")
    assert nejm and found(db, "N Engl J Med[ta]") == nejm
    assert found(db, "2011[dp]") == _expect(records, lambda a: a.year == 2011)
    assert found(db, "2009:2011[dp]") == _expect(records, lambda a: a.year in (2009, 2010, 2011))
    assert found(db, "21306238[pmid]") == {"21306238"}
    doi = next(a for a in records if a.doi and a.doi != a.doi.lower())
    assert found(db, f"{doi.doi.lower()}[doi]") == {doi.pmid}


def test_tags_combine_with_words_and_each_other(db, records):
    reviews = _expect(records, lambda a: any(p.name == "Review" for p in a.publication_types))
    ever = _expect(records, lambda a: _in(a, ("everolimus",), (0, 1, 3)))
    yao = _expect(records, lambda a: _authors(a, "yao"))
    assert found(db, "everolimus[tiab] AND 2011[dp]") == ever & _expect(
        records, lambda a: a.year == 2011)
    mixed = (ever | yao) - reviews
    assert mixed and found(db, "(everolimus[tiab] OR Yao[au]) NOT Review[pt]") == mixed
    years = _expect(records, lambda a: a.year in (2010, 2011))
    first = _expect(records, lambda a: _authors(a, "yao", first_only=True))
    assert first - years and found(db, "Yao[1au] AND 2010:2011[dp]") == first & years
    assert found(db, "(Yao[1au] OR 2011[dp]) AND 2010:2011[dp]") == (first | _expect(
        records, lambda a: a.year == 2011)) & years
    # Ranked by the words; the tags only select.
    hits = run(db, "everolimus AND Yao[au]", "--format", "json")
    rows = json.loads(hits.stdout)
    assert rows and all(r["score"] is not None for r in rows)
    assert {r["pmid"] for r in rows} == _expect(records, lambda a: _has(a, ("everolimus",))) & yao


# -- Boolean operators, left to right ------------------------------------------------------------


def test_operators_combine_left_to_right(db, records):
    def has(word):
        return _expect(records, lambda a: _has(a, (word,)))

    ever, suni, pancreatic = has("everolimus"), has("sunitinib"), has("pancreatic")
    left_to_right = (ever | suni) - pancreatic
    assert left_to_right != ever | (suni - pancreatic)  # the two readings differ here
    assert found(db, "everolimus OR sunitinib NOT pancreatic") == left_to_right
    assert found(db, "everolimus NOT pancreatic OR sunitinib") == (ever - pancreatic) | suni
    # Parentheses still group.
    assert found(db, "everolimus OR (sunitinib NOT pancreatic)") == ever | (suni - pancreatic)
    # The README's example: no review (by its words) is left.
    insulinoma = has("insulinoma") | has("gastrinoma")
    review = {a.pmid for a in records if any(t.startswith("review") for f in _fields(a)
                                             for t in f)}
    assert found(db, "insulinoma OR gastrinoma NOT review*") == insulinoma - review


def test_how_many_hits_beyond_the_limit(db, records):
    everything = _expect(records, lambda a: _has(a, ("patients",)))
    table = run(db, "patients", "--limit", "5")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[-1] == f"5 of {len(everything)} hits"
    hits = search(db, "patients", limit=5)
    assert (len(hits), hits.total, hits.exact) == (5, len(everything), True)
    newest = search(db, None, mesh=["Humans"], limit=2)
    assert newest.total == len(_expect(records, lambda a: any(h.descriptor == "Humans"
                                                              for h in a.mesh)))


def test_flags_filter(db, records):
    flagged = {f: {a.pmid for a in records if any(x.flag == f for x in article_flags(a))}
               for f in ("retracted", "expression_of_concern", "erratum", "updated")}
    assert flagged["retracted"] == {"99000101"} and "23985001" in flagged["expression_of_concern"]
    for flag, pmids in flagged.items():
        result = run(db, "--flag", flag, "--limit", "1000", "--format", "json")
        assert {h["pmid"] for h in json.loads(result.stdout)} == pmids, flag
    sunitinib = _expect(records, lambda a: _has(a, ("sunitinib",)))
    assert found(db, "sunitinib", "--flag", "retracted") == sunitinib & flagged["retracted"]
    assert found(db, "hemochromatosis", "--flag", "erratum", "--flag",
                 "expression_of_concern") == {"23985001"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["everolimus[tiabs]"], "unknown field tag [tiabs] at column 11; known tags: [ti], "
                                "[tiab], [ab], [au], [1au], [mh]"),
        (["[au]"], "field tag [au] at column 1 has no term before it"),
        (["everolimus[ti"], "the field tag opened at column 11 is never closed"),
        (["2011/06[dp]"], "[dp] at column 1: bad year range '2011/06'"),
        (["abc[pmid]"], "[pmid] at column 1: 'abc' is not a PMID"),
        (["Yao*[au]"], "'*' works on words and [ti], [tiab], [ab] terms, not on [au]"),
    ],
)
def test_bad_tags_are_one_line(db, args, message):
    result = run(db, *args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_the_words_before_a_tag_are_its_term():
    node = parse_query("everolimus AND Yao JC[au] sunitinib[tiab]")
    assert [type(c).__name__ for c in node.children] == ["Term", "Field", "Term"]
    assert node.children[1].value == "Yao JC"
    assert node.children[2].fields == ("title", "abstract", "keywords")
    assert tokens("Yao JC") == ["yao", "jc"]
    # Without an operator between them, a word before the tag is part of its term.
    assert parse_query("everolimus Yao[au]").value == "everolimus Yao"
