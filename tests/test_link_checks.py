"""What linking checks beyond a good fit: notices are not the article, printed identifiers must
agree with the text, weak evidence is no match, talks are not papers, and differences are noted."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import link
from pnet_pubmed.store import Store
from tests.eutils_standin import default_corpus_files
from tests.eutils_standin.corpus import MODELLED

UPDATE_FILE = MODELLED.parent / "update-file.xml"  # an article, its retraction notice, …

RETRACTED = ("Okafor N, Lindqvist E. Sunitinib and somatostatin analogues in well-differentiated "
             "pancreatic neuroendocrine tumours: a randomised trial. J Clin Oncol. "
             "2015;33(12):1313-20.")
KANWAR = ("Kanwar P, Kowdley KV. Diagnosis and treatment of hereditary hemochromatosis: an "
          "update. Expert Rev Gastroenterol Hepatol. 2013;7(6):517-30.")


def _link(tmp_path, lines: list[str], name: str = "checks"):
    source = tmp_path / f"{name}.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings.from_env()
    link(source, name, settings)
    return {r["key"]: r for r in Store(settings.db_url).references(name)}


def test_a_reference_links_to_the_article_not_its_retraction_notice(tmp_path, make_eutils):
    make_eutils([*default_corpus_files(), UPDATE_FILE])
    rows = _link(tmp_path, [f"1. {RETRACTED}", f"2. {KANWAR}"])
    assert (rows["1"]["status"], rows["1"]["pmid"]) == ("matched", "99000101")
    # the expression of concern repeats the title after "Expression of concern:"
    assert (rows["2"]["status"], rows["2"]["pmid"]) == ("matched", "23985001")


def test_a_notice_alone_is_never_linked(tmp_path, make_eutils):
    # Only the notice and the erratum are served: the article itself is not there.
    text = UPDATE_FILE.read_text(encoding="utf-8")
    head, _, rest = text.partition("<PubmedArticle>")
    records = ["<PubmedArticle>" + r for r in rest.split("<PubmedArticle>")]
    kept = [r for r in records if not r.split("</PMID>")[0].endswith(">99000101")]
    only_notices = tmp_path / "notices.xml"
    body = "".join(kept)
    if "</PubmedArticleSet>" not in body:
        body += "</PubmedArticleSet>"
    only_notices.write_text(head + body, encoding="utf-8")
    make_eutils([only_notices])
    rows = _link(tmp_path, [f"1. {RETRACTED}"])
    assert rows["1"]["status"] == "not_found"
    assert "retraction notice" in rows["1"]["reason"]


def test_a_printed_pmid_that_fits_is_used(tmp_path, eutils):
    rows = _link(tmp_path, [f"1. {KANWAR} PMID: 23985001."])
    assert (rows["1"]["status"], rows["1"]["pmid"]) == ("matched", "23985001")


def test_a_printed_pmid_of_another_work_links_to_neither(tmp_path, eutils):
    # A real PMID (of the 3-phenylpropionic acid paper) printed under Kanwar's title.
    rows = _link(tmp_path, [f"1. {KANWAR} PMID: 2345678."])
    row = rows["1"]
    assert row["status"] in ("ambiguous", "not_found") and row["pmid"] is None
    assert "the printed PMID 2345678 is PMID 2345678, another work" in row["reason"]
    assert "PMID 23985001 fits" in row["reason"] and row["candidates"] == ["23985001", "2345678"]


def test_a_printed_doi_of_another_work_links_to_neither(tmp_path, eutils):
    rows = _link(tmp_path, [f"1. {KANWAR} doi:10.1203/00006450-199005000-00017"])
    row = rows["1"]
    assert row["status"] == "ambiguous" and row["pmid"] is None
    assert "printed DOI 10.1203/00006450-199005000-00017" in row["reason"]


def test_a_printed_pmid_without_a_record_is_noted(tmp_path, eutils):
    rows = _link(tmp_path, [f"1. {KANWAR} PMID: 99999.", "2. " + KANWAR.replace("2013", "2012")])
    assert rows["1"]["status"] == "matched"
    assert "the printed PMID 99999 has no PubMed record" in rows["1"]["notes"]


def test_differences_from_the_record_are_notes(tmp_path, eutils):
    cited = ("Kanwar P, Kowdly KV. Diagnosis and treatment of hereditary hemochromatosis: an "
             "update. Expert Rev Gastroenterol Hepatol. 2014;7(6):517-35.")
    rows = _link(tmp_path, [f"1. {cited}", f"2. {KANWAR}"])
    notes = rows["1"]["notes"]
    assert rows["1"]["pmid"] == "23985001"
    assert "year 2014 in the reference, 2013 in the record" in notes
    assert "pages 517-35 in the reference, 517-30 in the record" in notes
    assert rows["2"]["notes"] == []  # the exact reference has none
    out = CliRunner().invoke(main, ["refs", "--collection", "checks", "--format", "jsonl"])
    first = json.loads(out.output.splitlines()[0])
    assert first["notes"] == notes
    csv_out = CliRunner().invoke(main, ["refs", "--collection", "checks", "--format", "csv"])
    assert "year 2014 in the reference, 2013 in the record; pages" in csv_out.output


def test_weak_evidence_is_not_a_match(tmp_path, eutils):
    # No author and no year: title and journal alone do not make a link.
    rows = _link(tmp_path, ["1. Diagnosis and treatment of hereditary hemochromatosis: an update. "
                            "Expert Rev Gastroenterol Hepatol."])
    assert rows["1"]["status"] != "matched"


def test_a_talk_is_not_linked_to_the_later_paper(tmp_path, eutils):
    talk = ("1. Hobday TJ, Qin R, Moore MJ, et al. Multicenter phase II trial of temsirolimus "
            "(TEM) and bevacizumab (BEV) in pancreatic neuroendocrine tumor (PNET). Paper "
            "presented at: ASCO Annual Meeting; 2013; Chicago, IL.")
    rows = _link(tmp_path, [talk])
    assert rows["1"]["status"] == "not_found"
    assert rows["1"]["reason"].startswith("meeting abstract")


def test_a_reference_ending_in_a_url_does_not_swallow_the_next(tmp_path, eutils):
    rows = _link(tmp_path, [
        "World Health Organization. Global tuberculosis report 2019. Geneva: WHO; 2019. "
        "Available from: https://www.who.int/tb/publications/global_report/en/",
        KANWAR,
        "National Cancer Institute. Pancreatic cancer treatment. "
        "https://www.cancer.gov/types/pancreatic",
        "Greenlund IM, Carter JR. Sympathetic neural responses to sleep disorders and "
        "insufficiencies. Am J Physiol Heart Circ Physiol. 2022;322(3):H337-H349.",
    ])
    assert len(rows) == 4
    assert rows["2"]["pmid"] == "23985001" and rows["4"]["pmid"] == "34995163"
    assert rows["1"]["status"] != "matched" and rows["3"]["status"] != "matched"
