"""The search, mesh and export commands; pnet_pubmed.cli adds them to its main group."""

from __future__ import annotations

import sys
import textwrap

import click

from .cli_common import _emit, _errors_as_one_line, _store, _table
from .config import Settings
from .flags import FLAGS

SEARCH_COLUMNS = ("pmid", "year", "journal", "score", "cited_by", "title")
CSV_SEARCH_COLUMNS = ("pmid", "year", "journal", "score", "cited_by", "doi", "title", "snippet")
MESH_COLUMNS = ("descriptor", "ui", "articles", "major_articles")
FORMATS = ("table", "json", "csv")


@click.command()
@click.argument("query", nargs=-1)
@click.option("--mesh", "mesh", multiple=True, metavar="TERM",
              help="MeSH heading: a descriptor name, UI or entry term, with the descriptors "
                   "below it (as PubMed's [mh]); repeat to require several.")
@click.option("--explode/--no-explode", default=True, show_default=True,
              help="--no-explode: the --mesh descriptors themselves only ([mh:noexp]).")
@click.option("--major", is_flag=True, help="Only where the --mesh/--qualifier heading is major.")
@click.option("--qualifier", metavar="Q", help="MeSH qualifier name or UI, e.g. 'drug therapy'.")
@click.option("--author", metavar="NAME", help="Author: 'Yao', 'Yao JC', a group name.")
@click.option("--journal", metavar="J", help="Journal abbreviation, title or ISSN.")
@click.option("--year", metavar="FROM:TO", help="Publication year or range: 2011, 2009:, :2015.")
@click.option("--type", "publication_type", metavar="PUBLICATION_TYPE",
              help="PubMed publication type, e.g. 'Randomized Controlled Trial'.")
@click.option("--collection", "-c", metavar="NAME", help="Only articles this collection cites.")
@click.option("--flag", "flags", multiple=True, type=click.Choice(FLAGS),
              help="Only articles PubMed flags so (repeat to require several).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_obj
@_errors_as_one_line
def search(settings: Settings, query, mesh, explode, major, qualifier, author, journal, year,
           publication_type, collection, flags, limit, fmt):
    """Stored articles matching QUERY and the filters, best first.

    QUERY searches title, abstract, MeSH terms and keywords, ignoring case and accents:
    words (all must match), "exact phrases", prefix* , AND / OR / NOT (upper case) and
    parentheses, e.g.  everolimus OR sunitinib   '"somatostatin analogues" NOT octreotide'.

    \b
    As in PubMed, operators combine LEFT TO RIGHT, all with the same precedence:
      insulinoma OR gastrinoma NOT review*   is   (insulinoma OR gastrinoma) NOT review*
      a NOT b OR c                           is   (a NOT b) OR c
    Parentheses group: a NOT (b OR c).

    \b
    PubMed field tags after a term (the words before a tag are its term):
      [ti] title, [tiab] title/abstract/keywords, [ab] abstract, [au] author,
      [1au] first author, [mh] MeSH term, [majr] MeSH major topic, [mh:noexp],
      [majr:noexp], [pt] publication type, [ta] journal, [dp] year or range,
      [pmid], [doi]; e.g.  everolimus[tiab] AND Yao JC[au] AND 2010:2015[dp]

    Without QUERY, the filters alone select articles, newest first. Under the table: how many
    articles match in all ("20 of 153 hits").
    """
    from .search import parse_year_range
    from .search import search as run_search

    text = " ".join(query) or None
    if text is None and not (mesh or qualifier or author or journal or year
                             or publication_type or collection or flags):
        raise click.UsageError("give a QUERY or at least one filter (see --help)")
    bold = fmt == "table" and sys.stdout.isatty()
    marks = ("\x1b[1m", "\x1b[0m") if bold else ("[", "]")
    # The database URL, not a Store: search reads on a light connection (no SQLAlchemy).
    hits = run_search(
        settings.db_url, text, mesh=mesh, major=major, qualifier=qualifier, author=author,
        journal=journal, year=parse_year_range(year), publication_type=publication_type,
        collection=collection, flag=flags, explode=explode, limit=limit, highlight=marks,
    )
    for note in hits.notes:  # 'using descriptor Insulinoma (D007340) for entry term "…"'
        click.echo(note, err=True)
    rows = [h.as_dict() for h in hits]
    _emit(rows, fmt, CSV_SEARCH_COLUMNS, _search_table, "no matching articles")
    # How many there are beyond --limit: under the table; for JSON and CSV on a terminal only,
    # so that what reads them gets nothing else.
    if hits and (fmt == "table" or sys.stderr.isatty()):
        click.echo(hits.summary(), err=fmt != "table")


def _search_table(rows: list[dict]) -> str:
    """One line per hit as a table, and its highlighted snippet indented below it."""
    table = _table(rows, SEARCH_COLUMNS, widths={"journal": 24, "title": 70, "cited_by": 16})
    lines = table.splitlines()
    out = lines[:2]
    for row, line in zip(rows, lines[2:], strict=True):
        out.append(line)
        if row["snippet"]:
            out.append(textwrap.fill(row["snippet"], width=100, initial_indent="    ",
                                     subsequent_indent="    "))
    return "\n".join(out)


@click.command()
@click.option("--collection", "-c", metavar="NAME", help="Collection [default: every article].")
@click.option("--major", is_flag=True, help="Only descriptors that are a major topic somewhere.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--depth", type=click.IntRange(min=1), metavar="N",
              help="Roll descriptors up to MeSH tree level N (1: Neoplasms, 2: Neoplasms by "
                   "Site, …): each article counts once under each heading it rolls up to.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_obj
@_errors_as_one_line
def mesh(settings: Settings, collection, major, top, depth, fmt):
    """The MeSH profile of a collection: each descriptor, its articles and major-topic articles."""
    from .search import mesh_profile

    rows = mesh_profile(settings.db_url, collection=collection, major=major, top=top,
                        depth=depth)
    _emit(rows, fmt, MESH_COLUMNS,
          lambda rs: _table(rs, MESH_COLUMNS, widths={"descriptor": 60}),
          "no MeSH headings among these articles")


@click.command()
@click.option("--collection", "-c", metavar="NAME", help="Collection [default: all of them].")
@click.option("--format", "fmt", type=click.Choice(["bibtex", "ris", "csljson", "csv"]),
              required=True, help="bibtex, ris, csljson (CSL-JSON) or csv.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write [default: standard output].")
@click.pass_obj
@_errors_as_one_line
def export(settings: Settings, collection, fmt, output):
    """Every matched reference with its PubMed record: PMID, DOI, abstract, MeSH and more."""
    from .outputs.export import records, write

    store = _store(settings)
    recs = records(store, collection)
    output.write(write(recs, fmt))
    if output is not sys.stdout and getattr(output, "name", "-") != "<stdout>":
        click.echo(f"{len(recs)} references written to {output.name}", err=True)
