"""`link` against the mirror: the same outcomes as through E-utilities, without asking NCBI.

The mirror holds the stand-in server's corpus (loaded from baseline files written from the
same records), so both paths see the same PubMed; every list is linked both ways and the
outcomes compared reference by reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pnet_pubmed import matching
from pnet_pubmed.cli import main
from pnet_pubmed.mirror import match as mirror_match
from pnet_pubmed.mirror.match import MirrorIndex
from pnet_pubmed.pipeline import bundled_list
from pnet_pubmed.references import read_references
from pnet_pubmed.store import Store
from tests.baseline_files import corpus_records, write_file
from tests.eutils_standin.corpus import load_corpus
from tests.eutils_standin.ecitmatch import match_citation
from tests.reflist import real_records, style_list

STYLES = Path(__file__).parent / "fixtures" / "styles"
RECORDS = corpus_records()


def run(db_url: str, *args: str, ok: bool = True):
    result = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def load_mirror(db_url: str, folder: Path, records=RECORDS) -> None:
    half = len(records) // 2
    write_file(folder / "pubmed25n0001.xml.gz", [r for _, r in records[:half]])
    write_file(folder / "pubmed25n0002.xml.gz", [r for _, r in records[half:]])
    run(db_url, "mirror", "load", "--jobs", "0", str(folder))


def outcomes(db_url: str, collection: str) -> dict[str, tuple]:
    store = Store(db_url)
    rows = store.references(collection)
    store.close()
    return {r["key"]: (r["status"], r["pmid"], tuple(r["candidates"]), r["method"], r["score"],
                       r["reason"], tuple(r["notes"])) for r in rows}


def real_list(tmp_path: Path, style: str = "vancouver", seed: int = 0) -> Path:
    text, _ = style_list(real_records(), style, seed)
    path = tmp_path / f"real-{style}-{seed}.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mirror_db(db_url, tmp_path):
    load_mirror(db_url, tmp_path / "nlm")
    return db_url


LISTS = ["bundled", "vancouver.txt", "apa.txt", "refs.ris", "real-vancouver", "real-harvard"]


@pytest.mark.parametrize("which", LISTS)
def test_the_mirror_links_as_eutils_does(eutils, mirror_db, tmp_path, which, monkeypatch):
    if which == "bundled":
        source = bundled_list()
    elif which.startswith("real-"):
        source = real_list(tmp_path, which.split("-", 1)[1])
    else:
        source = STYLES / which
    eutils_db = f"sqlite:///{tmp_path / 'eutils.sqlite'}"
    run(eutils_db, "link", str(source), "-c", "list", "--source", "eutils")
    assert eutils.requests, "the E-utilities path asked the stand-in"
    eutils.reset_log()
    # The mirror path asks nothing, so it needs no contact address either.
    monkeypatch.delenv("NCBI_EMAIL")
    result = run(mirror_db, "link", str(source), "-c", "list", "--source", "mirror")
    assert "HTTP requests sent: 0" in result.output
    assert eutils.requests == []
    expected, got = outcomes(eutils_db, "list"), outcomes(mirror_db, "list")
    assert got == expected
    assert sum(o[0] == "matched" for o in got.values()) >= 65  # a list that links


def test_auto_asks_ncbi_only_for_what_the_mirror_lacks(eutils, db_url, tmp_path):
    source = real_list(tmp_path)
    eutils_db = f"sqlite:///{tmp_path / 'eutils.sqlite'}"
    run(eutils_db, "link", str(source), "-c", "list", "--source", "eutils")
    expected = outcomes(eutils_db, "list")
    matched = sorted({o[1] for o in expected.values() if o[0] == "matched"})
    lacking = set(matched[::5])  # a mirror without a fifth of the cited records
    load_mirror(db_url, tmp_path / "nlm", [(p, r) for p, r in RECORDS if p not in lacking])
    eutils.reset_log()
    run(db_url, "link", str(source), "-c", "list")  # --source auto
    assert outcomes(db_url, "list") == expected
    fetched = {p for r in eutils.requests if r.endpoint.startswith("efetch")
               for p in r.params.get("id", "").split(",") if p}
    assert lacking <= fetched
    assert not fetched & (set(matched) - lacking), "records the mirror has are never fetched"
    # Those NCBI gave are stored for the references, like any linked record.
    store = Store(db_url)
    assert {a.pmid for a in store.articles(sorted(lacking))} == lacking
    store.close()


def test_auto_without_a_mirror_and_eutils_with_one_use_ncbi(eutils, mirror_db, tmp_path):
    plain = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    run(plain, "link")
    assert eutils.requests
    eutils.reset_log()
    data = json.loads(run(mirror_db, "link", "--source", "eutils", "--json").output)
    # The E-utilities path ran (its answers come from the HTTP cache the first run filled).
    assert data["requests_sent"] + data["from_cache"] >= 3
    assert outcomes(mirror_db, "pnet-review-2015") == outcomes(plain, "pnet-review-2015")


def test_source_mirror_without_a_mirror_is_one_line(eutils, tmp_path):
    result = run(f"sqlite:///{tmp_path / 'empty.sqlite'}", "link", "--source", "mirror",
                 ok=False)
    assert result.exit_code == 1
    assert "the database holds no mirror" in result.output
    assert "Traceback" not in result.output and eutils.requests == []


def test_a_rerun_against_the_mirror_keeps_every_outcome(eutils, mirror_db):
    run(mirror_db, "link", "--source", "mirror")
    first = outcomes(mirror_db, "pnet-review-2015")
    run(mirror_db, "link", "--source", "mirror")
    assert outcomes(mirror_db, "pnet-review-2015") == first
    assert eutils.requests == []


# -- the look-ups themselves ----------------------------------------------------------------------


def _citations(tmp_path: Path):
    out = []
    for source in (bundled_list(), STYLES / "vancouver.txt", STYLES / "apa.txt",
                   real_list(tmp_path), real_list(tmp_path, "ama", 1)):
        out += read_references(source)
    return out


def test_ecitmatch_lookups_answer_as_the_stand_in(mirror_db, tmp_path):
    """Every ECitMatch line the matcher writes gets the stand-in's (NCBI's) answer."""
    corpus = load_corpus()
    lines = []
    for i, c in enumerate(_citations(tmp_path)):
        for j, reading in enumerate(c.readings):
            line = matching.ecitmatch_line(reading, f"r{i}.{j}")
            if line:
                lines.append(line)
    assert len(lines) > 500
    index = MirrorIndex(Store(mirror_db))
    with index.session():
        answers = index.ecitmatch(lines)
    expected = [f"{line}{match_citation(corpus, line)}\n" for line in lines]
    assert answers == expected
    assert sum(a.rsplit("|", 1)[1].strip().isdigit() for a in answers) > 400


def test_candidates_hold_every_record_the_citation_query_accepts(mirror_db, tmp_path):
    """The pool of a citation is complete: nothing answers_query accepts is missed."""
    store = Store(mirror_db)
    articles = store.articles([p for p, _ in RECORDS])
    index = MirrorIndex(store)
    checked = 0
    with index.session():
        for c in _citations(tmp_path):
            found = index.candidates(c)
            assert found is not None
            accepted = {a.pmid for a in articles if matching.answers_query(c, a)}
            assert accepted <= found, c.raw
            checked += bool(accepted)
    assert checked > 500
    store.close()


def test_a_citation_whose_query_goes_broad_gets_no_candidates(mirror_db, monkeypatch):
    store = Store(mirror_db)
    (citation,) = [c for c in read_references(bundled_list()) if c.key == "1"]
    index = MirrorIndex(store)
    with index.session():
        found = index.candidates(citation)
        assert found
        monkeypatch.setattr(mirror_match, "MAX_CANDIDATES", len(found) - 1)
        assert index.candidates(citation) is None
    store.close()


def test_link_json_counts_come_from_the_mirror(eutils, mirror_db):
    result = run(mirror_db, "link", "--source", "mirror", "--json")
    data = json.loads(result.output)
    assert data["requests_sent"] == 0 and data["matched"] == 65


def test_offline_auto_keeps_the_mirror_matches_and_leaves_the_rest_pending(eutils, db_url,
                                                                         tmp_path):
    lacking = {p for p, _ in RECORDS[:20]}
    load_mirror(db_url, tmp_path / "nlm", [(p, r) for p, r in RECORDS if p not in lacking])
    run(db_url, "link", "--offline")  # an empty HTTP cache: NCBI's part cannot be answered
    assert eutils.requests == []
    got = outcomes(db_url, "pnet-review-2015")
    plain = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    run(plain, "link", "--source", "eutils")
    expected = outcomes(plain, "pnet-review-2015")
    for key, outcome in got.items():
        if outcome[0] == "matched":
            assert outcome == expected[key]
        else:
            assert outcome[0] == "pending" and outcome[5].startswith("offline")
    assert any(o[0] == "pending" for o in got.values())
    assert sum(o[0] == "matched" for o in got.values()) >= 40


def test_a_printed_pmid_the_mirror_lacks_is_checked_with_ncbi(eutils, db_url, tmp_path):
    import random

    from tests.reflist import citable, vancouver

    records = [a for a in real_records() if citable(a)]
    cited, printed = records[0], records[1]
    text = vancouver(cited, random.Random(1)).rstrip() + f" PMID: {printed.pmid}.\n"
    source = tmp_path / "printed.txt"
    source.write_text(text, encoding="utf-8")
    load_mirror(db_url, tmp_path / "nlm", [(p, r) for p, r in RECORDS if p != printed.pmid])
    eutils_db = f"sqlite:///{tmp_path / 'eutils.sqlite'}"
    run(eutils_db, "link", str(source), "-c", "one", "--source", "eutils")
    data = json.loads(run(db_url, "link", str(source), "-c", "one", "--json").output)
    assert outcomes(db_url, "one") == outcomes(eutils_db, "one")
    (outcome,) = outcomes(db_url, "one").values()
    assert printed.pmid in (outcome[5] or "") + " ".join(outcome[2])
    # NCBI was asked (its answers come from the cache the E-utilities run filled).
    assert data["requests_sent"] + data["from_cache"] >= 1
