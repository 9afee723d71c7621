"""The collections command: list the collections with their outcomes; delete one."""

from __future__ import annotations

import click

from .. import api
from ..config import Settings
from ..errors import InputError
from ..values import MATCH_STATUSES
from .errors import Command, Group
from .output import Rows, emit, table

COLLECTION_COLUMNS = ("collection", "references", *MATCH_STATUSES, "last_run", "source")


@click.group(cls=Group, invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.pass_context
def collections(ctx: click.Context, fmt):
    """The collections in the database: references, outcomes, source list and last run.

    \b
    pnet-pubmed collections [--format table|json|csv]
    pnet-pubmed collections delete NAME [--yes]
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = [{"collection": c.name, "references": c.references, **c.counts,
             "last_run": c.last_run, "source": c.source}
            for c in api.collections(db=ctx.obj.db_url)]
    emit(rows, fmt, COLLECTION_COLUMNS, render=_table, empty="no collections yet (run link first)")


def _table(rows: Rows) -> str:
    # "2025-03-01 12:30 UTC": a person reads the minute, JSON and CSV keep the ISO time.
    return table([{**r, "last_run": _minute(r["last_run"])} for r in rows], COLLECTION_COLUMNS,
                 widths={"collection": 30, "source": 60})


def _minute(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ") + (" UTC" if iso else "")


@collections.command("delete", cls=Command)
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def collections_delete(settings: Settings, name, yes):
    """Remove the collection NAME and its references. The PubMed records stay in the database:
    other collections may cite them, and search finds them."""
    from ..store.reads import require_collection

    known = {c.name: c for c in api.collections(db=settings.db_url)}
    require_collection(name, known, InputError)
    if not yes:
        click.confirm(f"Delete collection {name} ({known[name].references} references)?",
                      abort=True)
    done = api.delete_collection(name, db=settings.db_url)
    alone = done["records"] - done["records_cited_elsewhere"]
    click.echo(f"deleted {name}: {done['references']} references; the {done['records']} "
               f"records it linked stay in the database ({alone} cited by no other collection)")
