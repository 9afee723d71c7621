"""Shortcuts of the list reader give what the long way gives: each one beside the definition it
stands for."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from pnet_pubmed.references import common, ids, io, names
from pnet_pubmed.references.freetext import fields

FRAGMENTS = [
    "pmid", "PMID: 12345678", "PMCID: PMC123", "pmc", "doi:", "DOI 10.1234/abc.5", "10.", "10.1",
    "https://doi.org/10.1000/x", "http", "www.who.int", "Available from: ", "[cited 2020 Jan 5]",
    "(accessed 5 May 2020)", "Accessed May 5, 2020.", "Epub 2020 Jan", "Epub ahead of print",
    "[Epub ahead of print]", "published online before print", "advance online publication",
    "(in press)", "In Press", "abstract 4030", "Abstr", "meeting abstract no. LB-12",
    "Suppl; abstr 12", "presented at", "Poster session", "oral presentation", "Paper presented",
    "Yao JC", "2011", ";364(6):514-23", ". ", ", ", ": ", "(", ")", "[", "]", " ", "  ", "\t",
    "e", "p", "r", "i", "n", "t", "a", "d", "v",
]


def _strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 8)))
            for _ in range(count)]


@pytest.mark.parametrize("pattern, needs", [
    *fields.NEEDS.items(), (common.PRESENTED, common.PRESENTED_NEEDS)],
    ids=[*(p.pattern[:20] for p in fields.NEEDS), "PRESENTED"])
def test_a_pattern_never_matches_an_ascii_text_without_a_word_it_needs(pattern, needs):
    found = 0
    for text in _strings(hash(pattern.pattern) % 1000, 20_000):
        if pattern.search(text):
            found += 1
            assert common.may_hold(text, *needs), (pattern.pattern, text)
    assert found > 50  # the strings do reach the pattern


def test_non_ascii_text_is_always_searched():
    # re.I matches "ı" (dotless i) and "K" (Kelvin sign) to ASCII letters
    assert fields.PMID_IN_TEXT.search("PMıD: 123") and common.may_hold("PMıD: 123", "pmid")
    assert common.may_hold("\u212aelvin", "nothing")
    assert not common.may_hold("Yao JC. Title. J Test. 2001;1:1.", "pmid")


def test_the_shortcuts_read_a_reference_as_the_patterns_do(monkeypatch):
    texts = [f"Yao JC, Phan A. A title here. J Test. 2001;3:1-9. {s}" for s in _strings(7, 3000)]
    texts += [f"{s} Yao JC. Another title. Lancet 1999, 12: 3-4." for s in _strings(8, 3000)]
    fast = [fields.parse_reference(t, "1", 1) for t in texts]
    monkeypatch.setattr(fields, "NEEDS", {})
    monkeypatch.setattr(common, "may_hold", lambda text, *words: True)
    slow = [fields.parse_reference(t, "1", 1) for t in texts]
    assert fast == slow
    assert {c.kind for c in slow} >= {"article", "meeting_abstract", "epub_ahead"}
    assert any(c.doi for c in slow) and any(c.pmid for c in slow)


def test_the_control_characters_are_unicodes_but_five_spaces():
    controls = {chr(c) for c in range(0x110000)
                if unicodedata.category(chr(c)) == "Cc" and chr(c) not in "\t\n\r\f\v"}
    assert {chr(c) for c in range(0x110000) if io._CONTROL.fullmatch(chr(c))} == controls


def test_a_text_with_many_control_characters_is_refused_and_a_few_are_let_through(tmp_path):
    text = "1. Yao JC. A title. J Test. 2001;1:1.\n" * 20
    assert io.decode((text + "\x07\x1b").encode(), tmp_path / "x") == text + "\x07\x1b"
    with pytest.raises(io.CitationInputError, match="binary"):
        io.decode((text + "\x07\x1b\x85" * (len(text) // 200)).encode(), tmp_path / "x")


def _pmids_the_long_way(text: str):
    found = ids.PMID_SEPARATORS.split(text.strip())
    if len(found) > 1 and all(ids.PMID_LINE.match(i) for i in found) and any(
            len(ids.PMID_SEPARATORS.split(line.strip())) > 1 for line in text.splitlines()):
        return found
    return None


@pytest.mark.parametrize("text", [
    "11334727, 21306238 15888888", " 11334727\n21306238 ", "PMID: 11334727, 21306238",
    "11334727\n21306238", "11334727", "11334727, Yao JC", "Yao JC, 11334727", "", "  ",
    "1. Yao JC. Title. J Test. 2001;1:1.\n2. Phan A. Title. J Test. 2002;2:2.",
    "12345678; 23456789; x", "pmid 1 2 3",
])
def test_pmids_on_a_line_as_before(text):
    got = ids.pmids_on_a_line(text)
    want = _pmids_the_long_way(text)
    assert (got is None) == (want is None)
    if want is not None:
        assert [c.raw for c in got] == want


def test_spaces_as_the_regular_expression_makes_them():
    rng = random.Random(3)
    chars = [chr(c) for c in range(128)] + ["\u00a0", "\u2003", "é", "\u3000", "\x85", "\u200b"]
    for _ in range(50_000):
        text = "".join(rng.choice(chars if rng.random() < 0.3 else " ab .")
                       for _ in range(rng.randint(0, 12)))
        assert common.spaces(text) == common._SPACES.sub(" ", text).strip(), repr(text)


def test_the_name_shape_is_the_one_by_letter_case():
    def by_case(text: str) -> str:
        return "".join("A" if c.isupper() else "a" if c.islower() else c for c in text)

    for c in range(0x110000):
        if not 0xD800 <= c <= 0xDFFF:
            assert names._shape(chr(c) + "x") == by_case(chr(c) + "x")
    assert re.fullmatch(r"A+", names._shape("ØÁŁ"))


@pytest.mark.parametrize("token", [
    "Yao JC", " Yao JC ", "J.A. and Haller", "Smith & Jones", "Anderson J", "Sandy B",
    "UK and Ireland neuroendocrine tumour society", "and Haller", "Haller and", "",
])
def test_an_author_token_splits_at_and_as_before(token):
    parts = [p.strip() for p in re.split(r"(?:^|\s+)(?:and|&)\s+", token)]
    if len(parts) > 1 and not all(not p or names._is_initials(p) or names._name_from_token(p)[0]
                                  for p in parts):
        parts = [token]
    elif len(parts) > 1:
        parts = [p for p in parts if p]
    assert names._split_and(token) == parts


def _endings(seed: int, count: int) -> list[str]:
    """Texts whose ends are the ones _HANGING and _BROKEN_LINK look for, after a long start."""
    rng = random.Random(seed)
    ends = ["et al.", "et  \n al", "pp.", "vol.", "no.", "Article", "article   number",
            ". . .", ".\n.\n.", "…", ",", ";", "-", "—", "(", "doi:", "doi : 10.", "DOI 10.1234",
            "doi=10.12345", "doi", "=", ":", "10.", "10.12", "https://doi.org/10.3389/fendo.2014",
            "http://x.org/" + "a" * 90,
            "10.1016/j.cell." + "1" * 60, "www.who.int", "Sci U S A. 1978;75:1329-33.", "x",
            " " * 70, "\n", "\t", "1", "٣", "  ", "ab"]
    starts = ["", "Yao JC, Phan A. A title here. J Test. 2001;3:1-9.", "a" * 100,
              "word " * 30, " " * 100, "doi" + " " * 60, "Lancet" + "\n" * 50]
    spaces = [" ", "\n", "\t", ""]

    def gap() -> str:  # white space of any length, where the patterns allow it
        return rng.choice(spaces) * rng.choice((0, 1, 2, rng.randint(0, 60)))

    return [rng.choice(starts) + "".join(rng.choice(ends) + gap()
                                         for _ in range(rng.randint(1, 4)))
            for _ in range(count)]


def test_the_ends_of_an_entry_are_found_as_by_searching_all_of_it():
    from pnet_pubmed.references.freetext import entries

    hanging = broken = 0
    for text in _endings(5, 30_000):
        want = entries._HANGING.search(text) is not None
        assert entries._hangs(text) == want, repr(text)
        hanging += want
        want = entries._BROKEN_LINK.search(text) is not None
        assert entries._ends_in_broken_link(text) == want, repr(text)
        broken += want
    assert hanging > 1000 and broken > 1000
