"""Linking lists written from the real NCBI records, in every style: no wrong link, ≥ 97% right."""

from __future__ import annotations

import re

import pytest

from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import link
from pnet_pubmed.store import Store
from tests.reflist import STYLES, real_records, style_list

SEED = 0
MIN_RIGHT = 0.97


@pytest.fixture(scope="module")
def records():
    return real_records()


@pytest.mark.parametrize("style", STYLES)
def test_real_record_list_links_right(eutils, tmp_path, records, style):
    text, truth = style_list(records, style, SEED)
    source = tmp_path / f"real-{style}.txt"
    source.write_text(text, encoding="utf-8")
    # NCBI's rate with an API key: the stand-in has no limit, and the test stays quick
    settings = Settings.from_env(requests_per_second=10)
    summary = link(source, "real", settings)
    rows = Store(settings.db_url).references("real")
    # A "References" heading is kept as an unparsed row; it cites nothing.
    rows = [r for r in rows if not (r["kind"] == "unparsed" and not re.search(r"\d", r["raw"]))]
    assert len(rows) == len(truth), "every reference kept, none split or merged"
    wrong = [(r["key"], r["pmid"], t["record"]) for r, t in zip(rows, truth, strict=True)
             if r["pmid"] is not None and r["pmid"] != t["record"]]
    assert not wrong
    right = sum(r["pmid"] == t["record"] for r, t in zip(rows, truth, strict=True))
    missed = [(r["key"], r["status"], r["raw"][:80]) for r, t in zip(rows, truth, strict=True)
              if r["pmid"] != t["record"]]
    assert right >= MIN_RIGHT * len(truth), missed
    assert summary.counts["matched"] == right
