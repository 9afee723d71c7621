"""The commands that write a collection out: export (BibTeX, RIS, CSL-JSON, CSV) and report."""

from __future__ import annotations

import sys

import click

from .. import api
from ..config import Settings
from .errors import Command


@click.command(cls=Command)
@click.option("--collection", "-c", metavar="NAME", help="Collection [default: all of them].")
@click.option("--format", "fmt", type=click.Choice(["bibtex", "ris", "csljson", "csv"]),
              required=True, help="bibtex, ris, csljson (CSL-JSON) or csv.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write [default: standard output].")
@click.pass_obj
def export(settings: Settings, collection, fmt, output):
    """Every matched reference with its PubMed record: PMID, DOI, abstract, MeSH and more."""
    from ..outputs.export import records, write

    with api.open_store(settings.db_url) as store:
        recs = records(store, collection)
    output.write(write(recs, fmt))
    if output is not sys.stdout and getattr(output, "name", "-") != "<stdout>":
        click.echo(f"{len(recs)} references written to {output.name}", err=True)


@click.command(cls=Command, short_help="Write an HTML page that shows a collection at a glance.")
@click.option("--collection", "-c", metavar="NAME", help="One collection [default: all].")
@click.option("--out", "-o", "out", metavar="FILE", default="report.html", show_default=True,
              type=click.Path(dir_okay=False, writable=True), help="HTML file to write.")
@click.pass_obj
def report(settings: Settings, collection, out):
    """Write a self-contained HTML page about a collection: match outcomes, publication years,
    top MeSH descriptors, journals, and the references that did not link."""
    from ..outputs.report import write_report

    with api.open_store(settings.db_url) as store:
        try:
            path = write_report(store, out, collection)
        except OSError as e:
            raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
    click.echo(f"report written to {path}")
