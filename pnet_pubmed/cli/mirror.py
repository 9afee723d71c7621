"""`pnet-pubmed mirror load` and `mirror status`: a local copy of PubMed from NLM's files."""

from __future__ import annotations

import os
import sys

import click

from .. import api
from ..config import Settings
from .errors import Group
from .output import echo_json, table


@click.group(cls=Group)
def mirror():
    """A local mirror of PubMed from NLM's baseline and update files."""


def _default_jobs() -> int:
    # One reader process beside the writer; more only where there are cores for them.
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _file_line(o) -> str:
    if o.status == "skipped":
        return f"{o.name}  skipped  {o.message}"
    if o.status == "failed":
        return f"{o.name}  failed   {o.message}"
    extra = [f"{o.superseded:,} superseded" if o.superseded else "",
             f"{o.deleted:,} deleted" if o.deleted else "",
             f"{o.kept_linked:,} deleted by NLM but kept (linked by a reference)"
             if o.kept_linked else "",
             f"{o.unreadable:,} unreadable" if o.unreadable else ""]
    detail = ", ".join(x for x in extra if x)
    return (f"{o.name}  loaded   {o.records:,} records"
            + (f" ({detail})" if detail else "")
            + f", {o.seconds:.1f} s, {o.records_per_s:,.0f} records/s"
            + ("  [resumed]" if o.resumed else ""))


@mirror.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--jobs", "-j", type=click.IntRange(0, 64), default=None,
              help="Reader processes that parse files while this one writes; 0 parses here "
                   "[default: cores - 1, at least 1].")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_obj
def mirror_load(settings: Settings, paths, jobs, as_json):
    """Load NLM baseline and update files (.xml.gz or .xml, or folders of them) in name order.

    Newer versions of a record replace older ones, DeleteCitation lists remove records, files
    already loaded are skipped, and a load that stopped resumes at the file it was in.
    """
    from ..mirror import MirrorFileError, load

    live = sys.stderr.isatty() and not as_json

    def progress(event: str, o) -> None:
        if event == "chunk" and live:
            click.echo(f"\r{o.name}: {o.records:,} records, {o.records_per_s:,.0f} records/s",
                       err=True, nl=False)
        elif event == "done":
            if live:
                click.echo("\r\033[K", err=True, nl=False)
            if not as_json:
                click.echo(_file_line(o))

    store = api.open_store(settings.db_url)
    try:
        summary = load(store, list(paths), jobs=_default_jobs() if jobs is None else jobs,
                       progress=progress)
    except MirrorFileError as e:
        raise click.ClickException(str(e)) from None
    finally:
        store.close()
    data = summary.as_dict()
    if as_json:
        echo_json(data)
    else:
        click.echo(f"mirror: {data['loaded']} files loaded, {data['skipped']} skipped, "
                   f"{data['failed']} failed; {data['records']:,} records in "
                   f"{data['seconds']:.1f} s ({data['records_per_s']:,.0f} records/s)")
        if summary.word_lists is not None:
            click.echo(f"search: {summary.word_lists:,} frequent words listed in "
                       f"{summary.word_lists_seconds:.1f} s")
    if summary.failed:
        names = ", ".join(f.name for f in summary.failed)
        raise click.ClickException(f"{len(summary.failed)} file(s) not loaded: {names}; "
                                   "the others are; run the command again to retry them")


@mirror.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_obj
def mirror_status(settings: Settings, fmt):
    """The files loaded into the mirror, its number of records and its newest file."""
    from ..mirror import status

    with api.open_store(settings.db_url) as store:
        data = status(store)
    if fmt == "json":
        echo_json(data)
        return
    if data["files"]:
        rows = [{"file": f["name"], "status": f["status"], "records": f"{f['records']:,}",
                 "superseded": f["superseded"], "deleted": f["deleted"],
                 "unreadable": f["unreadable"], "finished": (f["finished_at"] or "")[:19],
                 "message": f["message"] or ""} for f in data["files"]]
        click.echo(table(rows, ("file", "status", "records", "superseded", "deleted",
                                 "unreadable", "finished", "message"),
                          widths={"message": 60}))
    click.echo(f"{data['records']:,} records from {data['loaded']} files; newest file: "
               f"{data['newest_file'] or 'none'}"
               + (f"; {data['failed']} failed" if data["failed"] else "")
               + (f"; interrupted in {', '.join(data['interrupted'])} (run mirror load again)"
                  if data["interrupted"] else ""))
    if data["stale_keys"]:
        click.echo("some files were loaded by another version of pnet-pubmed: load them "
                   "again to use them for matching", err=True)
