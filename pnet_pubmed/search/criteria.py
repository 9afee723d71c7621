"""From what a user asks to Filters: query parts with value tags, and the search options.

The query's full-text part that ranks the search is split off (split); what is left, and every
option (--mesh, --author, --journal, --year, --type, --collection, --flag), becomes a Filter.
MeSH headings are resolved with the shipped vocabulary and exploded (headings.py); journal
names and publication types are matched against the values the database holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..store.dbapi import ReadConnection
from .compile import to_fts5, to_tsquery
from .errors import SearchError
from .filters import (
    Filter,
    Member,
    Params,
    all_of,
    any_of,
    article_filter,
    author_filter,
    collection_filter,
    flag_filter,
    mesh_filter,
    none_of,
    type_filter,
    ui_member,
)
from .plan import TextMatch
from .query import And, Field, Node, Not, Or, is_text, parse_year_range
from .tokens import FIRST_AUTHOR, author_key


def _distinct(conn: ReadConnection, table: str, column: str, *also: str) -> list[tuple]:
    """The distinct values of an indexed column, one index seek each (a loose index scan),
    with the other columns of one row per value."""
    extra = "".join(
        f", (SELECT {c} FROM {table} WHERE {column} = v.x LIMIT 1) AS {c}" for c in also
    )
    return conn.rows(
        f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM {table} UNION ALL "
        f"SELECT (SELECT min({column}) FROM {table} WHERE {column} > v.x) FROM v "
        f"WHERE v.x IS NOT NULL) SELECT x{extra} FROM v WHERE x IS NOT NULL"
    )


def _journal_key(text: str | None) -> str:
    # "N. Engl. J. Med." and "N Engl J Med" alike: no dots, lower case, single spaces.
    return " ".join((text or "").replace(".", "").lower().split())


_ISSN = re.compile(r"\d{4}-?\d{3}[\dXx]")


def journal_filter(conn: ReadConnection, params: Params, journal: str) -> Filter:
    """Articles of the journals whose title, MEDLINE or ISO abbreviation is `journal`, or whose
    full title starts with it ("Journal of clinical oncology" for its subtitled title), or of
    the journal with this ISSN."""
    key = _journal_key(journal)
    if not key:
        raise SearchError("--journal needs a journal name, abbreviation or ISSN")
    issn = journal.strip().upper()
    if _ISSN.fullmatch(issn):
        issn = issn if "-" in issn else f"{issn[:4]}-{issn[4:]}"
        value = params.add(issn)
        return article_filter(conn.dialect,
                              lambda a: f"({a}.issn = {value} OR {a}.issn_linking = {value})",
                              label="journal")
    # Journals are few next to articles: match their names here, then use the title index.
    titles = [
        row[0]
        for row in _distinct(conn, "articles", "journal_title", "medline_ta", "iso_abbreviation")
        if key in (_journal_key(row[0]), _journal_key(row[1]), _journal_key(row[2]))
        or _journal_key(row[0]).startswith(key + " ")
    ]
    names = params.add_list(titles)
    return article_filter(conn.dialect, lambda a: f"{a}.journal_title IN {names}", label="journal")


def type_names(conn: ReadConnection, publication_type: str) -> list[str]:
    """The stored publication type names that are this name (any case) or UI."""
    want = publication_type.strip()
    return [row[0] for row in _distinct(conn, "publication_types", "name", "ui")
            if row[0].lower() == want.lower() or (row[1] or "") == want.upper()]


def year_filter(dialect: str, params: Params, year_from: int | None,
                year_to: int | None) -> Filter:
    """Articles published in the range (either end may be open)."""
    bounds = [(">=", params.add(year_from)) if year_from is not None else None,
              ("<=", params.add(year_to)) if year_to is not None else None]
    used = [b for b in bounds if b is not None]
    return article_filter(
        dialect, lambda a: " AND ".join(f"{a}.year {op} {value}" for op, value in used),
        label="year")


def split(node: Node | None) -> tuple[Node | None, list[Node]]:
    """The full-text part of a query that ranks it (None: no ranking), and the rest: parts
    with value tags, which select articles as filters do."""
    if node is None or is_text(node):
        return node, []
    if isinstance(node, And):
        text = [c for c in node.children if is_text(c)]
        if any(not isinstance(c, Not) for c in text):
            rest = [c for c in node.children if not is_text(c)]
            return (text[0] if len(text) == 1 else And(tuple(text))), rest
        return None, list(node.children)
    return None, [node]


class Criteria:
    """Filters built on one connection and one Params; notes collects the lines that say which
    descriptor an entry term stood for."""

    def __init__(self, conn: ReadConnection, params: Params) -> None:
        self.conn = conn
        self.params = params
        self.notes: list[str] = []

    def text(self, node: Node) -> Filter:
        """Articles whose text matches a full-text node."""
        dialect = self.conn.dialect
        match = TextMatch(dialect, self.params.add(to_fts5(node) if dialect == "sqlite"
                                                   else to_tsquery(node)))
        return Filter(check=match.check, source=match.source(), label="text")

    def predicate(self, node: Node) -> Filter:
        """A part of a query with value tags; its full-text parts are matched in it."""
        if isinstance(node, Field):
            return self.field(node)
        if isinstance(node, Not):
            return none_of(self.predicate(node.child))
        if is_text(node):
            return self.text(node)
        assert isinstance(node, And | Or)
        # The full-text children together: one match (an AND of them needs a positive one).
        text = [c for c in node.children if is_text(c)]
        grouped = bool(text) and (isinstance(node, Or)
                                  or any(not isinstance(c, Not) for c in text))
        filters = [self.predicate(c) for c in node.children if not (grouped and is_text(c))]
        if grouped:
            filters.insert(0, self.text(text[0] if len(text) == 1 else type(node)(tuple(text))))
        return all_of(filters) if isinstance(node, And) else any_of(filters)

    def heading(self, term: str, explode: bool, qualifiers: Member | None = None,
                major: bool = False) -> Filter:
        """Articles indexed with a MeSH heading (and the descriptors below it when explode)."""
        from .headings import resolve  # the vocabulary only when a heading is asked for

        found = resolve(self.conn, term, explode)
        if found.note and found.note not in self.notes:
            self.notes.append(found.note)
        return mesh_filter(self.conn.dialect, ui_member(self.conn.dialect, self.params, found.uis),
                           qualifiers, major, f"MeSH {found.name}")

    def field(self, field: Field) -> Filter:
        """The articles a value tag selects: [au], [1au], [mh], [majr] (and :noexp), [pt],
        [ta], [dp], [pmid], [doi]."""
        tag, value, params = field.tag, field.value, self.params
        where = f"[{tag}] at column {field.column}"
        if tag in ("au", "1au"):
            key = author_key(value)
            if not key:
                raise SearchError(f"{where} needs a name, e.g. Yao JC[{tag}]")
            return author_filter(self.conn.dialect, params,
                                 (FIRST_AUTHOR if tag == "1au" else "") + key, tag)
        if tag in ("mh", "mh:noexp", "majr", "majr:noexp"):
            return self.heading(value, explode=not tag.endswith(":noexp"),
                                major=tag.startswith("majr"))
        if tag == "pt":
            return type_filter(self.conn.dialect, params, type_names(self.conn, value))
        if tag == "ta":
            return journal_filter(self.conn, params, value)
        if tag == "dp":
            try:
                return year_filter(self.conn.dialect, params, *parse_year_range(value))
            except SearchError as e:
                raise SearchError(f"{where}: {e}; [dp] takes years, as 2011[dp] or "
                                  "2009:2015[dp]") from None
        if tag == "pmid":
            if not (value.isascii() and value.isdigit() and len(value) <= 9):
                raise SearchError(f"{where}: {value!r} is not a PMID")
            pmid = params.add(value.lstrip("0") or "0")
            return article_filter(self.conn.dialect, lambda a: f"{a}.pmid = {pmid}", label=tag)
        # A DOI as typed, or in lower or upper case (DOIs are the same in any case).
        forms = sorted({value, value.lower(), value.upper()})
        dois = params.add_list(forms)
        return article_filter(self.conn.dialect, lambda a: f"{a}.doi IN {dois}", label=tag)

    def options(self, mesh: Sequence[str], explode: bool, major: bool, qualifier: str | None,
                author: str | None, journal: str | None, year: tuple[int | None, int | None],
                publication_type: str | None, collection: str | None,
                flags: Sequence[str]) -> list[Filter]:
        """A filter for each search option given."""
        dialect, params = self.conn.dialect, self.params
        quals = None if qualifier is None else qualifier_uis(qualifier, params)
        found = [self.heading(term, explode, quals, major) for term in mesh]
        if quals is not None and not mesh:
            found.append(mesh_filter(dialect, None, quals, major, "qualifier"))
        if author is not None:
            found.append(author_filter(dialect, params, author_key(author)))
        if publication_type is not None:
            found.append(type_filter(dialect, params, type_names(self.conn, publication_type)))
        if collection is not None:
            found.append(collection_filter(dialect, params, collection))
        if year != (None, None):
            found.append(year_filter(dialect, params, *year))
        if journal is not None:
            found.append(journal_filter(self.conn, params, journal))
        found += [flag_filter(dialect, params, flag) for flag in flags]
        return found


def qualifier_uis(value: str, params: Params) -> Member:
    """Membership in the MeSH qualifiers whose name (any case) or UI is value."""
    name = params.add(value.strip().lower())
    ui = params.add(value.strip().upper())
    return lambda col: (f"{col} IN (SELECT ui FROM mesh_qualifiers WHERE lower(name) = {name} "
                        f"OR ui = {ui})")
