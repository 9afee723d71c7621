"""The MeSH profile of a collection: each descriptor, its articles, its major-topic articles."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import schema as t
from .engine import _database_errors, _db_error, _reading
from .errors import SearchError
from .results import MeshCount


def mesh_profile(
    source, collection: str | None = None, major: bool = False, top: int | None = 20
) -> list[dict]:
    """Descriptors of a collection's matched articles (all stored articles without one):
    how many articles carry each, and how many as a major topic, most frequent first.

    With major, only descriptors that are a major topic somewhere, ranked by that count.
    """
    if top is not None and top < 1:
        raise SearchError(f"--top must be at least 1, not {top}")
    h, d, q = t.article_mesh_headings.c, t.mesh_descriptors.c, t.article_mesh_qualifiers
    r, c = t.refs.c, t.collections.c
    starred = sa.or_(
        h.major == sa.true(),
        sa.exists().where(q.c.pmid == h.pmid, q.c.heading_position == h.position,
                          q.c.major == sa.true()),
    )
    n_articles = sa.func.count(sa.distinct(h.pmid))
    n_major = sa.func.count(sa.distinct(sa.case((starred, h.pmid))))
    stmt = (
        sa.select(d.name, d.ui, n_articles.label("articles"), n_major.label("major_articles"))
        .join_from(t.article_mesh_headings, t.mesh_descriptors, d.ui == h.descriptor_ui)
        .group_by(d.ui, d.name)
    )
    if collection is not None:
        stmt = stmt.where(h.pmid.in_(
            sa.select(r.pmid)
            .join_from(t.refs, t.collections, r.collection_id == c.id)
            .where(c.name == collection, r.status == "matched")
        ))
    if major:
        stmt = stmt.having(n_major > 0).order_by(n_major.desc(), n_articles.desc(), d.name)
    else:
        stmt = stmt.order_by(n_articles.desc(), n_major.desc(), d.name)
    if top is not None:
        stmt = stmt.limit(top)
    try:
        with _reading(source) as conn:
            if collection is not None and conn.execute(
                sa.select(c.id).where(c.name == collection)
            ).first() is None:
                raise SearchError(f"no collection named {collection!r}")
            rows = conn.execute(stmt).all()
    except SearchError:
        raise
    except _database_errors() as e:
        raise _db_error(e) from e
    return [
        MeshCount(
            descriptor=row.name,
            ui=None if row.ui.startswith(t.SURROGATE_PREFIX) else row.ui,
            articles=int(row.articles),
            major_articles=int(row.major_articles),
        ).as_dict()
        for row in rows
    ]
