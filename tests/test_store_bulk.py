"""Saving a long list in bulk: what a rerun leaves alone, and a batch with one outcome, on SQLite
and (with PNET_PUBMED_TEST_PG_URL) PostgreSQL."""

from __future__ import annotations

import time

import sqlalchemy as sa

from pnet_pubmed.store import schema as st
from pnet_pubmed.values import Match
from tests.test_store import by_key, cite


def _written(db_url: str) -> dict[str, object]:
    """updated_at of every reference, by key."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {k: u for k, u in conn.execute(sa.select(st.refs.c.key, st.refs.c.updated_at))}
    finally:
        engine.dispose()


def test_a_rerun_writes_only_the_references_that_changed(store, db_url):
    first = [cite(str(k)) for k in range(1, 8)]
    store.save_citations("review", first)
    store.save_matches("review", [Match("1", "matched", "111", method="ecitmatch", score=0.9),
                                  Match("2", "matched", "222", method="ecitmatch", score=0.8),
                                  Match("3", "not_found", reason="no record fits")])
    before = _written(db_url)
    time.sleep(0.01)
    edited = list(first)
    edited[1] = cite("2", raw="Author2 A. A title that was corrected. J Test. 2011;1:2-9.")
    edited[2] = cite("3", title="Title 3, read another way")
    edited[3] = cite("4", position=40)
    assert store.save_citations("review", edited[:-1]) == 1  # "7" left the list
    after = _written(db_url)
    refs = by_key(store.references("review"))
    assert set(refs) == {"1", "2", "3", "4", "5", "6"}
    assert {k for k in after if after[k] != before[k]} == {"2", "3", "4"}
    assert (refs["1"]["status"], refs["1"]["pmid"]) == ("matched", "111")  # untouched
    assert (refs["2"]["status"], refs["2"]["pmid"]) == ("pending", None)  # its text changed
    assert (refs["3"]["status"], refs["3"]["title"]) == ("not_found", "Title 3, read another way")
    assert refs["4"]["position"] == 40
    # The same list again writes nothing at all.
    store.save_citations("review", edited[:-1])
    assert _written(db_url) == after


def test_a_batch_with_one_outcome_is_stored_as_one_by_one(store):
    keys = [str(k) for k in range(1, 1201)]  # more than one chunk of keys
    store.save_citations("review", [cite(k) for k in keys])
    store.save_matches("review", [Match("5", "matched", "555", method="ecitmatch", score=1.0,
                                        candidates=("555", "556"), notes=("year differs",)),
                                  Match("700", "not_found", reason="no record fits")])
    offline = "offline: answer not in the cache"
    store.save_matches("review", [Match(k, "pending", reason=offline) for k in keys])
    refs = by_key(store.references("review"))
    assert (refs["5"]["status"], refs["5"]["pmid"], refs["5"]["candidates"],
            refs["5"]["notes"]) == ("matched", "555", ["555", "556"], ["year differs"])
    assert (refs["700"]["status"], refs["700"]["reason"]) == ("not_found", "no record fits")
    pending = [refs[k] for k in keys if k not in ("5", "700")]
    assert {(r["status"], r["reason"], r["pmid"], r["method"], r["score"]) for r in pending} == {
        ("pending", offline, None, None, None)}
    assert all(r["candidates"] == [] and r["notes"] == [] for r in pending)
    # One decision for all replaces decisions; the same key twice is saved in order.
    store.save_matches("review", [Match(k, "not_found", reason="gone") for k in ("5", "6")])
    store.save_matches("review", [Match("7", "matched", "1"), Match("7", "matched", "2")])
    refs = by_key(store.references("review"))
    assert (refs["5"]["status"], refs["5"]["pmid"], refs["5"]["candidates"]) == (
        "not_found", None, [])
    assert refs["6"]["reason"] == "gone" and refs["7"]["pmid"] == "2"
    got = {c["name"]: c for c in store.collections()}["review"]
    assert (got["n_pending"], got["n_not_found"], got["n_matched"]) == (1196, 3, 1)
