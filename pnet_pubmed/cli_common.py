"""What every command of the CLI shares: one-line errors, the store, table/JSON/CSV output."""

from __future__ import annotations

import functools
import json
import sys

import click

from .config import Settings
from .util import first_line


class InternalError(click.ClickException):
    """Not a failure pnet-pubmed knows of: a bug. One line, and how to see the traceback."""

    exit_code = 70  # EX_SOFTWARE


def _errors_as_one_line(func):
    """pnet-pubmed's own failures (PnetPubmedError) print one line and exit 1; anything else is
    a bug and says so in one line (the traceback with -vv); Ctrl-C says how to resume."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import PnetPubmedError

        try:
            return func(*args, **kwargs)
        except PnetPubmedError as exc:
            message = first_line(exc)
            raise click.ClickException(message) from None
        except KeyboardInterrupt:
            click.echo("Interrupted: what was done is stored; run the same command to resume.",
                       err=True)
            sys.exit(130)
        except BrokenPipeError:
            # `pnet-pubmed refs --format jsonl | head`: the reader has all it wants. Python's
            # advice: point stdout at devnull so the interpreter's final flush stays quiet.
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort,
                SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 (a bug: one line here, the traceback with -vv)
            import logging

            logging.getLogger("pnet_pubmed").debug("internal error", exc_info=True)
            first = (str(exc).splitlines() or [""])[0][:200]
            raise InternalError(f"internal error ({type(exc).__name__}: {first}); this is a bug "
                                "in pnet-pubmed: run with -vv to see the traceback, and please "
                                "report it") from None

    return wrapper


def _store(settings: Settings):
    """The Store of the settings' database, with the search index following its saves."""
    from .search.index import SearchIndex
    from .store import Store

    return Store(settings.db_url, index=SearchIndex())


def _known_collection(store, name: str) -> None:
    """A one-line error for a collection name that is not in the database."""
    names = [c["name"] for c in store.collections()]
    if name not in names:
        known = ", ".join(names) or "none yet"
        raise click.ClickException(f"no collection named {name!r} (collections: {known})")


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
