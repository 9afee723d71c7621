"""Indexes for filters: major topics, and a journal's articles by year.

`search --mesh X --major` (and [majr]) selects the articles where X is a major topic: the
heading is starred, or one of its qualifiers is. It read every heading of X (and of the
headings under it, exploded) from the table and looked up each one's qualifiers: at 1,000,000
articles about 0.3 s on PostgreSQL, most of it reading heap rows. With two partial indexes the
articles are the starred headings of X plus the starred qualifiers under X
(article_mesh_qualifiers repeats its heading's descriptor_ui), each read from a small index.

`search --journal J` lists a journal's articles newest first: the index of journal titles
alone made every search read and sort all of the journal's article rows (70-90 ms at
1,000,000 articles on SQLite for J Clin Oncol, 6 ms with this index). (journal_title, year,
pmid) gives them in year order and holds what the filter reads, so that counting them reads
no row.
"""

from __future__ import annotations

from alembic import op

revision = "0011_filter_indexes"
down_revision = "0010_search_words"
branch_labels = None
depends_on = None

PARTIAL = (("ix_article_mesh_headings_major", "article_mesh_headings"),
           ("ix_article_mesh_qualifiers_major", "article_mesh_qualifiers"))


def upgrade() -> None:
    for name, table in PARTIAL:
        op.execute(f"CREATE INDEX {name} ON {table} (descriptor_ui, pmid) WHERE major")
    op.create_index("ix_articles_journal_title_year", "articles",
                    ["journal_title", "year", "pmid"])
    op.drop_index("ix_articles_journal_title", "articles")


def downgrade() -> None:
    op.create_index("ix_articles_journal_title", "articles", ["journal_title"])
    op.drop_index("ix_articles_journal_title_year", "articles")
    for name, _table in PARTIAL:
        op.execute(f"DROP INDEX {name}")
