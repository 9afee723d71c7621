"""Major topics: partial indexes of the starred headings and qualifiers by descriptor.

`search --mesh X --major` (and [majr]) selects the articles where X is a major topic: the
heading is starred, or one of its qualifiers is. It read every heading of X (and of the
headings under it, exploded) from the table and looked up each one's qualifiers: at 1,000,000
articles about 0.3 s on PostgreSQL, most of it reading heap rows. With these two indexes the
articles are the starred headings of X plus the starred qualifiers under X (article_mesh_qualifiers
repeats its heading's descriptor_ui), each read from a small index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0011_major_topics"
down_revision = "0010_search_words"
branch_labels = None
depends_on = None

INDEXES = (("ix_article_mesh_headings_major", "article_mesh_headings"),
           ("ix_article_mesh_qualifiers_major", "article_mesh_qualifiers"))


def upgrade() -> None:
    for name, table in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} (descriptor_ui, pmid) WHERE major")


def downgrade() -> None:
    for name, _table in INDEXES:
        op.execute(f"DROP INDEX {name}")
