"""PostgreSQL: the search index's GIN takes new entries through its pending list (fastupdate).

With fastupdate off (revision 0002), every stored article inserted each of its few hundred
lexemes into the GIN tree one by one: about 1 ms of server CPU an article, most of the cost of
loading a mirror. With it on, new entries go to the pending list and are merged into the tree in
bulk, sorted (five times less work), and every writer of the index (search/index.py, the mirror
loader) merges its pending entries before it commits (gin_clean_pending_list). So a committed
index has an empty pending list, as before: searches neither scan one nor see the index as
dearer; only a search that runs during a write may scan that write's pending entries.
SQLite: nothing changes.
"""

from __future__ import annotations

from alembic import op

revision = "0009_gin_pending_list"
down_revision = "0008_search_index"
branch_labels = None
depends_on = None

GIN_INDEX = "ix_article_search_document"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {GIN_INDEX} SET (fastupdate = on)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT gin_clean_pending_list('{GIN_INDEX}'::regclass)")
        op.execute(f"ALTER INDEX {GIN_INDEX} SET (fastupdate = off)")
