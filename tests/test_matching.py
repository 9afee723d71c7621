"""Verification and query building, on hand-made citations and records (pure, no server)."""

from __future__ import annotations

from pnet_pubmed.matching import decide, ecitmatch_line, fallback_query, verify
from pnet_pubmed.matching.fields import first_page, fold
from pnet_pubmed.matching.queries import combine_queries, title_words
from pnet_pubmed.matching.verify import title_similarity
from pnet_pubmed.values import Article, Author, Citation, Name


def cite(**kw) -> Citation:
    base = dict(
        key="1",
        raw="…",
        authors=(Name("Yao", "JC"), Name("Shah", "MH")),
        et_al=True,
        year=2011,
        title="Everolimus for advanced pancreatic neuroendocrine tumors.",
        journal="N Engl J Med",
        volume="364",
        pages="514-23",
        first_page="514",
    )
    base.update(kw)
    return Citation(**base)


def record(pmid="111", **kw) -> Article:
    base = dict(
        pmid=pmid,
        title="Everolimus for advanced pancreatic neuroendocrine tumors.",
        journal_title="The New England journal of medicine",
        iso_abbreviation="N Engl J Med",
        medline_ta="N Engl J Med",
        year=2011,
        volume="364",
        issue="6",
        pages="514-23",
        start_page="514",
        authors=(Author(last_name="Yao", initials="JC"), Author(last_name="Shah", initials="MH")),
    )
    base.update(kw)
    return Article(**base)


def test_fold_removes_case_diacritics_and_punctuation():
    assert fold("Öberg, K.") == "oberg k"
    assert fold("Fjällskog ML") == "fjallskog ml"
    assert fold("[(90)Y-DOTA]-TOC") == "90 y dota toc"


def test_first_page_handles_ranges_and_locators():
    assert first_page("1014-9") == "1014"
    assert first_page("e1234") == "e1234"
    assert first_page(None) is None


def test_the_same_paper_is_accepted():
    v = verify(cite(), record())
    assert v.accepted and v.score > 0.95 and not v.conflicts


def test_another_paper_by_the_same_authors_in_the_same_journal_is_rejected():
    other = record(title="Sunitinib malate for the treatment of pancreatic neuroendocrine tumors.",
                   start_page="501", pages="501-13")
    v = verify(cite(), other)
    assert not v.accepted
    assert any("first page" in c for c in v.conflicts)


def test_same_title_other_volume_is_rejected():
    assert not verify(cite(), record(volume="365")).accepted


def test_year_off_by_one_is_forgiven_when_the_rest_agrees():
    assert verify(cite(year=2012), record()).accepted


def test_year_far_off_is_rejected_without_coordinates():
    v = verify(cite(year=2005, volume=None, pages=None, first_page=None), record())
    assert not v.accepted


def test_heading_before_title_does_not_hide_the_title():
    c = cite(title="Neuroendocrine tumors. peptide receptor radionuclide therapy.")
    r = record(title="Peptide receptor radionuclide therapy.")
    assert title_similarity(c, r) > 0.95
    assert verify(c, r).accepted


def test_diacritics_in_names_match():
    c = cite(authors=(Name("Oberg", "K"),))
    r = record(authors=(Author(last_name="Öberg", initials="K"),))
    assert verify(c, r).parts["author"] == 1.0


def test_meeting_abstract_is_not_linked_to_the_later_full_paper():
    abstract = cite(kind="meeting_abstract", year=2013, volume="31", pages=None, first_page=None,
                    abstract_number="4030", journal="J Clin Oncol",
                    title="Multicenter phase II trial of temsirolimus and bevacizumab in "
                          "pancreatic neuroendocrine tumor.")
    paper = record(title="Multicenter Phase II Trial of Temsirolimus and Bevacizumab in Pancreatic "
                         "Neuroendocrine Tumors.", year=2015, volume="33", start_page="1551",
                   pages="1551-6", iso_abbreviation="J Clin Oncol", medline_ta="J Clin Oncol")
    m = decide(abstract, [paper], "esearch")
    assert m.status == "not_found" and m.pmid is None
    assert "meeting abstract" in m.reason and paper.pmid in m.reason


def test_meeting_abstract_rejected_even_in_another_journal_with_the_same_title():
    abstract = cite(kind="meeting_abstract", year=2010, volume="28", pages=None, first_page=None,
                    journal="J Clin Oncol")
    paper = record(year=2011)  # same title, other journal and year
    assert decide(abstract, [paper], "esearch").status == "not_found"


def test_two_equal_records_are_ambiguous():
    m = decide(cite(), [record("111"), record("222")], "esearch")
    assert m.status == "ambiguous"
    assert set(m.candidates) == {"111", "222"}


def test_best_of_several_is_matched():
    near = record("222", title="Everolimus for advanced pancreatic tumors: a review.",
                  start_page="9", pages="9-20")
    m = decide(cite(), [near, record("111")], "esearch")
    assert (m.status, m.pmid) == ("matched", "111")


def test_garbled_title_is_forgiven_only_with_all_coordinates():
    c = cite(title="Everolimus in pancreatic tumours, the RADIANT-3 trial.")
    assert verify(c, record()).accepted
    assert not verify(c.__class__(**{**c.__dict__, "first_page": None, "pages": None}),
                      record()).accepted


def test_doi_equality_stands_in_for_the_title():
    c = cite(kind="doi", title=None, authors=(), year=None, journal=None, volume=None,
             pages=None, first_page=None, doi="10.1056/NEJMoa1009290")
    assert verify(c, record(doi="10.1056/nejmoa1009290")).accepted
    assert not verify(c, record(doi="10.1056/other")).accepted


def test_ecitmatch_line_has_six_fields_and_the_tag():
    line = ecitmatch_line(cite(), "r7")
    assert line == "n engl j med|2011|364|514|yao jc|r7|"
    assert ecitmatch_line(cite(kind="meeting_abstract", pages=None, first_page=None), "x") is None
    assert ecitmatch_line(cite(journal=None), "x") is None


def test_fallback_query_uses_field_tags():
    q = fallback_query(cite())
    assert '"yao j"[1au]' in q and "2010:2012[dp]" in q and '"N Engl J Med"[ta]' in q
    assert "everolimus[ti]" in q and "364[vi]" in q and "514[pg]" in q
    assert fallback_query(cite(kind="unparsed")) is None


def test_title_words_skip_stopwords_and_keep_order():
    words = title_words("The role of everolimus in advanced pancreatic neuroendocrine tumors")
    assert "the" not in words and "role" in words
    assert words == sorted(words, key=["role", "everolimus", "advanced", "pancreatic",
                                       "neuroendocrine", "tumors"].index)


def test_combine_queries_groups_by_size():
    combined = combine_queries([f"q{i}[ti]" for i in range(5)], 2)
    assert combined == ["(q0[ti]) OR (q1[ti])", "(q2[ti]) OR (q3[ti])", "(q4[ti])"]


def test_supplement_volumes_compare_by_their_number():
    c = cite(volume="82", pages="67-70", first_page="67")
    r = record(volume="82 Suppl 3", start_page="67", pages="67-70")
    assert verify(c, r).accepted
    assert verify(c, record(volume="82Suppl 3", start_page="67", pages="67-70")).accepted
    assert not verify(c, record(volume="83 Suppl 3", start_page="67", pages="67-70")).accepted


class _FakeClient:
    """ESearch only: counts per query, one of them broad, as when PubMed drops a term."""

    def __init__(self, broad: str):
        from pnet_pubmed.config import Settings

        self.settings = Settings(esearch_batch=8)
        self.broad = broad
        self.terms: list[str] = []

    def esearch(self, term: str, retmax: int = 10000):
        self.terms.append(term)
        if self.broad in term:
            return 50000, [str(i) for i in range(1, retmax + 1)]
        return 1, [str(10**7 + len(self.terms))]


def test_a_broad_query_is_isolated_and_left_out():
    from pnet_pubmed.matching import Matcher

    citations = [cite(key=str(i), title=f"Unusual word{i} tumour study trial") for i in range(8)]
    client = _FakeClient("word5")
    found = Matcher(client).search(citations)
    assert len(found) < 20  # the 50000-hit query contributed nothing
    assert len(client.terms) <= 1 + 2 * 3  # halving: at most log2(8) levels of two requests
    assert any("word5" in t and t.count("[1au]") == 1 for t in client.terms)
