"""The collections and refresh commands; pnet_pubmed.cli adds them to its main group."""

from __future__ import annotations

import json

import click

from .cli_common import _emit, _errors_as_one_line, _known_collection, _store, _table
from .config import Settings
from .values import MATCH_STATUSES

COLLECTION_COLUMNS = ("collection", "references", *MATCH_STATUSES, "last_run", "source")


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.pass_context
def collections(ctx: click.Context, fmt):
    """The collections in the database: references, outcomes, source list and last run.

    \b
    pnet-pubmed collections [--format table|json|csv]
    pnet-pubmed collections delete NAME [--yes]
    """
    if ctx.invoked_subcommand is None:
        _list(ctx.obj, fmt)


@_errors_as_one_line
def _list(settings: Settings, fmt: str) -> None:
    store = _store(settings)
    # A database no command has set up yet has no collections (rather than no tables).
    known = store.current_revision() is not None
    rows = [_collection_row(c) for c in store.collections()] if known else []
    _emit(rows, fmt, COLLECTION_COLUMNS,
          lambda rs: _table([r | {"last_run": _minute(r["last_run"])} for r in rs],
                            COLLECTION_COLUMNS, widths={"collection": 30, "source": 60}),
          "no collections yet (run link first)")


def _collection_row(c: dict) -> dict:
    return {
        "collection": c["name"],
        "references": c["n_references"],
        **{s: c[f"n_{s}"] for s in MATCH_STATUSES},
        # When its references or matches last changed: the last link run that did anything.
        "last_run": _iso(c["updated_at"]),
        "source": c["source"],
    }


def _iso(when) -> str | None:
    if when is None:
        return None
    from datetime import UTC

    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat(timespec="seconds")


def _minute(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ") + (" UTC" if iso else "")


@collections.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@_errors_as_one_line
def collections_delete(settings: Settings, name, yes):
    """Remove the collection NAME and its references. The PubMed records stay in the database:
    other collections may cite them, and search finds them."""
    store = _store(settings)
    _known_collection(store, name)
    if not yes:
        size = next(c["n_references"] for c in store.collections() if c["name"] == name)
        click.confirm(f"Delete collection {name} ({size} references)?", abort=True)
    done = store.delete_collection(name)
    alone = done["records"] - done["records_cited_elsewhere"]
    click.echo(f"deleted {name}: {done['references']} references; the {done['records']} "
               f"records it linked stay in the database ({alone} cited by no other collection)")


@click.command()
@click.option("--collection", "-c", metavar="NAME",
              help="Records this collection links to [default: every collection's].")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), metavar="DAYS",
              help="Only records fetched more than DAYS days ago.")
@click.option("--status-not", "status_not", multiple=True, metavar="STATUS",
              type=click.Choice(["MEDLINE", "PubMed-not-MEDLINE", "In-Process", "In-Data-Review",
                                 "Publisher", "Completed", "OLDMEDLINE"], case_sensitive=False),
              help="Only records whose MEDLINE status is not STATUS (repeatable), e.g. MEDLINE: "
                   "those still to be indexed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
@_errors_as_one_line
def refresh(settings: Settings, collection, older_than, status_not, as_json):
    """Fetch the linked records from NCBI again (not from the cache) and store the revised ones,
    printing what changed: new MeSH, new flags (retracted, …), a changed title or authors."""
    from .refresh import refresh as run_refresh

    summary = run_refresh(settings, collection, older_than_days=older_than,
                          status_not=status_not)
    data = summary.as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
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
    click.echo(f"HTTP requests sent: {data['requests_sent']}, answers from the cache: "
               f"{data['from_cache']}, retries: {data['retries']}, {data['seconds']:.1f} s")
