"""The MeSH profile of a collection: each descriptor, its articles, its major-topic articles.

With a depth, descriptors are rolled up the MeSH tree first (headings.roll_up): an article
counts once under each heading at that level that one of its descriptors rolls up to, and as
a major topic there when one of those descriptors is starred.
"""

from __future__ import annotations

import json
from typing import Any

from .engine import check_database, reading, translated
from .errors import SearchError
from .filters import Params
from .results import MeshCount

# store/schema.py's prefix of the key of a descriptor stored without a UI (a test checks).
SURROGATE_PREFIX = "name:"
STARRED = ("(h.major OR EXISTS (SELECT 1 FROM article_mesh_qualifiers q WHERE q.pmid = h.pmid "
           "AND q.heading_position = h.position AND q.major))")
N_ARTICLES = "count(DISTINCT h.pmid)"
N_MAJOR = f"count(DISTINCT CASE WHEN {STARRED} THEN h.pmid END)"


def mesh_profile(
    source: Any, collection: str | None = None, major: bool = False, top: int | None = 20,
    depth: int | None = None,
) -> list[dict]:
    """Descriptors of a collection's matched articles (all stored articles without one):
    how many articles carry each, and how many as a major topic, most frequent first.

    With major, only descriptors that are a major topic somewhere, ranked by that count. With
    depth, the descriptors rolled up to that level of the MeSH tree (1 = Neoplasms).
    source is what search() takes: a database URL, a Store, an Engine or a Connection.
    """
    if top is not None and top < 1:
        raise SearchError(f"--top must be at least 1, not {top}")
    if depth is not None and (isinstance(depth, bool) or depth < 1):
        raise SearchError(f"--depth must be at least 1, not {depth}")
    params = Params()
    where = ""
    if collection is not None:
        where = ("WHERE h.pmid IN (SELECT r.pmid FROM refs r JOIN collections c "
                 f"ON c.id = r.collection_id WHERE c.name = {params.add(collection)} "
                 "AND r.status = 'matched')")
    with translated(), reading(source) as conn:
        check_database(conn, collection)
        if depth is None:
            rows = conn.rows(
                f"SELECT d.ui, d.name, {N_ARTICLES}, {N_MAJOR} FROM article_mesh_headings h "
                f"JOIN mesh_descriptors d ON d.ui = h.descriptor_ui {where} "
                "GROUP BY d.ui, d.name", params)
        else:
            rows = _rolled_up(conn, where, params, depth)
    counts = [
        MeshCount(descriptor=name, ui=None if ui.startswith(SURROGATE_PREFIX) else ui,
                  articles=int(articles), major_articles=int(starred))
        for ui, name, articles, starred in rows if not major or starred
    ]
    if major:
        counts.sort(key=lambda m: (-m.major_articles, -m.articles, m.descriptor))
    else:
        counts.sort(key=lambda m: (-m.articles, -m.major_articles, m.descriptor))
    return [m.as_dict() for m in counts[:top]]


def _rolled_up(conn, where: str, params: Params, depth: int) -> list[tuple]:
    """(ui, name, articles, major articles) of each heading at the depth."""
    from .headings import names, roll_up  # the vocabulary only for a roll-up

    stored = dict(conn.rows(
        "SELECT d.ui, d.name FROM mesh_descriptors d WHERE d.ui IN "
        f"(SELECT DISTINCT h.descriptor_ui FROM article_mesh_headings h {where})", params))
    pairs = [[ui, up] for ui, ups in roll_up(stored, depth).items() for up in ups]
    value = params.add(json.dumps(pairs))
    if conn.dialect == "sqlite":
        mapping = (f"SELECT json_extract(value, '$[0]') AS ui, json_extract(value, '$[1]') AS up "
                   f"FROM json_each({value})")
    else:
        mapping = ("SELECT e->>0 AS ui, e->>1 AS up "
                   f"FROM json_array_elements(CAST({value} AS json)) e")
    rows = conn.rows(
        f"WITH m AS ({mapping}) SELECT m.up, {N_ARTICLES}, {N_MAJOR} "
        f"FROM article_mesh_headings h JOIN m ON m.ui = h.descriptor_ui {where} GROUP BY m.up",
        params)
    known = names(up for up, _, _ in rows)
    return [(up, known.get(up) or stored.get(up, up), n, starred) for up, n, starred in rows]
