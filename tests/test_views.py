"""The views reference_links and article_mesh on a linked collection, and docs/schema.md."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest
import sqlalchemy as sa

from pnet_pubmed.pipeline import bundled_list, unique_keys
from pnet_pubmed.references import read_references
from pnet_pubmed.store import Store
from tests.linked_db import BACKENDS, COLLECTION, database_url, link_bundled
from tests.test_link_e2e import EXPECTED, expected_pmids, modelled_records
from tools import schema_doc

REFERENCE_LINKS_COLUMNS = [
    "collection", "key", "position", "raw", "status", "reason", "pmid", "title", "year",
    "journal", "doi",
]  # fmt: skip
ARTICLE_MESH_COLUMNS = [
    "pmid", "descriptor", "descriptor_ui", "major_topic", "qualifier", "qualifier_ui",
]  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def linked_url(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"views-{request.param}")
    with database_url(request.param, folder) as url:
        summary = link_bundled(url, folder)
        assert (summary.counts["matched"], summary.counts["not_found"]) == (65, 7)
        yield url


def query(url: str, sql: str, **params) -> tuple[list[str], list[dict]]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result.keys()), [dict(m) for m in result.mappings()]
    finally:
        store.close()


# -- what the views should say, from the reviewed expectations and the modelled records ---------


def _text(element: ET.Element | None) -> str | None:
    return "".join(element.itertext()).strip() if element is not None else None


def _doi(record: ET.Element) -> str | None:
    for path in (".//ArticleId[@IdType='doi']", ".//ELocationID[@EIdType='doi']"):
        found = record.find(path)
        if found is not None:
            return found.text
    return None


def expected_reference_links() -> dict[str, dict]:
    records = modelled_records()
    truth = expected_pmids()
    raw = {c.key: c.raw for c in unique_keys(read_references(bundled_list()))}
    positions = {c.key: c.position for c in unique_keys(read_references(bundled_list()))}
    out = {}
    for key, e in EXPECTED.items():
        row = {
            "collection": COLLECTION, "key": key, "position": positions[key], "raw": raw[key],
            "status": e["status"], "pmid": None, "title": None, "year": None, "journal": None,
            "doi": None,
        }  # fmt: skip
        if e["status"] == "matched":
            record = records[truth[key]]
            row |= {
                "pmid": truth[key],
                "title": _text(record.find(".//ArticleTitle")),
                "year": int(record.findtext(".//JournalIssue/PubDate/Year")),
                "journal": record.findtext(".//Journal/Title"),
                "doi": _doi(record),
            }
        out[key] = row
    return out


def expected_article_mesh() -> Counter:
    records = modelled_records()
    rows: Counter = Counter()
    for pmid in set(expected_pmids().values()):
        for heading in records[pmid].iter("MeshHeading"):
            d = heading.find("DescriptorName")
            d_major = d.get("MajorTopicYN") == "Y"
            qualifiers = heading.findall("QualifierName")
            if not qualifiers:
                rows[(pmid, d.text, d.get("UI"), d_major, None, None)] += 1
            for q in qualifiers:
                major = d_major or q.get("MajorTopicYN") == "Y"
                rows[(pmid, d.text, d.get("UI"), major, q.text, q.get("UI"))] += 1
    return rows


# -- the views ---------------------------------------------------------------------------------


def test_reference_links_has_one_row_per_reference_as_expected(linked_url):
    columns, rows = query(
        linked_url,
        "SELECT * FROM reference_links WHERE collection = :c ORDER BY position",
        c=COLLECTION,
    )
    assert columns == REFERENCE_LINKS_COLUMNS
    expected = expected_reference_links()
    assert len(rows) == len(expected) == 72
    assert [r["position"] for r in rows] == sorted(e["position"] for e in expected.values())
    for row in rows:
        want = expected[row["key"]]
        reason = row.pop("reason")
        assert row == want, row["key"]
        if want["status"] == "matched":
            assert reason is None
        else:
            assert reason.startswith("meeting abstract"), (row["key"], reason)


def test_reference_links_answers_the_common_questions(linked_url):
    _, by_status = query(
        linked_url,
        "SELECT status, count(*) AS n FROM reference_links GROUP BY status ORDER BY status",
    )
    assert [(r["status"], r["n"]) for r in by_status] == [("matched", 65), ("not_found", 7)]
    _, journals = query(
        linked_url,
        "SELECT journal, count(*) AS n FROM reference_links WHERE status = 'matched' "
        "GROUP BY journal ORDER BY n DESC, journal LIMIT 1",
    )
    top = Counter(e["journal"] for e in expected_reference_links().values() if e["journal"])
    assert (journals[0]["journal"], journals[0]["n"]) == top.most_common(1)[0]


def test_article_mesh_has_one_row_per_descriptor_and_qualifier(linked_url):
    columns, rows = query(linked_url, "SELECT * FROM article_mesh")
    assert columns == ARTICLE_MESH_COLUMNS
    got = Counter(
        (
            r["pmid"],
            r["descriptor"],
            r["descriptor_ui"],
            bool(r["major_topic"]),
            r["qualifier"],
            r["qualifier_ui"],
        )
        for r in rows
    )
    expected = expected_article_mesh()
    assert sum(expected.values()) > 20, "the modelled records should carry MeSH headings"
    assert got == expected


def test_article_mesh_joins_to_reference_links(linked_url):
    # The question the report asks: major topics of what a collection cites.
    _, rows = query(
        linked_url,
        "SELECT m.descriptor, count(DISTINCT m.pmid) AS n FROM article_mesh m "
        "JOIN reference_links r ON r.pmid = m.pmid "
        "WHERE r.collection = :c AND m.major_topic GROUP BY m.descriptor "
        "ORDER BY n DESC, m.descriptor",
        c=COLLECTION,
    )
    expected: dict[str, set] = {}
    for pmid, descriptor, _ui, major, _q, _qui in expected_article_mesh():
        if major:
            expected.setdefault(descriptor, set()).add(pmid)
    assert {r["descriptor"]: r["n"] for r in rows} == {d: len(p) for d, p in expected.items()}


# -- docs/schema.md ----------------------------------------------------------------------------


def test_every_table_view_and_column_is_documented():
    assert schema_doc.problems() == []


def test_schema_doc_is_current():
    current = schema_doc.DOC_PATH.read_text(encoding="utf-8")
    assert current == schema_doc.render(), f"docs/schema.md is stale: run {schema_doc.REGENERATE}"


def test_schema_doc_lists_the_views_with_their_columns():
    text = schema_doc.DOC_PATH.read_text(encoding="utf-8")
    for view, columns in (
        ("reference_links", REFERENCE_LINKS_COLUMNS),
        ("article_mesh", ARTICLE_MESH_COLUMNS),
    ):
        section = text.split(f"### {view}\n", 1)[1].split("\n### ", 1)[0]
        assert [
            line.split("`")[1] for line in section.splitlines() if line.startswith("| `")
        ] == columns


def test_undocumented_column_is_reported(monkeypatch):
    notes = dict(schema_doc.COLUMNS)
    del notes["refs.reason"]
    notes["refs.gone"] = "a column that was dropped"
    monkeypatch.setattr(schema_doc, "COLUMNS", notes)
    found = schema_doc.problems()
    assert "column refs.reason has no description in COLUMNS" in found
    assert "COLUMNS describes refs.gone, which the schema does not have" in found
    with pytest.raises(ValueError, match="refs.reason"):
        schema_doc.render()


def test_postgresql_objects_are_documented_too(tmp_path):
    with database_url("postgresql", tmp_path) as url:
        assert schema_doc.problems(url) == []


def test_check_mode_of_the_generator(tmp_path, capsys):
    stale = tmp_path / "schema.md"
    stale.write_text("old\n")
    assert schema_doc.main(["--check", "--out", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    assert schema_doc.main(["--out", str(stale)]) == 0
    assert schema_doc.main(["--check", "--out", str(stale)]) == 0
