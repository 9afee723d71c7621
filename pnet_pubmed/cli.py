"""The pnet-pubmed command line: read options, call the library, print. No logic lives here."""

from __future__ import annotations

import json
import re
import sys

import click

from . import __version__
from .cli_common import (  # noqa: F401 (used by the command modules too)
    InternalError,
    _csv,
    _emit,
    _errors_as_one_line,
    _known_collection,
    _store,
    _table,
)
from .config import Settings
from .errors import InputError
from .values import MATCH_STATUSES

REF_COLUMNS = ("collection", "key", "status", "pmid", "flags", "method", "score", "candidates",
               "reason", "notes", "raw")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    from . import logs

    logs.configure(verbose)
    ctx.call_on_close(logs.reset)
    try:
        ctx.obj = Settings.from_env(db_url=db_url, cache_dir=cache_dir, eutils_url=eutils_url,
                                    email=email, api_key=api_key)
    except InputError as e:  # a malformed environment variable
        raise click.UsageError(str(e)) from None


@main.command()
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
@_errors_as_one_line
def link(settings: Settings, file, collection, offline, batch_size, source, as_json):
    """Match each reference of FILE (default: the bundled list; "-": standard input) to PubMed
    and store the records."""
    from .pipeline import link as run_link

    settings = settings.with_(offline=offline) if offline else settings
    settings = settings.with_(source=source)
    labels = {"ecitmatch": "ECitMatch", "searched": "ESearch", "fetched": "EFetch",
              "batch": "stored"}
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
                bar.label = f"Linking ({labels.get(stage, stage)})"
                if stage == "batch":
                    bar.update(n)
                else:
                    bar.render_progress()

            summary = run_link(file, collection, settings, batch_size=batch_size,
                               progress=progress)
    data = summary.as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
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
    click.echo(
        f"HTTP requests sent: {data['requests_sent']}, answers from the cache: "
        f"{data['from_cache']}, retries: {data['retries']}, {data['seconds']:.1f} s"
    )


@main.command()
@click.option("--collection", "-c", metavar="NAME")
@click.option("--status", type=click.Choice(MATCH_STATUSES))
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table",
              show_default=True)
@click.pass_obj
@_errors_as_one_line
def refs(settings: Settings, collection, status, fmt):
    """One line per reference: status, PMID, flags, method, score, reason.

    FLAGS mark a linked record that PubMed says was retracted, got an expression of concern,
    an erratum or an updated version, each with the PMID of the notice ("retracted 99000102").
    """
    store = _store(settings)
    if collection is not None:
        _known_collection(store, collection)
    refs = store.references(collection, status)
    flags = store.article_flags(r["pmid"] for r in refs if r["status"] == "matched" and r["pmid"])
    rows = [_ref_row(r, flags) for r in refs]
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    # Flags and notes hold commas of their own: "; " between them in a cell.
    rows = [r | {"notes": "; ".join(r["notes"]), "flags": _flags_text(r["flags"])} for r in rows]
    if fmt == "csv":
        click.echo(_csv(rows, REF_COLUMNS), nl=False)
    else:
        columns: tuple[str, ...] = ("key", "status", "pmid", "flags", "method", "score",
                                    "reason", "notes", "raw")
        if collection is None:  # several lists: say which one each reference is of
            columns = ("collection", *columns)
        click.echo(_table(rows, columns, widths={"raw": 50, "reason": 40, "notes": 40,
                                                 "flags": 44, "collection": 24}))


def _ref_row(r: dict, flags: dict | None = None) -> dict:
    linked = r["status"] == "matched"
    return {
        "collection": r["collection"],
        "key": r["key"],
        "raw": r["raw"],
        "status": r["status"],
        "pmid": r["pmid"] if linked else None,
        "flags": [f.as_dict() for f in (flags or {}).get(r["pmid"], ())] if linked else [],
        "candidates": list(r.get("candidates") or []),
        "method": r.get("method"),
        "score": r.get("score"),
        "reason": r.get("reason"),
        "notes": list(r.get("notes") or []),
    }


def _flags_text(flags: list[dict]) -> str:
    """'retracted 99000102; erratum 99000103' for a table or CSV cell."""
    return "; ".join(f"{f['flag']} {f['notice_pmid']}" if f["notice_pmid"] else f["flag"]
                     for f in flags)


@main.command()
@click.argument("pmid")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
@_errors_as_one_line
def show(settings: Settings, pmid, fmt):
    """The stored record of PMID; a retraction, expression of concern, erratum or update first."""
    from .article_dict import article_to_dict
    from .flags import article_flags

    pmid = pmid.strip()
    if not re.fullmatch(r"\d{1,9}", pmid):
        shown = pmid if len(pmid) <= 40 else pmid[:39] + "…"
        raise click.ClickException(f"{shown!r} is not a PMID (a PMID is a number, e.g. 21306238)")
    article = _store(settings).article(pmid)
    if article is None:
        raise click.ClickException(f"PMID {pmid} is not in the database (run link first)")
    flags = article_flags(article)
    data = article_to_dict(article) | {"flags": [f.as_dict() for f in flags]}
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo("\n".join([*(f.describe() for f in flags), _article_text(data)]))


def _article_text(d: dict) -> str:
    journal = d["journal"].get("iso_abbreviation") or d["journal"].get("title") or ""
    where = f"{journal}. {d.get('pub_date') or d.get('year') or ''}"
    if d.get("volume"):
        where += f";{d['volume']}"
        if d.get("issue"):
            where += f"({d['issue']})"
    if d.get("pages"):
        where += f":{d['pages']}"
    names = [a.get("collective_name") or f"{a.get('last_name') or ''} {a.get('initials') or ''}"
             for a in d.get("authors", [])]
    lines = [f"PMID {d['pmid']}" + (f"  doi:{d['doi']}" if d.get("doi") else ""),
             d["title"], ", ".join(n.strip() for n in names), where, ""]
    if d.get("abstract"):
        lines += [d["abstract"], ""]
    if d.get("publication_types"):
        lines.append("Publication types: " + "; ".join(d["publication_types"]))
    if d.get("mesh"):
        lines.append("MeSH:")
        for h in d["mesh"]:
            star = "*" if h["major"] else ""
            quals = ", ".join(("*" if q["major"] else "") + q["name"] for q in h["qualifiers"])
            tail = f" / {quals}" if quals else ""
            lines.append(f"  {star}{h['descriptor']} [{h['ui']}]{tail}")
    if d.get("status") or d.get("date_revised"):
        lines.append(f"Record: {d.get('status') or 'no status'}, revised "
                     f"{d.get('date_revised') or 'unknown'}")
    return "\n".join(lines)


@main.group()
def db():
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
@_errors_as_one_line
def db_upgrade(settings: Settings):
    """Create or migrate the schema to the current version."""
    _store(settings).upgrade()
    click.echo("database schema is up to date")


# -- output helpers ----------------------------------------------------------------------------


# The command modules import the helpers above, so they are attached last.
from .cli_collections import collections, refresh  # noqa: E402
from .cli_extra import report, sql  # noqa: E402
from .cli_mirror import mirror  # noqa: E402
from .cli_search import export, mesh, search  # noqa: E402

for command in (search, mesh, export, sql, report, collections, refresh, mirror):
    main.add_command(command)
