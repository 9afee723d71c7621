"""The db command group: database maintenance (db upgrade)."""

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
