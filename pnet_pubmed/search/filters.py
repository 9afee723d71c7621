"""Search filters as SQL: each says which articles pass it, in two forms the planner combines.

A Filter's `check(pmid)` is a boolean SQL expression on a PMID expression (an EXISTS keyed by
the PMID, or a condition on the articles row): it tests one article. Its `source` is a SELECT of
the PMIDs that pass it, to drive a search from the filter when few articles pass it (None when
it cannot, as for a negation). Values are bound parameters, collected in a Params.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..flags import REF_TYPES, RETRACTED_PUBLICATION


class Params(dict):
    """Bound values of a statement under generated names (:p0, :p1, …)."""

    def add(self, value: Any) -> str:
        name = f"p{len(self)}"
        self[name] = value
        return f":{name}"

    def add_list(self, values: Iterable[Any]) -> str:
        """`(:p3, :p4)` for an IN list; `(NULL)` (nothing matches) when there are no values."""
        names = [self.add(v) for v in values]
        return "(" + (", ".join(names) or "NULL") + ")"


@dataclass(frozen=True)
class Filter:
    """Articles that pass a condition (see the module's docstring)."""

    check: Callable[[str], str]
    source: str | None
    label: str = ""
    # A condition on the articles row (year, journal) on a given alias of it: checked in place
    # where the query reads that row anyway.
    row: Callable[[str], str] | None = None


def _unindexed(dialect: str, column: str) -> str:
    # SQLite has no statistics (nothing runs ANALYZE): in a lookup keyed by the PMID it may as
    # soon walk the index of the other column for every article. A unary + keeps it off.
    return f"+{column}" if dialect == "sqlite" else column


def exists(dialect: str, body: str) -> str:
    """EXISTS (SELECT 1 FROM body): a lookup for the one article the check is about. On
    PostgreSQL with OFFSET 0, which keeps the planner from turning it into a join over every
    row that passes (a plan that depends on its estimates; this one is the same every time)."""
    return f"EXISTS (SELECT 1 FROM {body}{' OFFSET 0' if dialect == 'postgresql' else ''})"


def _table_filter(dialect: str, table: str, where: Callable[[Callable[[str], str]], str],
                  label: str) -> Filter:
    """A filter on the rows of `table x` (a table or a join) with a `pmid` column x.pmid;
    where(col) is the condition, col wrapping each compared column."""
    def plain(c: str) -> str:
        return c

    def unindexed(c: str) -> str:
        return _unindexed(dialect, c)

    return Filter(
        check=lambda pmid: exists(dialect, f"{table} WHERE x.pmid = {pmid} AND "
                                           f"{where(unindexed)}"),
        source=f"SELECT x.pmid FROM {table} WHERE {where(plain)}",
        label=label,
    )


# A condition that a column's value is in a set: member(column) -> SQL.
Member = Callable[[str], str]


def mesh_filter(dialect: str, descriptors: Member | None, qualifiers: Member | None,
                major: bool, label: str) -> Filter:
    """Articles indexed with one of the descriptors (None: any), with one of the qualifiers
    under it when given, as a major topic when major (the pair Descriptor/qualifier is major
    when either half is starred)."""
    if qualifiers is None and major:
        return _major_filter(dialect, descriptors, label)
    if qualifiers is None:
        def where(col) -> str:
            return descriptors(col("x.descriptor_ui")) if descriptors is not None else "1 = 1"

        return _table_filter(dialect, "article_mesh_headings x", where, label)

    def pair_where(col) -> str:
        out = [qualifiers(col("x.qualifier_ui"))]
        if descriptors is not None:
            out.append(descriptors(col("x.descriptor_ui")))
        if major:
            out.append(f"({col('h.major')} OR {col('x.major')})")
        return " AND ".join(out)

    # The qualifier's rows name their heading's descriptor: only --major reads the heading.
    pairs = "article_mesh_qualifiers x" + (
        " JOIN article_mesh_headings h ON h.pmid = x.pmid AND h.position = x.heading_position"
        if major else "")
    return _table_filter(dialect, pairs, pair_where, label)


def _major_filter(dialect: str, descriptors: Member | None, label: str) -> Filter:
    """Articles with one of the descriptors (None: any) as a major topic: a starred heading, or
    a starred qualifier under it (article_mesh_qualifiers repeats its heading's descriptor_ui).
    Both halves are read from the partial indexes of starred rows by descriptor (revision
    0011); a check looks up the article's own rows by their primary keys."""
    tables = ("article_mesh_headings", "article_mesh_qualifiers")

    def where(col) -> str:
        out = [] if descriptors is None else [descriptors(col("x.descriptor_ui"))]
        return " AND ".join([*out, "x.major"])

    def check(pmid: str) -> str:
        found = [exists(dialect, f"{t} x WHERE x.pmid = {pmid} AND "
                                 f"{where(lambda c: _unindexed(dialect, c))}") for t in tables]
        return "(" + " OR ".join(found) + ")"

    source = " UNION ALL ".join(f"SELECT x.pmid FROM {t} x WHERE {where(lambda c: c)}"
                                for t in tables)
    return Filter(check=check, source=source, label=label)


def ui_member(dialect: str, params: Params, uis: Sequence[str]) -> Member:
    """Membership in a set of UIs bound as one value, however many (an exploded heading has
    hundreds): a JSON array on SQLite; an array on PostgreSQL, compared with = ANY so that
    the planner sees the values (and its statistics of them)."""
    if dialect == "sqlite":
        import json

        value = params.add(json.dumps(list(uis)))
        return lambda col: f"{col} IN (SELECT value FROM json_each({value}))"
    value = params.add(list(uis))
    return lambda col: f"{col} = ANY(CAST({value} AS text[]))"


def author_filter(dialect: str, params: Params, key: str, label: str = "author") -> Filter:
    """Articles with an author under this key of article_author_keys (its primary key is
    (key, pmid): a check is one lookup)."""
    value = params.add(key)
    return Filter(
        check=lambda pmid: exists(dialect, f"article_author_keys k WHERE k.key = {value} "
                                           f"AND k.pmid = {pmid}"),
        source=f"SELECT k.pmid FROM article_author_keys k WHERE k.key = {value}",
        label=label,
    )


def type_filter(dialect: str, params: Params, names: Sequence[str]) -> Filter:
    """Articles with one of these publication types (exact stored names)."""
    wanted = params.add_list(names)
    return _table_filter(dialect, "publication_types x",
                         lambda col: f"{col('x.name')} IN {wanted}", "publication type")


def collection_filter(dialect: str, params: Params, collection: str) -> Filter:
    """Articles a matched reference of the collection links to."""
    name = params.add(collection)
    refs = ("refs r JOIN collections c ON c.id = r.collection_id "
            f"WHERE c.name = {name} AND r.status = 'matched'")
    return Filter(
        check=lambda pmid: exists(dialect, f"{refs} AND r.pmid = {pmid}"),
        source=f"SELECT r.pmid FROM {refs}",
        label="collection",
    )


def flag_filter(dialect: str, params: Params, flag: str) -> Filter:
    """Articles with this flag (retracted, expression_of_concern, erratum, updated), by the rule
    of pnet_pubmed/flags.py and the view article_flags: a CommentsCorrections entry of the
    flag's RefType, or for retracted the publication type Retracted Publication."""
    ref_types = params.add_list(sorted(r for r, f in REF_TYPES.items() if f == flag))
    parts = [_table_filter(dialect, "comments_corrections x",
                           lambda col: f"{col('x.ref_type')} IN {ref_types}", flag)]
    if flag == "retracted":
        ui, name = (params.add(v) for v in RETRACTED_PUBLICATION)
        parts.append(_table_filter(
            dialect, "publication_types x",
            lambda col: f"({col('x.ui')} = {ui} OR {col('x.name')} = {name})", flag))
    return any_of(parts, label=f"flag {flag}")


def article_filter(dialect: str, condition: Callable[[str], str], label: str = "") -> Filter:
    """Articles whose row satisfies condition(alias), a condition on that alias of articles."""
    return Filter(
        check=lambda pmid: exists(dialect, f"articles ar WHERE ar.pmid = {pmid} "
                                           f"AND {condition('ar')}"),
        source=f"SELECT a.pmid FROM articles a WHERE {condition('a')}",
        label=label,
        row=condition,
    )


def any_of(filters: Sequence[Filter], label: str = "") -> Filter:
    """Articles that pass at least one of the filters."""
    sources = [f.source for f in filters]
    return Filter(
        check=lambda pmid: "(" + " OR ".join(f"({f.check(pmid)})" for f in filters)
                           + ")",
        source=None if None in sources else " UNION ".join(s for s in sources if s),
        label=label,
    )


def all_of(filters: Sequence[Filter], label: str = "") -> Filter:
    """Articles that pass every filter (the source of the first that has one drives)."""
    driver = next((f for f in filters if f.source is not None), None)
    return Filter(
        check=lambda pmid: "(" + " AND ".join(f"({f.check(pmid)})" for f in filters)
                           + ")",
        source=None if driver is None else (
            f"SELECT d.pmid FROM ({driver.source}) d WHERE "
            + " AND ".join(f"({f.check('d.pmid')})" for f in filters if f is not driver)
            if len(filters) > 1 else driver.source),
        label=label,
    )


def none_of(inner: Filter, label: str = "") -> Filter:
    """Articles that do not pass the filter."""
    return Filter(check=lambda pmid: f"NOT ({inner.check(pmid)})", source=None,
                  label=label)
