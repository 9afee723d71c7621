"""What each article's search document holds, read in plain SQL for the index and the snippets.

One statement reads any number of articles' fields, each list as a JSON array from a correlated
subquery (SQLite's json_group_array over an ordered subquery, PostgreSQL's json_agg … ORDER
BY), so that a search reads its hits' details in the statement that ranks them, and the index
reads a chunk of articles in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..store.dbapi import ReadConnection, in_list
from .snippets import Document

# The JSON arrays that make an article's document, each ordered as the record has it.
# name: (value, FROM … WHERE on the pmid expression {pmid}, ORDER BY).
DOCUMENT_LISTS = {
    # Section texts without their labels: "METHODS" in every structured abstract is noise.
    "abstract": ("x.text", "abstract_sections x WHERE x.pmid = {pmid}", "x.position"),
    "mesh": ("d.name", "article_mesh_headings x JOIN mesh_descriptors d "
                       "ON d.ui = x.descriptor_ui WHERE x.pmid = {pmid}", "x.position"),
    # Substance names are MeSH too (supplementary concepts): "everolimus" is often only there.
    "chemicals": ("x.name", "chemicals x WHERE x.pmid = {pmid}", "x.position"),
    "keywords": ("x.text", "keywords x WHERE x.pmid = {pmid}", "x.position"),
}


def json_list(dialect: str, value: str, source: str, order: str) -> str:
    """A scalar subquery: the JSON array of `value` over `FROM source`, ordered by `order`.

    A value that is itself JSON (an array of two) keeps its structure on both backends when
    written as json_array(…) on SQLite and json_build_array(…) on PostgreSQL."""
    if dialect == "sqlite":
        # The subquery keeps the order; json() gives back the JSON subtype a subquery drops.
        element = "json(v)" if value.startswith("json_array(") else "v"
        return (f"(SELECT json_group_array({element}) FROM "
                f"(SELECT {value} AS v FROM {source} ORDER BY {order}))")
    value = value.replace("json_array(", "json_build_array(")
    return f"(SELECT coalesce(json_agg({value} ORDER BY {order}), '[]') FROM {source})"


def document_columns(dialect: str, pmid: str) -> list[str]:
    """The select-list expressions of an article's document lists (see DOCUMENT_LISTS), for the
    article whose pmid is the SQL expression pmid."""
    return [json_list(dialect, value, source.format(pmid=pmid), order)
            for value, source, order in DOCUMENT_LISTS.values()]


def as_list(value: Any) -> list:
    """A JSON array as the driver returns it (text from sqlite3, a list from psycopg)."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        return json.loads(value)
    return list(value)


def document(title: str | None, abstract: Any, mesh: Any, chemicals: Any,
             keywords: Any) -> Document:
    """An article's Document from the values of document_columns."""
    headings = as_list(mesh)
    for name in as_list(chemicals):
        if name not in headings:
            headings.append(name)
    return Document(title=title or "", abstract="\n".join(as_list(abstract)),
                    mesh="; ".join(headings), keywords="; ".join(as_list(keywords)))


def documents(conn: ReadConnection, pmids: Sequence[str]) -> dict[str, Document]:
    """The text of each stored article as the index sees it; absent PMIDs are left out."""
    if not pmids:
        return {}
    params: dict[str, Any] = {}
    columns = ", ".join(document_columns(conn.dialect, "a.pmid"))
    rows = conn.rows(f"SELECT a.pmid, a.title, {columns} FROM articles a "
                     f"WHERE a.pmid IN {in_list('p', pmids, params)}", params)
    return {row[0]: document(*row[1:]) for row in rows}
