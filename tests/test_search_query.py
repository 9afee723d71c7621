"""The search query language, its text fold and its compilation: no database needed."""

from __future__ import annotations

import pytest

from pnet_pubmed.search import SearchError, SearchQueryError, author_key, fold, tokens
from pnet_pubmed.search import query as q
from pnet_pubmed.search.compile import to_fts5, to_tsquery


def test_folding_matches_sqlite_unicode61():
    assert fold("CURAÇAO") == "curacao"
    assert tokens("Öberg's 177Lu-DOTATATE, TGF-β") == ["oberg", "s", "177lu", "dotatate",
                                                          "tgf", "β"]
    assert author_key("Yao J. C.") == author_key("yao jc") == "yao jc"
    assert author_key("Kylänpää") == "kylanpaa"


def test_parse_and_compile():
    node = q.parse_query('"somatostatin analogues" (octreotide OR lanreotide) NOT review*')
    assert to_fts5(node) == (
        '(("somatostatin analogues") AND (("octreotide") OR ("lanreotide"))) NOT (("review"*))'
    )
    assert to_tsquery(node) == (
        "('somatostatin' <-> 'analogues') & (('octreotide') | ('lanreotide')) & (!('review':*))"
    )
    # Lower-case operators are words; punctuation between words is ignored; a hyphenated word
    # is the phrase of its parts, as FTS5 itself reads it.
    assert q.parse_query("not and or") == q.And((q.Term(("not",), column=1),
                                                 q.Term(("and",), column=5),
                                                 q.Term(("or",), column=9)))
    assert to_fts5(q.parse_query("Lu-177 - DOTATATE")) == '("lu 177") AND ("dotatate")'
    assert to_fts5(q.parse_query("“somatostatin analog”*")) == '"somatostatin analog"*'
    assert to_fts5(q.parse_query("NOT NOT a")) == '"a"'


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"somatostatin analogues', "unbalanced quote: the phrase opened at column 1"),
        ("everolimus \"", "unbalanced quote: the phrase opened at column 12"),
        ("NOT", "NOT at column 1 needs a term after it"),
        ("NOT everolimus", "NOT at column 1 must follow what it excludes from"),
        ("sunitinib OR NOT everolimus", "NOT at column 14 must follow"),
        ("everolimus AND", "AND at column 12 needs a term after it, found the end of the query"),
        ("AND everolimus", "AND at column 1 needs a term before it"),
        ("a OR AND b", "OR at column 3 needs a term after it, found AND"),
        ("(everolimus", "the parenthesis opened at column 1 is never closed"),
        ("everolimus)", "unmatched ')' at column 11"),
        ("()", "empty parentheses at column 1"),
        ("( OR a)", "OR at column 3 needs a term before it"),
        ('""', "empty phrase at column 1"),
        ("so*tin", "'*' at column 3 can only end a word"),
        ("*", "'*' at column 1 has no word before it"),
        ("ab*", "prefix 'ab*' at column 1 is too short: give at least 3 letters"),
        ("   ", "the query has no words"),
        ("x" * 1001, "query too long"),
        # Once an IndexError and a RecursionError (issue 10 item 15).
        ("(", "the parenthesis opened at column 1 is never closed"),
        ("a (((", "the parenthesis opened at column 5 is never closed"),
        ("NOT (", "the parenthesis opened at column 5 is never closed"),
        (")", "unmatched ')' at column 1"),
        ("(" * 300 + "a" + ")" * 300, "parentheses nested more than 20 deep at column 21"),
        ("(" * 499 + "a" + ")" * 499, "parentheses nested more than 20 deep"),
        ("(a) " * 200 + "(", "the parenthesis opened at column 801 is never closed"),
    ],
)
def test_malformed_queries(query, message):
    with pytest.raises(SearchQueryError) as err:
        q.parse_query(query)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_deep_but_allowed_queries_parse_without_recursion():
    nested = "(" * 20 + "everolimus OR sunitinib" + ")" * 20
    assert to_fts5(q.parse_query(nested)) == to_fts5(q.parse_query("everolimus OR sunitinib"))
    negations = "x " + "NOT " * 247 + "y"  # an odd count excludes; about the query's limit
    assert to_fts5(q.parse_query(negations)) == to_fts5(q.parse_query("x NOT y"))
    assert to_fts5(q.parse_query(negations.replace("NOT " * 247, "NOT " * 246))) == to_fts5(
        q.parse_query("x y"))


def test_year_ranges():
    assert q.parse_year_range("2009:2015") == (2009, 2015)
    assert q.parse_year_range("2009:") == (2009, None)
    assert q.parse_year_range(":2015") == (None, 2015)
    assert q.parse_year_range("2011") == (2011, 2011)
    for bad in ("20:11", "2015:2009", "soon"):
        with pytest.raises(SearchError):
            q.parse_year_range(bad)
