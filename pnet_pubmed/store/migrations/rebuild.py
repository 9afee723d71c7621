"""What a revision calls to rebuild the article index (the search index) it changed.

The store does not know how the index is built: Store.upgrade hands its ArticleIndex to the
migrations as the Alembic attribute "article_index" (Store(url, index=SearchIndex())).
"""

from __future__ import annotations

import sqlalchemy as sa

from ...errors import StoreError


def rebuild_article_index(op) -> None:
    """Rebuild the index of every stored article in the migration's transaction."""
    bind = op.get_bind()
    config = op.get_context().config
    index = config.attributes.get("article_index") if config is not None else None
    if index is None:
        if bind.execute(sa.text("SELECT 1 FROM articles LIMIT 1")).first() is None:
            return  # nothing stored: nothing to index
        raise StoreError("this upgrade rebuilds the search index: run `pnet-pubmed db upgrade`, "
                         "or open the Store with index=SearchIndex() (pnet_pubmed.search.index)")
    index.rebuild(bind)
