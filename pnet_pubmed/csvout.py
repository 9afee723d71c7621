"""The one CSV writer of the project: every CSV output (refs, search, mesh, export, sql) uses it.

Formula injection: a spreadsheet opening a CSV runs a cell that starts with "=", "+", "-" or
"@" as a formula, and a leading tab or carriage return can hide one. As OWASP recommends
(https://owasp.org/www-community/attacks/CSV_Injection), such a text cell is written with a
single quote in front ("'=HYPERLINK(...)"), which makes the spreadsheet show it as text, and
the csv module quotes every cell that holds a separator, a quote or a line break. Numbers are
numbers, not text: an int, float or Decimal is written as it is, so a negative score stays
"-0.5", while the text "-1 ..." of a reference becomes "'-1 ...". The rule depends on the type
of a value only, never on what the text looks like.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

# OWASP's list: formula starters, and tab / carriage return.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
# RFC 4180's line end. The csv module quotes a cell holding any character of the line end, so
# with CRLF a lone carriage return inside a cell is quoted too (with "\n" it was not).
LINE_END = "\r\n"


def cell(value, *, float_format: str | None = None) -> str:
    """One cell: "" for None, numbers as they are, text with formula starters neutralised."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if float_format and isinstance(value, float):
            return format(value, float_format)
        return str(value)
    text = str(value)
    return ESCAPE + text if text.startswith(FORMULA_START) else text


def write(columns: Sequence[str], rows: Iterable[Sequence], *,
          float_format: str | None = None) -> str:
    """A CSV document: a header line of columns, then one line per row (values in order)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow([cell(c) for c in columns])
    for row in rows:
        writer.writerow([cell(v, float_format=float_format) for v in row])
    return buffer.getvalue()


def write_dicts(columns: Sequence[str], rows: Iterable[Mapping], *,
                float_format: str | None = None) -> str:
    """A CSV document of the given columns of each mapping (missing keys: empty cells)."""
    return write(columns, ([r.get(c) for c in columns] for r in rows),
                 float_format=float_format)
