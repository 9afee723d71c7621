"""ESearch answers read on lxml's public API: the same count and ids as Bio.Entrez's reading of
NCBI's own answers, no network for a DTD, and every malformed answer a BadAnswer."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import Bio.Entrez.Parser
import pytest
from Bio import Entrez

from pnet_pubmed.eutils import BadAnswer
from pnet_pubmed.eutils.answers import validate_esearch
from tests.eutils_standin.formats import BACKEND_FAILED, esearch_error_xml, esearch_xml

SAMPLES = sorted((Path(__file__).parent / "fixtures" / "ncbi-samples").glob("esearch*.xml"))
HEAD = '<?xml version="1.0" encoding="UTF-8" ?>\n'


def _stand_in_answers() -> list[bytes]:
    plain = esearch_xml(count=3, retstart=0, ids=["1", "22", "333"], translation="x[ti]")
    empty = esearch_xml(count=0, retstart=0, ids=[], translation="x[ti]",
                        phrases_not_found=["qqq"], quoted_not_found=["r s"])
    history = esearch_xml(count=5000, retstart=0, ids=[str(n) for n in range(10, 60)],
                          translation="cancer", query_key=1, webenv="MCID_1",
                          output_messages=["too many"])
    return [a.encode() for a in (plain, empty, history)]


@pytest.mark.parametrize("body", [p.read_bytes() for p in SAMPLES] + _stand_in_answers())
def test_count_and_ids_equal_bio_entrez(body):
    reference = Entrez.read(io.BytesIO(body), validate=True)
    answer = validate_esearch(body)
    assert answer.count == int(reference["Count"])
    assert list(answer.ids) == [str(i) for i in reference["IdList"]]
    assert answer.ids or answer.count == 0


def test_samples_are_real_answers():
    assert len(SAMPLES) >= 3 and sum(len(validate_esearch(p.read_bytes()).ids)
                                    for p in SAMPLES) > 100


def test_a_dtd_biopython_lacks_costs_no_request(monkeypatch):
    calls: list[str] = []

    def cut(*args, **kwargs):
        calls.append(repr(args)[:80])
        raise OSError("network cut off in this test")

    monkeypatch.setattr(Bio.Entrez.Parser, "urlopen", cut)
    monkeypatch.setattr(socket.socket, "connect", cut)
    body = (HEAD + '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 29990101//EN" '
            '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/29990101/esearch_29990101.dtd">\n'
            "<eSearchResult><Count>2</Count><IdList><Id>7</Id><Id>8</Id></IdList>"
            "</eSearchResult>").encode()
    assert validate_esearch(body).ids == ("7", "8")
    assert calls == []
    with pytest.raises(RuntimeError):  # what the reference reader does with the same answer
        Entrez.read(io.BytesIO(body), validate=False)
    assert calls  # ... after trying to download the DTD


@pytest.mark.parametrize("body, message", [
    (b"", "HTML page or nothing"),
    (b"<!DOCTYPE html><html><body>Service unavailable</body></html>", "HTML page"),
    (esearch_xml(count=3, retstart=0, ids=["1", "2", "3"], translation="x")[:-40].encode(),
     "not valid XML"),
    (esearch_error_xml(BACKEND_FAILED).encode(), "ESearch error: Search Backend failed"),
    ((HEAD + "<eSearchResult><Count>1</Count></eSearchResult>").encode(), "no IdList"),
    ((HEAD + "<eSearchResult><Count>1</Count><IdList><Id>12a</Id></IdList>"
      "</eSearchResult>").encode(), "not a number"),
    ((HEAD + "<eSearchResult><Count>many</Count><IdList><Id>12</Id></IdList>"
      "</eSearchResult>").encode(), "not a number"),
    # An entity is never expanded: the id it would have given is empty, and so refused.
    ((HEAD + '<!DOCTYPE eSearchResult [<!ENTITY n "12">]><eSearchResult><Count>1</Count>'
      "<IdList><Id>&n;</Id></IdList></eSearchResult>").encode(), "not a number"),
])
def test_unusable_answers_are_bad_answers(body, message):
    with pytest.raises(BadAnswer, match=message):
        validate_esearch(body)
