"""The MeSH profile of a collection: each descriptor, its articles, its major-topic articles."""

from __future__ import annotations

from typing import Any

from .engine import check_database, reading, translated
from .errors import SearchError
from .filters import Params
from .results import MeshCount

# store/schema.py's prefix of the key of a descriptor stored without a UI (a test checks).
SURROGATE_PREFIX = "name:"


def mesh_profile(
    source: Any, collection: str | None = None, major: bool = False, top: int | None = 20
) -> list[dict]:
    """Descriptors of a collection's matched articles (all stored articles without one):
    how many articles carry each, and how many as a major topic, most frequent first.

    With major, only descriptors that are a major topic somewhere, ranked by that count.
    source is what search() takes: a database URL, a Store, an Engine or a Connection.
    """
    if top is not None and top < 1:
        raise SearchError(f"--top must be at least 1, not {top}")
    params = Params()
    starred = ("(h.major OR EXISTS (SELECT 1 FROM article_mesh_qualifiers q WHERE q.pmid = h.pmid "
               "AND q.heading_position = h.position AND q.major))")
    n_articles = "count(DISTINCT h.pmid)"
    n_major = f"count(DISTINCT CASE WHEN {starred} THEN h.pmid END)"
    where = ""
    if collection is not None:
        where = ("WHERE h.pmid IN (SELECT r.pmid FROM refs r JOIN collections c "
                 f"ON c.id = r.collection_id WHERE c.name = {params.add(collection)} "
                 "AND r.status = 'matched')")
    order = (f"HAVING {n_major} > 0 ORDER BY {n_major} DESC, {n_articles} DESC, d.name"
             if major else f"ORDER BY {n_articles} DESC, {n_major} DESC, d.name")
    limit = "" if top is None else f" LIMIT {params.add(top)}"
    statement = (f"SELECT d.name, d.ui, {n_articles}, {n_major} FROM article_mesh_headings h "
                 f"JOIN mesh_descriptors d ON d.ui = h.descriptor_ui {where} "
                 f"GROUP BY d.ui, d.name {order}{limit}")
    with translated(), reading(source) as conn:
        check_database(conn, collection)
        rows = conn.rows(statement, params)
    return [
        MeshCount(
            descriptor=name,
            ui=None if ui.startswith(SURROGATE_PREFIX) else ui,
            articles=int(articles),
            major_articles=int(major_articles),
        ).as_dict()
        for name, ui, articles, major_articles in rows
    ]
