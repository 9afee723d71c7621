"""The commands that ask NCBI: link (a reference list to PubMed records) and refresh."""

from __future__ import annotations

import sys

import click

from ..config import Settings
from .errors import Command
from .output import echo_json

MEDLINE_STATUSES = ("MEDLINE", "PubMed-not-MEDLINE", "In-Process", "In-Data-Review", "Publisher",
                    "Completed", "OLDMEDLINE")
STAGES = {"ecitmatch": "ECitMatch", "searched": "ESearch", "fetched": "EFetch", "batch": "stored"}


@click.command(cls=Command)
@click.argument("file", required=False,
                type=click.Path(dir_okay=True, allow_dash=True, path_type=str))
@click.option("--collection", "-c", metavar="NAME",
              help="Collection name [default: from the file].")
@click.option("--offline", is_flag=True, help="Use only cached answers; others stay pending.")
@click.option("--batch-size", type=click.IntRange(1), default=500, show_default=True,
              help="References matched and committed together.")
@click.option("--source", type=click.Choice(["auto", "mirror", "eutils"]), default="auto",
              show_default=True, help="auto: the local mirror when there is one, then NCBI for "
              "what it lacks; mirror: never NCBI; eutils: never the mirror.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def link(settings: Settings, file, collection, offline, batch_size, source, as_json):
    """Match each reference of FILE (default: the bundled list; "-": standard input) to PubMed
    and store the records."""
    from ..pipeline import link as run_link

    settings = settings.with_(offline=offline) if offline else settings
    settings = settings.with_(source=source)
    if not sys.stderr.isatty():  # a log file gets the summary, not a redrawn bar
        summary = run_link(file, collection, settings, batch_size=batch_size)
    else:
        with click.progressbar(length=1, label="Reading the list", file=sys.stderr,
                               show_pos=True) as bar:
            def progress(stage: str, n: int) -> None:
                if stage in ("start", "read_start"):  # a phase and its number of references
                    # a new phase: the bar starts again (and is no longer "finished")
                    bar.length, bar.pos, bar.finished = max(n, 1), 0, False
                    bar.label = "Reading the list" if stage == "read_start" else "Linking"
                    bar.render_progress()
                    return
                if stage == "read":
                    bar.update(n)
                    return
                bar.label = f"Linking ({STAGES.get(stage, stage)})"
                if stage == "batch":
                    bar.update(n)
                else:
                    bar.render_progress()

            summary = run_link(file, collection, settings, batch_size=batch_size,
                               progress=progress)
    data = summary.as_dict()
    if as_json:
        echo_json(data)
        return
    click.echo(
        f"{data['collection']}: {data['references']} references — "
        f"{data['matched']} matched, {data['ambiguous']} ambiguous, "
        f"{data['not_found']} not found, {data['pending']} pending"
    )
    if data["removed"]:
        click.echo(f"{data['removed']} references no longer in the list were removed from "
                   f"{data['collection']}")
    if data["undecided"]:
        click.echo(f"{data['undecided']} references had no cached answer; those already "
                   "decided kept their stored result")
    _requests_line(data)


def _requests_line(data: dict) -> None:
    click.echo(f"HTTP requests sent: {data['requests_sent']}, answers from the cache: "
               f"{data['from_cache']}, retries: {data['retries']}, {data['seconds']:.1f} s")


@click.command(cls=Command)
@click.option("--collection", "-c", metavar="NAME",
              help="Records this collection links to [default: every collection's].")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), metavar="DAYS",
              help="Only records fetched more than DAYS days ago.")
@click.option("--status-not", "status_not", multiple=True, metavar="STATUS",
              type=click.Choice(MEDLINE_STATUSES, case_sensitive=False),
              help="Only records whose MEDLINE status is not STATUS (repeatable), e.g. MEDLINE: "
                   "those still to be indexed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def refresh(settings: Settings, collection, older_than, status_not, as_json):
    """Fetch the linked records from NCBI again (not from the cache) and store the revised ones,
    printing what changed: new MeSH, new flags (retracted, …), a changed title or authors."""
    from ..refresh import refresh as run_refresh

    summary = run_refresh(settings, collection, older_than_days=older_than,
                          status_not=status_not)
    data = summary.as_dict()
    if as_json:
        echo_json(data)
        return
    for change in summary.changes:
        click.echo("\n".join(change.lines()))
    for pmid in summary.gone:
        click.echo(f"PMID {pmid}: NCBI has no record under this PMID any more (deleted or "
                   "merged); the stored copy is kept")
    for problem in summary.unreadable:
        click.echo(f"{problem}; the stored copy is kept")
    label = collection or "all collections"
    click.echo(f"{label}: {data['selected']} records fetched again — {data['updated']} updated, "
               f"{data['unchanged']} unchanged, {len(summary.gone)} no longer in PubMed")
    _requests_line(data)
