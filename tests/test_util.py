"""The shared helpers (util.py) and the one list of match statuses every module uses."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pnet_pubmed.cli import refs
from pnet_pubmed.store import Store
from pnet_pubmed.store import schema as t
from pnet_pubmed.util import chunked, first_line, one_line
from pnet_pubmed.values import MATCH_STATUSES, Citation, Match


@pytest.mark.parametrize("n", [0, 1, 7, 10, 11])
@pytest.mark.parametrize("size", [0, 1, 3, 10])
def test_chunked_keeps_every_item_in_order_in_slices_of_size(n, size):
    items = list(range(n))
    parts = list(chunked(items, size))
    assert [x for part in parts for x in part] == items
    assert all(len(part) == max(1, size) for part in parts[:-1])
    assert all(0 < len(part) <= max(1, size) for part in parts)
    assert all(type(part) is list for part in parts)
    assert [bytes(p) for p in chunked(memoryview(b"abcdefg"), 3)] == [b"abc", b"def", b"g"]


def test_first_line_and_one_line():
    assert first_line(ValueError("\n  no such table: refs \n[SQL: SELECT 1]")) == (
        "no such table: refs")
    assert first_line(KeyError()) == "KeyError"
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 300) == "x" * 199 + "…"
    assert one_line("word " * 100, None) == ("word " * 100).strip()


def test_statuses_are_one_list_for_the_cli_and_the_database(tmp_path):
    assert MATCH_STATUSES == ("matched", "ambiguous", "not_found", "pending")
    status = next(p for p in refs.params if p.name == "status")
    assert tuple(status.type.choices) == MATCH_STATUSES
    store = Store(f"sqlite:///{tmp_path}/db.sqlite")
    store.upgrade()  # the schema as the migrations make it, not only as schema.py says
    store.save_citations("c", [Citation(str(i), "x", i) for i in range(1, 6)])
    store.save_matches("c", [Match(str(i), s) for i, s in enumerate(MATCH_STATUSES, 1)])
    assert [r["status"] for r in store.references("c")][:4] == list(MATCH_STATUSES)
    assert "CHECK" in str(sa.schema.CreateTable(t.refs).compile(store.engine))
    with pytest.raises(sa.exc.IntegrityError, match="CHECK constraint failed"), \
            store.engine.begin() as conn:
        conn.execute(sa.update(t.refs).where(t.refs.c.key == "5").values(status="found"))
    store.close()
