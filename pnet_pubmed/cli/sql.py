"""The sql command: one read-only SQL statement, its rows as a table, JSON or CSV."""

from __future__ import annotations

import sys

import click

from ..config import Settings
from .errors import Command
from .output import emit

SQL_FORMATS = ("table", "json", "csv")


@click.command(cls=Command, short_help="Run a read-only SQL query and print its rows.")
@click.argument("statement", metavar="SQL")
@click.option("--format", "fmt", type=click.Choice(SQL_FORMATS), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Print at most this many rows (0: all).")
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="Stop the statement after this many seconds, on the server too (0: no limit) "
                   "[env PNET_PUBMED_SQL_TIMEOUT; default 30].")
@click.pass_obj
def sql(settings: Settings, statement, fmt, limit, timeout):
    """Run one read-only SQL statement and print its rows; SQL "-" reads it from stdin.

    The database keeps it read-only: SQLite opens the file read-only, PostgreSQL runs it in a
    read-only transaction as the role pnet_pubmed_reader, which can only read the project's
    tables. Handy views: reference_links and article_mesh (see docs/schema.md).

    \b
    Example:
      pnet-pubmed sql "SELECT status, count(*) AS n FROM reference_links GROUP BY status"
    """
    from ..sqlquery import run_query

    if statement == "-":
        statement = sys.stdin.read()
    if timeout is None:
        timeout = settings.sql_timeout
    try:
        # The database URL: a light connection that only reads (no SQLAlchemy).
        result = run_query(settings.db_url, statement, limit=limit or None,
                           timeout=timeout or None)
    except KeyboardInterrupt:
        click.echo("Interrupted: the statement was stopped.", err=True)
        sys.exit(130)
    if fmt == "table" and not result.columns:
        click.echo("statement returned no rows", err=True)
    else:
        rows = result.records()
        emit(rows, fmt, result.columns, widths=dict.fromkeys(result.columns, 60), exact=True)
        if fmt == "table":
            click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", err=True)
    if result.truncated:
        click.echo(f"showing the first {limit} rows; use --limit N (0: all) for more", err=True)
