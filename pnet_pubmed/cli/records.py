"""The commands that show what is stored: refs (the references and their links) and show."""

from __future__ import annotations

import click

from .. import api
from ..config import Settings
from ..errors import InputError
from ..values import MATCH_STATUSES
from .errors import Command
from .output import echo_json, emit

REF_COLUMNS = ("collection", "key", "status", "pmid", "flags", "method", "score", "candidates",
               "reason", "notes", "raw")
REF_TABLE = ("key", "status", "pmid", "flags", "method", "score", "reason", "notes", "raw")
REF_WIDTHS = {"raw": 50, "reason": 40, "notes": 40, "flags": 44, "collection": 24}


@click.command(cls=Command)
@click.option("--collection", "-c", metavar="NAME")
@click.option("--status", type=click.Choice(MATCH_STATUSES))
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table",
              show_default=True)
@click.pass_obj
def refs(settings: Settings, collection, status, fmt):
    """One line per reference: status, PMID, flags, method, score, reason.

    FLAGS mark a linked record that PubMed says was retracted, got an expression of concern,
    an erratum or an updated version, each with the PMID of the notice ("retracted 99000102").
    """
    found = api.refs(collection, db=settings.db_url, status=status)
    rows = [_ref_row(r) for r in found]
    if fmt == "jsonl":
        emit(rows, fmt, REF_COLUMNS)
        return
    # Flags ("retracted 99000102") and notes hold commas of their own: "; " between them.
    rows = [row | {"notes": "; ".join(r.notes), "flags": "; ".join(map(str, r.flags))}
            for row, r in zip(rows, found, strict=True)]
    if fmt == "table" and collection is None:  # several lists: say which one each is of
        emit(rows, fmt, ("collection", *REF_TABLE), widths=REF_WIDTHS)
    else:
        emit(rows, fmt, REF_COLUMNS if fmt == "csv" else REF_TABLE, widths=REF_WIDTHS)


def _ref_row(r: api.Reference) -> dict:
    """A reference as refs --format jsonl prints it."""
    return {"collection": r.collection, "key": r.key, "raw": r.raw, "status": r.status,
            "pmid": r.pmid, "flags": [f.as_dict() for f in r.flags],
            "candidates": list(r.candidates),
            "method": r.method, "score": r.score, "reason": r.reason, "notes": list(r.notes)}


@click.command(cls=Command)
@click.argument("pmid")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def show(settings: Settings, pmid, fmt):
    """The stored record of PMID; a retraction, expression of concern, erratum or update first."""
    from ..article_dict import article_to_dict
    from ..flags import article_flags

    article = api.article(pmid, db=settings.db_url)
    if article is None:
        raise InputError(f"PMID {pmid.strip()} is not in the database (run link first)")
    flags = article_flags(article)
    data = article_to_dict(article) | {"flags": [f.as_dict() for f in flags]}
    if fmt == "json":
        echo_json(data)
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
