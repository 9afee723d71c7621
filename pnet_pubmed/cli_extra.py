"""The sql and report commands; pnet_pubmed.cli adds them to its main group."""

from __future__ import annotations

import sys

import click

from .cli_common import _errors_as_one_line, _store, _table
from .config import Settings

SQL_FORMATS = ("table", "json", "csv")


@click.command(short_help="Run a read-only SQL query and print its rows.")
@click.argument("statement", metavar="SQL")
@click.option("--format", "fmt", type=click.Choice(SQL_FORMATS), default="table", show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Print at most this many rows (0: all).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop the statement after this many seconds, on the server too (0: no limit) "
    "[env PNET_PUBMED_SQL_TIMEOUT; default 30].",
)
@click.pass_obj
@_errors_as_one_line
def sql(settings: Settings, statement, fmt, limit, timeout):
    """Run one read-only SQL statement and print its rows; SQL "-" reads it from stdin.

    The database keeps it read-only: SQLite opens the file read-only, PostgreSQL runs it in a
    read-only transaction as the role pnet_pubmed_reader, which can only read the project's
    tables. Handy views: reference_links and article_mesh (see docs/schema.md).

    \b
    Example:
      pnet-pubmed sql "SELECT status, count(*) AS n FROM reference_links GROUP BY status"
    """
    from .sqlquery import QueryError, run_query, to_csv, to_json

    if statement == "-":
        statement = sys.stdin.read()
    if timeout is None:
        timeout = settings.sql_timeout
    try:
        result = run_query(_store(settings), statement, limit=limit or None,
                           timeout=timeout or None)
    except QueryError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        click.echo("Interrupted: the statement was stopped.", err=True)
        sys.exit(130)
    if fmt == "json":
        click.echo(to_json(result))
    elif fmt == "csv":
        click.echo(to_csv(result), nl=False)
    elif not result.columns:
        click.echo("statement returned no rows", err=True)
    else:
        rows = result.records()
        click.echo(_table(rows, result.columns, widths={c: 60 for c in result.columns}))
        click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", err=True)
    if result.truncated:
        click.echo(f"showing the first {limit} rows; use --limit N (0: all) for more", err=True)


@click.command(short_help="Write an HTML page that shows a collection at a glance.")
@click.option("--collection", "-c", metavar="NAME", help="One collection [default: all].")
@click.option(
    "--out",
    "-o",
    "out",
    metavar="FILE",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True),
    help="HTML file to write.",
)
@click.pass_obj
@_errors_as_one_line
def report(settings: Settings, collection, out):
    """Write a self-contained HTML page about a collection: match outcomes, publication years,
    top MeSH descriptors, journals, and the references that did not link."""
    from .outputs.report import write_report

    try:
        path = write_report(_store(settings), out, collection)
    except OSError as e:
        raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
    click.echo(f"report written to {path}")
