"""How every command prints rows: an aligned table, JSON, JSON lines or CSV (through csvout).

A command hands over its rows (dicts) and the columns to show; `emit` writes them in the format
asked for. Tables are for people (long cells clipped with "…", floats with two decimals); JSON
keeps every value exact (dates as ISO text, decimals as numbers, bytes as base64); CSV goes
through pnet_pubmed.csvout, the one CSV writer, which defuses spreadsheet formulas.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import click

Rows = Sequence[Mapping[str, Any]]


def emit(rows: Rows, fmt: str, columns: Sequence[str], *, widths: Mapping[str, int] | None = None,
         render: Callable[[Rows], str] | None = None, empty: str | None = None,
         exact: bool = False) -> None:
    """Rows in fmt ("table", "json", "jsonl" or "csv"). A table shows columns (render, when
    given, draws it instead); an empty result prints `empty` on stderr rather than a bare
    header, when given. exact: CSV cells as the values are (no two-decimal floats, lists and
    objects as JSON), for values a user's own SQL returned."""
    if fmt == "json":
        echo_json(list(rows))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=plain))
    elif fmt == "csv":
        click.echo(to_csv(rows, columns, exact=exact), nl=False)
    elif not rows and empty is not None:
        click.echo(empty, err=True)
    else:
        click.echo(render(rows) if render else table(rows, columns, widths))


def echo_json(data: Any) -> None:
    """One JSON document, indented, non-ASCII kept as it is."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=plain))


def plain(value: Any) -> Any:
    """A JSON value for what json cannot write itself: a driver's dates, decimals, UUIDs,
    bytes (json.dumps calls it for those only)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_csv(rows: Rows, columns: Sequence[str], *, exact: bool = False) -> str:
    """CSV through the one CSV writer (formula cells neutralised). Lists are joined by commas
    and floats have two decimals, as in a table; exact keeps every digit and writes lists and
    objects as JSON."""
    from .. import csvout

    if exact:
        return csvout.write(columns, ([_exact(r.get(c)) for c in columns] for r in rows))

    def value(v: Any) -> Any:
        return ",".join(str(x) for x in v) if isinstance(v, list | tuple) else v

    return csvout.write(columns, ([value(r.get(c)) for c in columns] for r in rows),
                        float_format=".2f")


def _exact(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=plain)
    if isinstance(value, datetime | date | time | timedelta | Decimal | UUID | bytes | bytearray
                  | memoryview):
        return plain(value)
    return value


def cell(value: Any) -> str:
    """A value as a table shows it: nothing for None, lists joined by commas, two decimals."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def table(rows: Rows, columns: Sequence[str], widths: Mapping[str, int] | None = None) -> str:
    """An aligned text table: a header, a rule, one line per row; a cell longer than its
    column's width (default 40) is clipped with "…"."""
    widths = widths or {}
    cells = [[cell(r.get(c)).replace("\n", " ") for c in columns] for r in rows]
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
