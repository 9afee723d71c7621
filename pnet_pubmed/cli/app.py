"""The root group of the CLI: the settings every command shares, logging, and the commands."""

from __future__ import annotations

import click

from .. import __version__
from ..config import Settings
from ..errors import InputError
from . import collections, db, export, link, mirror, records, search, sql
from .errors import Group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pnet-pubmed")
@click.option("--db", "db_url", metavar="URL", help="SQLAlchemy URL [env PNET_PUBMED_DB; "
              "default sqlite:///db/pnet_pubmed.sqlite].")
@click.option("--cache", "cache_dir", metavar="DIR",
              help="HTTP cache folder [env PNET_PUBMED_CACHE; default cache/].")
@click.option("--eutils-url", metavar="URL",
              help="E-utilities base URL [env PNET_PUBMED_EUTILS_URL].")
@click.option("--email", metavar="ADDRESS", help="Contact email sent to NCBI [env NCBI_EMAIL].")
@click.option("--api-key", metavar="KEY",
              help="NCBI API key, allows 10 requests/s [env NCBI_API_KEY].")
@click.option("-v", "--verbose", count=True,
              help="Log each E-utilities request on stderr; -vv: every library's debug log. "
                   "The key, address and passwords are masked.")
@click.pass_context
def main(ctx, db_url, cache_dir, eutils_url, email, api_key, verbose):
    """Link reference lists to PubMed, enrich them with EFetch, and search them locally."""
    from .. import logs

    logs.configure(verbose)
    ctx.call_on_close(logs.reset)
    try:
        ctx.obj = Settings.from_env(db_url=db_url, cache_dir=cache_dir, eutils_url=eutils_url,
                                    email=email, api_key=api_key)
    except InputError as e:  # a malformed environment variable
        raise click.UsageError(str(e)) from None


for command in (link.link, records.refs, records.show, db.db, search.search, search.mesh,
                export.export, sql.sql, export.report, collections.collections, link.refresh,
                mirror.mirror):
    main.add_command(command)
