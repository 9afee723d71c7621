"""Issue 10 item 5: one PubMed record that cannot be read costs its reference only.

The stand-in serves the corpus with one record broken inside (a MeSH heading without its
descriptor: the document stays well-formed). That reference gets a reason naming the record,
every other reference links as in a clean run, nothing is retried, and a rerun is free.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pnet_pubmed.config import Settings
from pnet_pubmed.pipeline import BUNDLED_COLLECTION, link
from pnet_pubmed.store import Store
from tests.eutils_standin import StandinServer, default_corpus_files

STABLE = ("key", "status", "pmid", "method", "reason")


def _settings(server: StandinServer, folder: Path) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return Settings(
        db_url=f"sqlite:///{folder}/db.sqlite",
        cache_dir=folder / "cache",
        eutils_url=server.url,
        email="tests@example.org",
        max_backoff=0.05,
        max_attempts=6,
    )


def _rows(settings: Settings, collection: str = BUNDLED_COLLECTION) -> dict[str, dict]:
    return {r["key"]: r for r in Store(settings.db_url).references(collection)}


def _break_record(files: list[Path], pmid: str, folder: Path) -> list[Path]:
    """The corpus with the record of pmid given a MeshHeading that has no DescriptorName."""
    out = []
    for f in files:
        data = f.read_text(encoding="utf-8")
        m = re.search(
            rf"<PubmedArticle>\s*<MedlineCitation[^>]*>\s*<PMID[^>]*>{pmid}</PMID>.*?"
            r"</MedlineCitation>",
            data,
            re.S,
        )
        if m:
            broken = m[0].replace(
                "</MedlineCitation>",
                "<MeshHeadingList><MeshHeading><QualifierName UI='Q000188'>drug therapy"
                "</QualifierName></MeshHeading></MeshHeadingList></MedlineCitation>",
            )
            if "<MeshHeadingList>" in m[0]:
                broken = m[0].replace(
                    "<MeshHeadingList>",
                    "<MeshHeadingList><MeshHeading><QualifierName>x</QualifierName></MeshHeading>",
                    1,
                )
            f = folder / f.name
            f.write_text(data[: m.start()] + broken + data[m.end() :], encoding="utf-8")
        out.append(f)
    assert out != files, f"PMID {pmid} is in no corpus file"
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    with StandinServer(default_corpus_files()) as server:
        settings = _settings(server, tmp_path_factory.mktemp("clean"))
        link(None, None, settings)
        return _rows(settings)


def test_an_unreadable_record_costs_its_reference_only(tmp_path, clean):
    key, pmid = next(
        (k, r["pmid"]) for k, r in clean.items() if r["method"] == "ecitmatch" and r["pmid"]
    )
    files = _break_record(default_corpus_files(), pmid, tmp_path)
    with StandinServer(files) as server:
        settings = _settings(server, tmp_path / "run")
        summary = link(None, None, settings)
        assert summary.stats.retries == 0 and not summary.stats.failures
        rows = _rows(settings)
        broken = rows.pop(key)
        assert broken["status"] == "pending" and broken["pmid"] is None
        assert broken["reason"] == (
            f"PubMed record PMID {pmid} could not be read: a MeshHeading without DescriptorName"
        )
        others = {k: r for k, r in clean.items() if k != key}
        assert {k: [r[s] for s in STABLE] for k, r in rows.items()} == {
            k: [r[s] for s in STABLE] for k, r in others.items()
        }
        assert Store(settings.db_url).article(pmid) is None
        assert summary.counts["matched"] == sum(r["status"] == "matched" for r in others.values())

        # The answer holding the broken record was good, so it was cached: a rerun is free.
        server.reset_log()
        again = link(None, None, settings)
        assert len(server.requests) == 0
        assert again.counts == summary.counts
        assert _rows(settings)[key]["reason"] == broken["reason"]


def test_a_given_pmid_whose_record_cannot_be_read_is_pending_with_the_reason(tmp_path, clean):
    pmids = [r["pmid"] for r in clean.values() if r["pmid"]][:2]
    files = _break_record(default_corpus_files(), pmids[0], tmp_path)
    listing = tmp_path / "pmids.txt"
    listing.write_text("".join(f"PMID: {p}\n" for p in pmids))
    with StandinServer(files) as server:
        settings = _settings(server, tmp_path / "run")
        link(listing, "given", settings)
    rows = list(_rows(settings, "given").values())
    assert [(r["status"], r["pmid"]) for r in rows] == [("pending", None), ("matched", pmids[1])]
    assert rows[0]["reason"].startswith(f"PubMed record PMID {pmids[0]} could not be read: ")
