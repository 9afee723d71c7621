"""A collection at a glance: one self-contained HTML page of charts and unlinked references."""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from .. import __version__
from ..errors import InputError
from ..store import Store, StoreError
from ..values import MATCH_STATUSES

STATUSES = MATCH_STATUSES
STATUS_LABELS = {
    "matched": "linked",
    "ambiguous": "ambiguous",
    "not_found": "not found",
    "pending": "pending",
}
# Okabe-Ito colours: told apart with the common colour-vision deficiencies and in greyscale.
STATUS_COLOURS = {
    "matched": "#009E73",
    "ambiguous": "#E69F00",
    "not_found": "#D55E00",
    "pending": "#999999",
}
LINKED_COLOUR = "#0072B2"
UNLINKED_COLOUR = "#D55E00"
MAJOR_COLOUR = "#0072B2"
MINOR_COLOUR = "#56B4E9"
TOP_MESH = 20
TOP_JOURNALS = 15

# MeSH check tags: indexers add them to most human studies, so they would top every chart
# and say nothing about what a review is about. Keyed by UI; names are for the caption.
CHECK_TAGS = {
    "D006801": "Humans",
    "D000818": "Animals",
    "D005260": "Female",
    "D008297": "Male",
    "D011247": "Pregnancy",
    "D007231": "Infant, Newborn",
    "D007223": "Infant",
    "D002675": "Child, Preschool",
    "D002648": "Child",
    "D000293": "Adolescent",
    "D055815": "Young Adult",
    "D000328": "Adult",
    "D008875": "Middle Aged",
    "D000368": "Aged",
    "D000369": "Aged, 80 and over",
    "D051379": "Mice",
    "D051381": "Rats",
}


@dataclass
class ReportData:
    """Everything the page shows, read from the database in one go."""

    title: str
    database: str
    collections: list[str]
    references: list[dict] = field(default_factory=list)
    # descriptor -> (articles where it is a major topic, articles where it is not)
    mesh: dict[str, tuple[int, int]] = field(default_factory=dict)
    mesh_articles: int = 0
    check_tags_left_out: int = 0
    # One row per flag of a linked reference's record (view article_flags): collection, key,
    # pmid, title, flag, notice_pmid, source.
    flags: list[dict] = field(default_factory=list)

    def flagged(self, *names: str) -> list[dict]:
        return [f for f in self.flags if f["flag"] in names]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r["status"] for r in self.references)
        return {s: found.get(s, 0) for s in STATUSES}

    @property
    def linked_pmids(self) -> set[str]:
        return {r["pmid"] for r in self.references if r["status"] == "matched" and r["pmid"]}

    @property
    def unlinked(self) -> list[dict]:
        return [r for r in self.references if r["status"] != "matched"]

    def years(self) -> tuple[list[int], list[int], int]:
        """Years of linked references and of the others, and how many give no year.

        A linked reference counts with its record's year, the others with the year as cited.
        """
        linked: list[int] = []
        other: list[int] = []
        missing = 0
        for r in self.references:
            year = r["article_year"] if r["article_year"] is not None else r["cited_year"]
            if year is None:
                missing += 1
            else:
                (linked if r["status"] == "matched" else other).append(int(year))
        return linked, other, missing

    def journals(self) -> Counter:
        """Linked articles per journal (each PMID once)."""
        by_pmid = {
            r["pmid"]: r["journal"]
            for r in self.references
            if r["status"] == "matched" and r["pmid"]
        }
        return Counter(j or "(no journal)" for j in by_pmid.values())


# -- reading -----------------------------------------------------------------------------------


def gather(store: Store, collection: str | None = None) -> ReportData:
    """Read the references of one collection (or all) and the MeSH terms of their articles."""
    with store.read_only_connection() as conn:
        names = list(conn.execute(sa.text("SELECT name FROM collections ORDER BY name")).scalars())
        if collection is not None and collection not in names:
            known = ", ".join(names) or "none yet"
            raise StoreError(f"no collection named {collection!r} (collections: {known})")
        wanted = [collection] if collection is not None else names
        data = ReportData(
            title=collection if collection is not None else "All collections",
            database=store.url,
            collections=wanted,
        )
        where = "WHERE rl.collection = :collection" if collection is not None else ""
        params = {"collection": collection} if collection is not None else {}
        # The view gives the link and the record; refs adds the year as cited, which is all
        # there is for references that did not link.
        refs_q = sa.text(f"""
            SELECT rl.collection, rl.key, rl.position, rl.raw, rl.status, rl.reason, rl.pmid,
                   rl.year AS article_year, r.year AS cited_year, r.candidates,
                   COALESCE(a.iso_abbreviation, a.medline_ta, rl.journal) AS journal
            FROM reference_links rl
            JOIN collections c ON c.name = rl.collection
            JOIN refs r ON r.collection_id = c.id AND r.key = rl.key
            LEFT JOIN articles a ON a.pmid = rl.pmid
            {where}
            ORDER BY rl.collection, rl.position, rl.key
        """)
        data.references = [dict(m) for m in conn.execute(refs_q, params).mappings()]
        flags_q = sa.text(f"""
            SELECT rl.collection, rl.key, rl.pmid, rl.title, f.flag, f.notice_pmid, f.source
            FROM reference_links rl
            JOIN article_flags f ON f.pmid = rl.pmid
            {where + " AND" if where else "WHERE"} rl.status = 'matched'
            ORDER BY rl.collection, rl.position, rl.key, f.flag, f.notice_pmid
        """)
        data.flags = [dict(m) for m in conn.execute(flags_q, params).mappings()]
        for r in data.references:
            r["candidates"] = _json_list(r["candidates"])

        # A descriptor is a major topic of an article when any of its rows is (PubMed's [majr]).
        mesh_q = sa.text(f"""
            SELECT m.descriptor, m.descriptor_ui, m.pmid,
                   MAX(CASE WHEN m.major_topic THEN 1 ELSE 0 END) AS major
            FROM article_mesh m
            WHERE m.pmid IN (
                SELECT rl.pmid FROM reference_links rl
                {where + " AND" if where else "WHERE"} rl.status = 'matched'
            )
            GROUP BY m.descriptor, m.descriptor_ui, m.pmid
        """)
        rows = conn.execute(mesh_q, params).all()
    major: Counter = Counter()
    minor: Counter = Counter()
    left_out = set()
    for descriptor, ui, _pmid, is_major in rows:
        if ui in CHECK_TAGS:
            left_out.add(ui)
            continue
        (major if is_major else minor)[descriptor] += 1
    data.mesh = {d: (major[d], minor[d]) for d in set(major) | set(minor)}
    data.mesh_articles = len({pmid for _d, _ui, pmid, _m in rows})
    data.check_tags_left_out = len(left_out)
    return data


def _json_list(value) -> list:
    # SQLite hands back the JSON text; PostgreSQL's driver decodes JSONB itself.
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return list(value) if isinstance(value, list | tuple) else [value]


# -- charts ------------------------------------------------------------------------------------


# Applied around each chart only: the user's own matplotlib settings stay as they are.
STYLE = {
    # Text stays text: smaller files, and the page can be searched for a descriptor.
    "svg.fonttype": "none",
    "svg.hashsalt": "pnet-pubmed",  # the same data gives the same SVG
    "font.size": 10,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _style():
    # Imported here: matplotlib costs a few tenths of a second other commands should not pay.
    import matplotlib

    return matplotlib.rc_context(STYLE)


def _axes(width: float, height: float):
    # A bare Figure, not pyplot: no global backend or figure registry to set up or leak.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _svg(fig, name: str) -> str:
    """The figure as an inline <svg> element whose ids cannot clash with another figure's."""
    buffer = io.StringIO()
    fig.savefig(
        buffer,
        format="svg",
        bbox_inches="tight",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and the DOCTYPE's external DTD
    text = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', text)
    return text.replace("<svg ", f'<svg role="img" aria-labelledby="{name}-caption" ', 1)


def outcomes_chart(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    values = [counts[s] for s in STATUSES]
    with _style():
        fig, ax = _axes(6.4, 2.9)
        bars = ax.bar(
            range(len(STATUSES)),
            values,
            color=[STATUS_COLOURS[s] for s in STATUSES],
            width=0.6,
            tick_label=[STATUS_LABELS[s] for s in STATUSES],
        )
        ax.bar_label(bars, labels=[f"{v} ({100 * v / total:.0f}%)" for v in values], padding=2)
        ax.set_ylabel("references")
        ax.set_ylim(0, max(values + [1]) * 1.18)
        ax.yaxis.get_major_locator().set_params(integer=True)
        return _svg(fig, "fig-outcomes")


def years_chart(linked: list[int], other: list[int]) -> str:
    years = linked + other
    low, high = min(years), max(years)
    # One bar per year while that stays readable, else one per five years.
    width = 1 if high - low <= 40 else 5
    start = low - (low % width)
    # Single years are centred on their tick; five-year bins start at theirs.
    shift = 0.5 if width == 1 else 0
    edges = [e - shift for e in range(start, high + width + 1, width)]
    with _style():
        fig, ax = _axes(7.2, 3.0)
        ax.hist(
            [linked, other],
            bins=edges,
            stacked=True,
            color=[LINKED_COLOUR, UNLINKED_COLOUR],
            label=["linked (year of the record)", "not linked (year as cited)"],
            edgecolor="white",
            linewidth=0.6,
        )
        ax.set_xlabel("publication year" + (" (5-year bins)" if width > 1 else ""))
        ax.set_ylabel("references")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if other:
            ax.legend(frameon=False, loc="upper left")
        return _svg(fig, "fig-years")


def mesh_chart(mesh: dict[str, tuple[int, int]]) -> str:
    top = sorted(mesh.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), -kv[1][0], kv[0]))
    top = top[:TOP_MESH][::-1]  # barh draws bottom-up; the most frequent goes on top
    rows = range(len(top))
    major = [m for _, (m, _n) in top]
    minor = [n for _, (_m, n) in top]
    with _style():
        fig, ax = _axes(7.2, 0.8 + 0.28 * len(top))
        ax.barh(rows, major, color=MAJOR_COLOUR, label="major topic")
        ax.barh(rows, minor, left=major, color=MINOR_COLOUR, label="not major")
        ax.set_yticks(rows, [d for d, _ in top])
        ax.set_xlabel("linked articles")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, loc="lower right")
        ax.margins(y=0.01)
        return _svg(fig, "fig-mesh")


def journals_chart(journals: Counter) -> str:
    top = sorted(journals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_JOURNALS][::-1]
    rows = range(len(top))
    with _style():
        fig, ax = _axes(7.2, 0.8 + 0.28 * len(top))
        bars = ax.barh(rows, [n for _, n in top], color=LINKED_COLOUR)
        ax.set_yticks(rows, [j for j, _ in top])
        ax.bar_label(bars, padding=2)
        ax.set_xlabel("linked articles")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.margins(y=0.01)
        return _svg(fig, "fig-journals")


# -- page --------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 0.9rem; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1.2rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 0.9rem; min-width: 7rem; }
.card b { display: block; font-size: 1.5rem; }
.card span { color: #555; font-size: 0.85rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f5f5f5; } td.key { white-space: nowrap; }
.status { white-space: nowrap; font-weight: 600; }
.status-ambiguous { color: #a66f00; } .status-not_found { color: #b34a00; }
.status-pending { color: #666; }
.empty { color: #666; font-style: italic; }
"""


class ReportError(InputError):
    """The report cannot be written (its optional dependency is missing)."""


@dataclass(frozen=True)
class _Figure:
    name: str
    title: str
    svg: object  # Markup: SVG drawn here, not text from the database
    caption: str
    empty: str


def _escaped(value):
    """Every value the template prints, escaped as html.escape does (None prints nothing);
    Markup, the SVG this module draws, goes out as it is."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    # Autoescaping: every value from the database (titles, reasons, reference texts, keys)
    # is escaped; only the SVG this module draws is marked safe.
    return Environment(loader=PackageLoader("pnet_pubmed.outputs", "templates"),
                       autoescape=select_autoescape(["html", "j2"], default=True),
                       finalize=_escaped, undefined=StrictUndefined,
                       keep_trailing_newline=True)


def render(data: ReportData, generated: datetime | None = None) -> str:
    """The HTML page for the data: inline CSS and SVG, no script, nothing fetched."""
    try:
        import matplotlib  # noqa: F401  (the charts)
    except ImportError:
        raise ReportError("the report needs matplotlib: pip install 'pnet-pubmed[report]'") \
            from None
    from markupsafe import Markup

    from ..flags import Flag

    generated = generated or datetime.now(UTC)
    counts = data.counts
    total = len(data.references)
    linked_years, other_years, no_year = data.years()
    journals = data.journals()
    n_linked = counts["matched"]

    def pct(n: int) -> str:
        return f"{100 * n / total:.0f}%" if total else "–"

    cards: list[tuple[int | str, str]] = [
        (total, "references"),
        (n_linked, f"linked ({pct(n_linked)})"),
        (counts["ambiguous"], "ambiguous"),
        (counts["not_found"], "not found"),
        (counts["pending"], "pending"),
        (len(data.linked_pmids), "distinct PubMed records"),
        (len(journals), "journals"),
    ]
    years = linked_years + other_years
    if years:
        cards.append((f"{min(years)}–{max(years)}", "publication years"))
    retracted = {(f["collection"], f["key"]) for f in data.flagged("retracted")}
    if retracted:
        cards.append((len(retracted), "cite retracted articles"))

    def svg(drawn: str | None):
        return Markup(drawn) if drawn is not None else None

    year_note = f" {no_year} references give no year and are not shown." if no_year else ""
    tags = (f" Check tags such as Humans, Female and Aged ({data.check_tags_left_out} "
            "found) are left out." if data.check_tags_left_out else "")
    shown = min(len(journals), TOP_JOURNALS)
    figures = [
        _Figure("fig-outcomes", "Match outcomes", svg(outcomes_chart(counts) if total else None),
                "References of the list by the outcome of matching them against PubMed.",
                "No references in this collection."),
        _Figure("fig-years", "Publication years",
                svg(years_chart(linked_years, other_years) if years else None),
                "References per publication year: the PubMed record's year for linked "
                "references, the year as cited for the others." + year_note,
                "No reference gives a year."),
        _Figure("fig-mesh", f"Top MeSH descriptors (up to {TOP_MESH})",
                svg(mesh_chart(data.mesh) if data.mesh else None),
                f"Linked articles indexed with each descriptor, split by whether it is a major "
                f"topic of the article; {data.mesh_articles} of {len(data.linked_pmids)} linked "
                f"articles have MeSH headings.{tags}",
                "No linked article has MeSH headings (yet: new records are indexed after a "
                "while)."),
        _Figure("fig-journals", f"Journals (top {TOP_JOURNALS})",
                svg(journals_chart(journals) if journals else None),
                f"Distinct linked articles per journal (ISO abbreviation); {shown} of "
                f"{len(journals)} journals shown.", "No linked articles."),
    ]

    def flag_rows(*names: str) -> list[dict]:
        return [{**r, "ref": (r["collection"], r["key"]),
                 "notice": Flag(r["flag"], r["notice_pmid"], r["source"]).describe()}
                for r in data.flagged(*names)]

    unlinked = []
    for r in data.unlinked:
        reason = r["reason"] or ""
        if r["candidates"]:
            reason = ((reason + "; " if reason else "") + "candidates: PMID "
                      + ", ".join(str(c) for c in r["candidates"]))
        unlinked.append({**r, "reason": reason,
                         "label": STATUS_LABELS.get(r["status"], r["status"])})
    page = _environment().get_template("report.html.j2").render(
        data=data, css=CSS, version=__version__,
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"), cards=cards, figures=figures,
        several=len(data.collections) > 1, retracted=flag_rows("retracted"),
        notices=flag_rows("expression_of_concern", "erratum", "updated"), unlinked=unlinked)
    return page


def write_report(store: Store, out: str | Path, collection: str | None = None) -> Path:
    """Write the report of a collection (default: all) to `out`; returns the path written."""
    page = render(gather(store, collection))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
