"""`pnet-pubmed report`: one self-contained HTML page with four charts and the unlinked table."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli.export import report
from pnet_pubmed.config import Settings
from pnet_pubmed.outputs import report as rp
from pnet_pubmed.store import Store
from pnet_pubmed.values import Citation, Match
from tests.linked_db import COLLECTION, database_url
from tests.test_link_e2e import EXPECTED

FIGURES = ("fig-outcomes", "fig-years", "fig-mesh", "fig-journals")
# The only URLs a page may contain: SVG's namespace names, which nothing fetches.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture(scope="module")
def page(linked_url, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("page") / "sub" / "report.html"
    result = CliRunner().invoke(
        report, ["--collection", COLLECTION, "--out", str(out)], obj=Settings(db_url=linked_url)
    )
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    return out.read_text(encoding="utf-8")


class Page(HTMLParser):
    """Elements by id, the rows of the unlinked table, and every attribute seen."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.stack: list[tuple[str, str | None]] = []
        self.svg_in: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.tags: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.attributes += [(tag, k, v or "") for k, v in attrs.items()]
        if "id" in attrs:
            self.ids[attrs["id"]] = tag
        if tag == "svg":
            self.svg_in.update(i for _, i in self.stack if i and i.startswith("fig-"))
        in_table = any(i == "unlinked-table" for _, i in self.stack)
        if tag == "tr" and in_table and not any(t == "thead" for t, _ in self.stack):
            self.rows.append([])
        if tag == "td" and in_table:
            self._cell = []
        self.stack.append((tag, attrs.get("id")))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_page_has_every_picture(page):
    parsed = Page(page)
    for name in FIGURES:
        assert parsed.ids.get(name) == "figure", name
        assert name in parsed.svg_in, f"{name} has no inline <svg>"
        assert parsed.ids.get(f"{name}-caption") == "figcaption"
    assert page.count("<svg") == len(FIGURES)


def test_pictures_show_the_data(page):
    # SVG text stays text, so labels can be checked (and searched for in a browser).
    assert "65 (90%)" in page and "7 (10%)" in page
    assert ">J Clin Oncol<" in page  # the most cited journal
    assert ">Pancreatic Neoplasms<" in page  # a major MeSH topic of the linked records
    assert ">Humans<" not in page  # check tags are left out
    assert "major topic" in page


def test_unlinked_table_lists_every_reference_that_did_not_link(page):
    rows = Page(page).rows
    not_linked = {k for k, e in EXPECTED.items() if e["status"] != "matched"}
    assert len(rows) == len(not_linked) == 7
    assert {r[0] for r in rows} == not_linked
    for key, status, reason, raw in rows:
        assert status == "not found"
        assert reason.startswith("meeting abstract"), (key, reason)
        assert raw.startswith(f"{key}.") or key in raw


def test_summary_numbers(page):
    summary = page.split('id="summary"', 1)[1].split("<section", 1)[0]
    assert "<b>72</b><span>references</span>" in summary
    assert "<b>65</b><span>linked (90%)</span>" in summary
    assert "<b>7</b><span>not found</span>" in summary


def test_page_is_self_contained(page):
    parsed = Page(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags
    assert "img" not in parsed.tags and "iframe" not in parsed.tags
    for tag, name, value in parsed.attributes:
        if name in ("src", "href", "xlink:href", "action", "srcset"):
            assert value.startswith("#") or value.startswith("data:"), (tag, name, value)
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(?!#)", page), "CSS url() to something outside"
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= NAMESPACES


def test_svg_ids_are_unique_across_pictures(page):
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r"url\(#([^)]+)\)|href=\"#([^\"]+)\"", page):
        assert (ref[0] or ref[1]) in ids


# -- escaping, empty and unknown collections ---------------------------------------------------


@pytest.fixture
def store(tmp_path):
    with database_url("sqlite", tmp_path) as url, Store(url) as s:
        s.upgrade()
        yield s


def test_text_from_the_database_is_escaped(store, tmp_path):
    raw = '1. <script>alert("x")</script> & Co. "Title" <img src=http://evil.example/x.png>'
    store.save_citations("evil <b>", [Citation(key="1", raw=raw, position=1, year=2001)])
    store.save_matches("evil <b>", [Match("1", "not_found", reason="no <i>record</i> & more")])
    out = rp.write_report(store, tmp_path / "evil.html", "evil <b>")
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co." in text
    assert "no &lt;i&gt;record&lt;/i&gt; &amp; more" in text
    assert "<h1>evil &lt;b&gt;</h1>" in text
    assert Page(text).rows == [["1", "not found", "no <i>record</i> & more", raw]]


def test_ambiguous_and_pending_references_are_listed_with_candidates(store, tmp_path):
    cites = [
        Citation(key=k, raw=f"{k}. Ref {k}", position=i, year=2000 + i)
        for i, k in enumerate(("1", "2", "3"), 1)
    ]
    store.save_citations("c", cites)
    store.save_matches(
        "c",
        [
            Match("1", "ambiguous", candidates=("111", "222"), reason="two records fit"),
            Match("2", "pending", reason="offline: answer not in the cache"),
        ],
    )
    text = rp.write_report(store, tmp_path / "r.html", "c").read_text(encoding="utf-8")
    rows = Page(text).rows
    assert [r[:2] for r in rows] == [["1", "ambiguous"], ["2", "pending"], ["3", "pending"]]
    assert rows[0][2] == "two records fit; candidates: PMID 111, 222"
    # No record is linked: those pictures say so instead of drawing empty axes.
    assert "No linked articles." in text and "No linked article has MeSH" in text
    assert 'id="fig-outcomes"' in text and text.count("<svg") == 2  # outcomes and years


def test_empty_collection(store, tmp_path):
    store.collection_id("empty", create=True)
    text = rp.write_report(store, tmp_path / "e.html", "empty").read_text(encoding="utf-8")
    assert "No references in this collection." in text
    assert "<svg" not in text
    assert "Every reference is linked" in text


def test_all_collections_by_default(store, tmp_path):
    for name in ("a", "b"):
        store.save_citations(name, [Citation(key="1", raw=f"1. {name}", position=1)])
        store.save_matches(name, [Match("1", "not_found", reason=f"nothing for {name}")])
    result = CliRunner().invoke(
        report, ["--out", str(tmp_path / "all.html")], obj=Settings(db_url=store.url)
    )
    assert result.exit_code == 0, result.output
    rows = Page((tmp_path / "all.html").read_text(encoding="utf-8")).rows
    assert [(r[0], r[3]) for r in rows] == [("a", "nothing for a"), ("b", "nothing for b")]


def test_unknown_collection_is_one_line(store, tmp_path):
    result = CliRunner().invoke(
        report, ["-c", "nope", "--out", str(tmp_path / "x.html")], obj=Settings(db_url=store.url)
    )
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: no collection named 'nope'")
    assert not (tmp_path / "x.html").exists()


def test_unwritable_output_is_one_line(store, tmp_path):
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(
        report, ["--out", str(tmp_path / "file" / "r.html")], obj=Settings(db_url=store.url)
    )
    assert result.exit_code == 1
    assert "\n" not in result.output.strip() and "cannot write" in result.output


def test_without_matplotlib_the_report_says_how_to_install_it(store, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(rp.ReportError, match=r"pip install 'pnet-pubmed\[report\]'"):
        rp.write_report(store, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
