"""The db command group: database maintenance (db upgrade, db optimize)."""

from __future__ import annotations

import click

from .. import api
from ..config import Settings
from .errors import Group


@click.group(cls=Group)
def db():
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings):
    """Create or migrate the schema to the current version."""
    with api.open_store(settings.db_url) as store:
        store.upgrade()
    click.echo("database schema is up to date")


@db.command("optimize")
@click.pass_obj
def db_optimize(settings: Settings):
    """Make searches of frequent words fast: build the score-ordered lists of the words found
    in many articles (on SQLite, after merging the full-text index). Run it after a large
    load; later saves keep the lists right on their own."""
    n = api.optimize(settings.db_url)
    merged = "search index merged; " if settings.db_url.startswith("sqlite") else ""
    click.echo(f"{merged}{n:,} frequent words have a score-ordered list")
