"""The pnet-pubmed command line: read options, call the library, print. No logic lives here."""

from __future__ import annotations

import functools
import json
import sys

import click

from . import __version__
from .config import Settings

REF_COLUMNS = ("key", "status", "pmid", "method", "score", "candidates", "reason", "notes",
               "raw")


def _errors_as_one_line(func):
    """Known failures print one line and exit 1; Ctrl-C says how to resume."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .citations import CitationInputError
        from .entrez import EntrezError
        from .pipeline import LinkError
        from .store import StoreError

        try:
            return func(*args, **kwargs)
        except (CitationInputError, EntrezError, LinkError, StoreError, ValueError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else repr(exc)
            raise click.ClickException(message) from None
        except KeyboardInterrupt:
            click.echo("Interrupted: what was done is stored; run the same command to resume.",
                       err=True)
            sys.exit(130)

    return wrapper


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
    except ValueError as e:  # a malformed environment variable
        raise click.UsageError(str(e)) from None


def _store(settings: Settings):
    from .store import Store

    return Store(settings.db_url)


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=True, path_type=str))
@click.option("--collection", "-c", metavar="NAME",
              help="Collection name [default: from the file].")
@click.option("--offline", is_flag=True, help="Use only cached answers; others stay pending.")
@click.option("--batch-size", type=click.IntRange(1), default=500, show_default=True,
              help="References matched and committed together.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
@_errors_as_one_line
def link(settings: Settings, file, collection, offline, batch_size, as_json):
    """Match each reference of FILE (default: the bundled list) to PubMed and store the records."""
    from .pipeline import link as run_link

    settings = settings.with_(offline=offline) if offline else settings
    labels = {"ecitmatch": "ECitMatch", "searched": "ESearch", "fetched": "EFetch",
              "batch": "stored"}
    if not sys.stderr.isatty():  # a log file gets the summary, not a redrawn bar
        summary = run_link(file, collection, settings, batch_size=batch_size)
    else:
        with click.progressbar(length=1, label="Linking", file=sys.stderr,
                               show_pos=True) as bar:
            def progress(stage: str, n: int) -> None:
                if stage == "start":  # the pipeline knows the number of references first
                    bar.length = n
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
@click.option("--status", type=click.Choice(["matched", "ambiguous", "not_found", "pending"]))
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table",
              show_default=True)
@click.pass_obj
@_errors_as_one_line
def refs(settings: Settings, collection, status, fmt):
    """One line per reference: status, PMID, method, score, reason."""
    rows = [_ref_row(r) for r in _store(settings).references(collection, status)]
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    # Notes hold commas of their own: "; " between them in a cell.
    rows = [r | {"notes": "; ".join(r["notes"])} for r in rows]
    if fmt == "csv":
        click.echo(_csv(rows, REF_COLUMNS), nl=False)
    else:
        click.echo(_table(rows, ("key", "status", "pmid", "method", "score", "reason", "notes",
                                 "raw"), widths={"raw": 50, "reason": 40, "notes": 40}))


def _ref_row(r: dict) -> dict:
    return {
        "collection": r["collection"],
        "key": r["key"],
        "raw": r["raw"],
        "status": r["status"],
        "pmid": r["pmid"] if r["status"] == "matched" else None,
        "candidates": list(r.get("candidates") or []),
        "method": r.get("method"),
        "score": r.get("score"),
        "reason": r.get("reason"),
        "notes": list(r.get("notes") or []),
    }


@main.command()
@click.argument("pmid")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
@_errors_as_one_line
def show(settings: Settings, pmid, fmt):
    """The stored record of PMID."""
    from .article_dict import article_to_dict

    article = _store(settings).article(pmid.strip())
    if article is None:
        raise click.ClickException(f"PMID {pmid} is not in the database (run link first)")
    data = article_to_dict(article)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(_article_text(data))


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
def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _table(rows: list[dict], columns, widths: dict | None = None) -> str:
    widths = widths or {}
    cells = [[_cell(r.get(c)).replace("\n", " ") for c in columns] for r in rows]
    sizes = []
    for i, c in enumerate(columns):
        longest = max([len(c)] + [len(row[i]) for row in cells])
        sizes.append(min(longest, widths.get(c, 40)))

    def clip(text: str, n: int) -> str:
        return text if len(text) <= n else text[: max(1, n - 1)] + "…"

    out = ["  ".join(c.ljust(sizes[i]) for i, c in enumerate(columns)).rstrip(),
           "  ".join("-" * s for s in sizes)]
    for row in cells:
        out.append("  ".join(clip(v, sizes[i]).ljust(sizes[i]) for i, v in enumerate(row)).rstrip())
    return "\n".join(out)


def _emit(rows: list[dict], fmt: str, columns, table, empty: str) -> None:
    """Rows as JSON, CSV or a table (`table(rows)`); an empty result says so on stderr."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(_csv(rows, columns), nl=False)
    elif not rows:
        click.echo(empty, err=True)
    else:
        click.echo(table(rows))


def _csv(rows: list[dict], columns) -> str:
    """CSV through the one CSV writer (formula cells neutralised); lists joined by commas."""
    from .csvout import write

    def value(v):
        return ",".join(str(x) for x in v) if isinstance(v, list | tuple) else v

    return write(columns, ([value(r.get(c)) for c in columns] for r in rows), float_format=".2f")


# The command modules import the helpers above, so they are attached last.
from .cli_extra import report, sql  # noqa: E402
from .cli_search import export, mesh, search  # noqa: E402

for command in (search, mesh, export, sql, report):
    main.add_command(command)
