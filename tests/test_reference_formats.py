"""Reference files: reading, decoding, format detection, and the structured formats (BibTeX, RIS,
CSL-JSON, MEDLINE) field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pnet_pubmed.references import (
    CitationInputError,
    detect_format,
    parse_references,
    read_references,
)
from pnet_pubmed.values import Name

SEED = Path(__file__).resolve().parent.parent / "pnet_pubmed" / "data" / "references.txt"
STYLES = Path(__file__).resolve().parent / "fixtures" / "styles"


# -- files ---------------------------------------------------------------------------------------
def test_input_errors(tmp_path):
    cases = {
        "missing": None,
        "empty.txt": b"",
        "blank.txt": b"  \n\t\n",
        "binary.pdf": b"%PDF-1.4\x00\x01\x02\x03binary",
        "noref.txt": b"hello\nworld\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(CitationInputError) as err:
            read_references(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(CitationInputError, match="directory"):
        read_references(tmp_path)


def test_encodings(tmp_path):
    line = ("1. M\u00fcller HH, Rinke A (2009). Octreotide LAR in midgut tumors. "
            "J Clin Oncol, 27, 1-2.\n")
    for encoding in ("utf-8", "utf-8-sig", "cp1252", "utf-16"):
        path = tmp_path / f"refs-{encoding}.txt"
        path.write_bytes(line.encode(encoding))
        (c,) = read_references(path)
        assert c.authors[0] == Name("M\u00fcller", "HH"), encoding


def test_non_references_are_kept(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_text("References\n" + SEED.read_text(encoding="utf-8").splitlines()[0]
                    + "\nhttps://example.org\n", encoding="utf-8")
    cs = read_references(path)
    assert [c.kind for c in cs] == ["unparsed", "article", "unparsed"]
    assert cs[2].reason == "unparsed: a URL, not a reference"


def test_detect_format():
    assert detect_format("@article{x, title={T}}") == "bibtex"
    assert detect_format("TY  - JOUR\nTI  - T\nER  - \n") == "ris"
    assert detect_format('[{"title": "T", "container-title": "J"}]') == "csl-json"
    assert detect_format("21306238\n") == "text"
    assert parse_references("21306238\n")[0].kind == "pmid"


# -- structured formats --------------------------------------------------------------------------
def test_bibtex_details():
    text = r"""
@string{jco = "Journal of Clinical Oncology"}
@comment{exported by hand}
@article{yao2011,
  author = {Yao, James C. and {\"O}berg, Kjell and {RADIANT-3 Study Group} and others},
  title = {{Everolimus} for advanced pancreatic neuroendocrine tumors},
  journal = jco, year = 2011, volume = {364}, number = {6}, pages = {514--523},
  doi = {10.1056/NEJMoa1009290}
}
@article{broken, author = {Nobody}, title = {Unclosed
@article{james2010,
  author = {James C. Yao and Marion de Jong},
  title = {A title}, journal = {Cancer}, year = {2010}, volume = {5}, pages = {7}
}
"""
    cs = parse_references(text)
    assert detect_format(text) == "bibtex"
    assert cs[0].authors == (Name("Yao", "JC"), Name("\u00d6berg", "K"))
    assert (cs[0].group, cs[0].et_al) == ("RADIANT-3 Study Group", True)
    assert (cs[0].title, cs[0].journal) == (
        "Everolimus for advanced pancreatic neuroendocrine tumors", "Journal of Clinical Oncology")
    assert (cs[0].year, cs[0].volume, cs[0].issue, cs[0].pages, cs[0].first_page, cs[0].doi) == (
        2011, "364", "6", "514-523", "514", "10.1056/NEJMoa1009290")
    assert cs[-1].authors == (Name("Yao", "JC"), Name("de Jong", "M"))
    assert [c.position for c in cs] == list(range(1, len(cs) + 1))


def test_ris_details():
    text = ("TY  - JOUR\nAU  - Yao, James C.\nAU  - Shah, M.H.\nTI  - Everolimus\n"
            "T2  - The New England Journal of Medicine\nJ2  - N Engl J Med\nPY  - 2011/02/10/\n"
            "VL  - 364\nIS  - 6\nSP  - 514\nEP  - 523\nDO  - 10.1056/NEJMoa1009290\nER  - \n\n"
            "TY  - ABST\nAU  - Kunz, P.L.\nTI  - Capecitabine\nJO  - J Clin Oncol\nPY  - 2010\n"
            "VL  - 28\nSP  - 4104\nER  - \n\n"
            "TY  - JOUR\nTI  - No end tag\nJO  - Gut\nPY  - 2012\n")
    cs = parse_references(text)
    assert [c.kind for c in cs] == ["article", "meeting_abstract", "article"]
    assert cs[0].authors == (Name("Yao", "JC"), Name("Shah", "MH"))
    assert (cs[0].journal, cs[0].year, cs[0].pages) == ("N Engl J Med", 2011, "514-523")
    assert cs[1].abstract_number == "4104" and cs[1].first_page is None
    assert cs[2].title == "No end tag"


def test_csl_json_details():
    item = {"type": "article-journal", "title": "Everolimus",
            "author": [{"family": "Yao", "given": "James C."},
                       {"family": "Jong", "non-dropping-particle": "de", "given": "Marion"},
                       {"literal": "RADIANT-3 Study Group"}],
            "container-title": "The New England Journal of Medicine",
            "issued": {"date-parts": [[2011, 2, 10]]}, "volume": "364", "page": "514-523",
            "PMID": "21306238"}
    (c,) = parse_references(json.dumps(item))
    assert c.authors == (Name("Yao", "JC"), Name("de Jong", "M"))
    assert (c.group, c.year, c.first_page, c.pmid) == ("RADIANT-3 Study Group", 2011, "514",
                                                       "21306238")
    cs = parse_references('["21306238", "10.1056/NEJMoa1009290", 1310159]')
    assert [(c.kind, c.pmid or c.doi) for c in cs] == [
        ("pmid", "21306238"), ("doi", "10.1056/NEJMoa1009290"), ("pmid", "1310159")]


def test_medline_records_carry_their_pmid():
    text = ("PMID- 21306238\nTI  - Everolimus for advanced pancreatic neuroendocrine\n"
            "      tumors.\nLID - 10.1056/NEJMoa1009290 [doi]\nAU  - Yao JC\nAU  - Shah MH\n"
            "TA  - N Engl J Med\nDP  - 2011 Feb 10\nVI  - 364\nIP  - 6\nPG  - 514-23\n\n"
            "PMID- 1310159\nTI  - Streptozocin.\nTA  - N Engl J Med\nDP  - 1992\n")
    cs = parse_references(text)
    assert detect_format(text) == "medline"
    assert [(c.kind, c.pmid) for c in cs] == [("pmid", "21306238"), ("pmid", "1310159")]
    assert cs[0].title == "Everolimus for advanced pancreatic neuroendocrine tumors"
    assert (cs[0].doi, cs[0].first_page) == ("10.1056/NEJMoa1009290", "514")


def test_medline_fields_as_pubmed_exports_them():
    """A PubMed .nbib export: PII before the DOI, DOIs in AID lines, a long author affiliation
    and abstract over continuation lines, tags written without padding, a group author."""
    text = ("PMID- 23985001\nOWN - NLM\nTI  - Diagnosis and treatment of hereditary\n"
            "      hemochromatosis: an update.\nPG  - 517-30\n"
            "LID - S1234-5678(13)00001-2 [pii]\nAB  - Hereditary hemochromatosis is a\n"
            "      common disorder.\nFAU - Kanwar, Pushpjeet\nAU  - Kanwar P\n"
            "AD  - Department of Medicine, a place\n      far away.\nAU - Kowdley KV\n"
            "CN  - The HFE Study Group\nTA  - Expert Rev Gastroenterol Hepatol\n"
            "JT  - Expert review of gastroenterology & hepatology\nDP  - 2013 Aug\n"
            "VI  - 7\nIP  - 6\nAID - 10.1586/17474124.2013.816114 [doi]\n"
            "AID - S1234-5678(13)00001-2 [pii]\nPST - ppublish\n")
    (c,) = parse_references(text)
    assert (c.kind, c.pmid, c.doi) == ("pmid", "23985001", "10.1586/17474124.2013.816114")
    assert c.title == "Diagnosis and treatment of hereditary hemochromatosis: an update"
    assert [a.last for a in c.authors] == ["Kanwar", "Kowdley"]
    assert (c.group, c.journal, c.year, c.volume, c.first_page) == (
        "The HFE Study Group", "Expert Rev Gastroenterol Hepatol", 2013, "7", "517")


def test_format_is_detected_by_content_not_extension(tmp_path):
    for name, source in (("refs.txt", "refs.bib"), ("refs.bib", "refs.ris"),
                         ("refs.dat", "refs.json"), ("refs.json", "vancouver.txt")):
        path = tmp_path / name
        path.write_bytes((STYLES / source).read_bytes())
        cs = read_references(path)
        assert len(cs) == 72 and cs[0].authors[0].last == "Aparicio", (name, source)


def test_pmid_and_doi_list_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("21306238\n\nPMID: 1310159\ndoi:10.1056/NEJMoa1009290\n"
                    "https://doi.org/10.1200/JCO.2007.15.4377\n", encoding="utf-8")
    cs = read_references(path)
    assert [(c.kind, c.pmid or c.doi) for c in cs] == [
        ("pmid", "21306238"), ("pmid", "1310159"), ("doi", "10.1056/NEJMoa1009290"),
        ("doi", "10.1200/JCO.2007.15.4377")]


def test_broken_json_is_an_input_error(tmp_path):
    path = tmp_path / "refs.json"
    path.write_text('[{"title": "x", ', encoding="utf-8")
    with pytest.raises(CitationInputError):
        read_references(path)


def test_structured_supplements_are_articles_unless_an_issue_supplement():
    ris = ("TY  - JOUR\nT1  - COVID-19, Racism, and Public Health Infrastructure.\nAU  - Borrell, "
           "Luisa N\nJF  - American Journal of Public Health\nPY  - 2021///\nVL  - 111\n"
           "IS  - Suppl 3\nSP  - S172\nN1  - PMID: 34709863\nER  - \n")
    (c,) = parse_references(ris)
    assert (c.kind, c.first_page, c.pmid) == ("article", "S172", "34709863")
    bib = ("@article{b, author = {Bahia, Ligia}, title = {Funding in health.}, journal = {Cad "
           "Saude Publica}, year = {2022}, volume = {38Suppl 2}, number = {Suppl 2}, "
           "pages = {e00119722}}")
    (c,) = parse_references(bib)
    assert (c.kind, c.volume, c.first_page) == ("article", "38Suppl 2", "e00119722")
    jco = ('[{"title": "Abstract", "container-title": "J Clin Oncol", "volume": "31", '
           '"issue": "15_suppl", "page": "4030-4030", "issued": {"date-parts": [[2013]]}}]')
    (c,) = parse_references(jco)
    assert (c.kind, c.abstract_number) == ("meeting_abstract", "4030")


def test_bibtex_first_last_names():
    bib = ("@article{a, author = {R. E. {Curiel Cid} and Sara E Boyd and Marion de Jong}, "
           "title = {T}, journal = {Gut}, year = {2020}}")
    (c,) = parse_references(bib)
    assert c.authors == (Name("Curiel Cid", "RE"), Name("Boyd", "SE"), Name("de Jong", "M"))
