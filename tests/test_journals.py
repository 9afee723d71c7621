"""Journal knowledge: the shipped table shared read-only, what a run learns kept in its own
Journals, and that knowledge passed explicitly to the parser and the matcher."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from pnet_pubmed.config import Settings
from pnet_pubmed.journals import Journals
from pnet_pubmed.matching import Matcher
from pnet_pubmed.pipeline import link
from pnet_pubmed.references import parse_reference, parse_reference_list

STYLES = Path(__file__).resolve().parent / "fixtures" / "styles"
SEED_EXPECTED = json.loads((STYLES / "seed_expected.json").read_text(encoding="utf-8"))
SHIPPED = Journals.shipped()

IMAGINARY = ("Quarterly Review of Imaginary Studies. Series B", None, "Q Rev Imag Stud Ser B")
REFERENCE = ("Smith J, Jones K. A study of many things in the long run. Quarterly Review of "
             "Imaginary Studies. Series B. 2011;3:1-9.")


def _knowing_the_imaginary_journal() -> Journals:
    journals = Journals()
    journals.learn(*IMAGINARY)
    return journals


# -- the shipped table ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "abbreviation"), [
    ("Journal of Clinical Oncology", "J Clin Oncol"),
    ("J. Clin. Oncol.", "J Clin Oncol"),
    ("J Clin Oncol", "J Clin Oncol"),
    ("The New England Journal of Medicine", "N Engl J Med"),
    ("new england journal of medicine", "N Engl J Med"),
    ("European Journal of Cancer", "Eur J Cancer"),
    ("Best Practice & Research Clinical Endocrinology & Metabolism",
     "Best Pract Res Clin Endocrinol Metab"),
    ("Alimentary Pharmacology and Therapeutics", "Aliment Pharmacol Ther"),
    ("Frontiers in Endocrinology", "Front Endocrinol (Lausanne)"),
    ("HPB", "HPB (Oxford)"),
    ("The Lancet Oncology", "Lancet Oncol"),
    ("Endocrine-Related Cancer", "Endocr Relat Cancer"),
    ("Journal of Unknown Results", None),
    ("", None),
])
def test_journal_abbreviations(name, abbreviation):
    assert SHIPPED.to_nlm_abbreviation(name) == abbreviation


def test_every_seed_journal_is_in_the_table():
    for ref in SEED_EXPECTED.values():
        assert SHIPPED.to_nlm_abbreviation(ref["journal"]) == ref["journal"]


def test_learn_adds_a_journal():
    journals = Journals()
    assert journals.to_nlm_abbreviation("Journal of Imaginary Oncology Research") is None
    journals.learn("Journal of imaginary oncology research : JIOR", "J Imag Oncol Res",
                   "J Imag Oncol Res")
    assert journals.to_nlm_abbreviation("Journal of Imaginary Oncology Research") == (
        "J Imag Oncol Res")
    assert journals.to_nlm_abbreviation("J. Imag. Oncol. Res.") == "J Imag Oncol Res"
    # learned by that instance alone: the shared table and any other instance know nothing of it
    assert SHIPPED.to_nlm_abbreviation("J. Imag. Oncol. Res.") is None
    assert Journals().to_nlm_abbreviation("J. Imag. Oncol. Res.") is None


def test_the_shared_table_cannot_learn():
    with pytest.raises(TypeError, match="read-only"):
        SHIPPED.learn(*IMAGINARY)
    assert SHIPPED.learned == ()
    assert Journals.shipped() is SHIPPED


def test_worker_processes_get_the_same_knowledge():
    """Lists of many entries are read by forked workers: what the run knows goes with them."""
    copy = pickle.loads(pickle.dumps(_knowing_the_imaginary_journal()))
    assert copy.to_nlm_abbreviation("Quarterly Review of Imaginary Studies. Series B") == (
        "Q Rev Imag Stud Ser B")
    assert pickle.loads(pickle.dumps(SHIPPED)) is SHIPPED


# -- passed to the parser and the matcher ---------------------------------------------------------
def test_the_parser_splits_with_the_journals_it_is_given():
    told = parse_reference(REFERENCE, "1", 1, _knowing_the_imaginary_journal())
    assert (told.title, told.journal) == (
        "A study of many things in the long run",
        "Quarterly Review of Imaginary Studies. Series B")
    (listed,) = parse_reference_list(REFERENCE, journals=_knowing_the_imaginary_journal())
    assert listed.journal == told.journal
    # without that knowledge (the shipped table) the journal's first sentence goes to the title
    alone = parse_reference(REFERENCE, "1", 1)
    assert alone.journal == "Series B"


class _Recorder:
    """An E-utilities client that finds nothing and keeps what it was asked."""

    def __init__(self) -> None:
        self.settings = Settings(esearch_batch=8)
        self.lines: list[str] = []
        self.terms: list[str] = []

    def ecitmatch(self, lines):
        self.lines.extend(lines)
        return []

    def esearch(self, term: str, retmax: int = 10000):
        self.terms.append(term)
        return 0, []

    def efetch_records(self, pmids):
        return SimpleNamespace(articles=[], errors=[])


def test_the_matcher_queries_with_the_journals_it_is_given():
    citation = parse_reference(REFERENCE, "1", 1, _knowing_the_imaginary_journal())
    told, alone = _Recorder(), _Recorder()
    Matcher(told, journals=_knowing_the_imaginary_journal()).run([citation])
    Matcher(alone).run([citation])
    assert told.lines and "q rev imag stud ser b|2011|3|1|smith j|" in told.lines[0]
    assert "quarterly review of imaginary studies. series b|2011" in alone.lines[0]
    assert any('"Q Rev Imag Stud Ser B"[ta]' in t for t in told.terms)
    assert not any("Q Rev Imag" in t for t in alone.terms)


def test_a_run_learns_nothing_from_what_it_fetches(eutils, tmp_path):
    """Query text depends on the list alone: a link run adds nothing to the journals it is
    given, so a later batch or run asks exactly what the first asked."""
    journals = Journals()
    summary = link(None, None, Settings.from_env(), journals=journals)
    assert summary.counts.get("matched", 0) > 0
    assert journals.learned == ()
    assert SHIPPED.learned == ()
