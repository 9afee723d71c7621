"""The one error path of the CLI: every failure is one line, and a bug says it is one.

Commands are made with `Command` and `Group` (cli/app.py's group passes them on to its
subcommands), whose invoke runs inside `one_line_errors`:

* PnetPubmedError (pnet_pubmed.errors: bad input, NCBI, the database, a query) prints
  `Error: <its first line>` and exits 1;
* anything else is a bug: `Error: internal error (…); this is a bug in pnet-pubmed: …`, exit 70,
  the traceback in the log with -vv;
* Ctrl-C says how to resume (exit 130); a closed pipe (`… | head`) ends quietly.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..errors import PnetPubmedError
from ..util import first_line


class InternalError(click.ClickException):
    """Not a failure pnet-pubmed knows of: a bug. One line, and how to see the traceback."""

    exit_code = 70  # EX_SOFTWARE


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Failures inside the block as one line and an exit status (see the module doc)."""
    try:
        yield
    except PnetPubmedError as exc:
        raise click.ClickException(first_line(exc)) from None
    except KeyboardInterrupt:
        click.echo("Interrupted: what was done is stored; run the same command to resume.",
                   err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `pnet-pubmed refs --format jsonl | head`: the reader has all it wants. Python's
        # advice: point stdout at devnull so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 (a bug: one line here, the traceback with -vv)
        logging.getLogger("pnet_pubmed").debug("internal error", exc_info=True)
        first = (str(exc).splitlines() or [""])[0][:200]
        raise InternalError(f"internal error ({type(exc).__name__}: {first}); this is a bug "
                            "in pnet-pubmed: run with -vv to see the traceback, and please "
                            "report it") from None


class Command(click.Command):
    """A command whose failures take the one error path."""

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


class Group(click.Group):
    """A group whose own callback and subcommands take the one error path; commands and groups
    made with its .command() and .group() are Command and Group."""

    command_class = Command
    group_class = type  # subgroups: this class

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)
