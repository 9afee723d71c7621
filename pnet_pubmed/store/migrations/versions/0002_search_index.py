"""Full-text search index: FTS5 on SQLite, tsvector + GIN on PostgreSQL; author lookup keys."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite: the indexed text lives in article_search, an ordinary table with a stable integer id;
# article_fts is an external-content FTS5 index over it, kept in step by triggers. The id
# cannot be articles.rowid, which VACUUM may renumber.
SQLITE = (
    """
    CREATE TABLE article_search (
        id INTEGER PRIMARY KEY,
        pmid TEXT NOT NULL UNIQUE REFERENCES articles (pmid) ON DELETE CASCADE,
        title TEXT NOT NULL DEFAULT '',
        abstract TEXT NOT NULL DEFAULT '',
        mesh TEXT NOT NULL DEFAULT '',
        keywords TEXT NOT NULL DEFAULT ''
    )
    """,
    # remove_diacritics 2 folds accents on every letter; prefix indexes make "ab*" cheap.
    """
    CREATE VIRTUAL TABLE article_fts USING fts5 (
        title, abstract, mesh, keywords,
        content = 'article_search', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2',
        prefix = '2 3'
    )
    """,
    """
    CREATE TRIGGER article_search_ai AFTER INSERT ON article_search BEGIN
        INSERT INTO article_fts (rowid, title, abstract, mesh, keywords)
        VALUES (new.id, new.title, new.abstract, new.mesh, new.keywords);
    END
    """,
    """
    CREATE TRIGGER article_search_ad AFTER DELETE ON article_search BEGIN
        INSERT INTO article_fts (article_fts, rowid, title, abstract, mesh, keywords)
        VALUES ('delete', old.id, old.title, old.abstract, old.mesh, old.keywords);
    END
    """,
    """
    CREATE TRIGGER article_search_au AFTER UPDATE ON article_search BEGIN
        INSERT INTO article_fts (article_fts, rowid, title, abstract, mesh, keywords)
        VALUES ('delete', old.id, old.title, old.abstract, old.mesh, old.keywords);
        INSERT INTO article_fts (rowid, title, abstract, mesh, keywords)
        VALUES (new.id, new.title, new.abstract, new.mesh, new.keywords);
    END
    """,
)

# PostgreSQL: one tsvector per article, built in Python from folded tokens (no unaccent
# extension needed) with labels A title, B MeSH, C keywords, D abstract.
POSTGRESQL = (
    """
    CREATE TABLE article_search (
        pmid TEXT NOT NULL,
        document TSVECTOR NOT NULL,
        CONSTRAINT pk_article_search PRIMARY KEY (pmid),
        CONSTRAINT fk_article_search_pmid_articles FOREIGN KEY (pmid)
            REFERENCES articles (pmid) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX ix_article_search_document ON article_search USING GIN (document)",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE if dialect == "sqlite" else POSTGRESQL:
        op.execute(statement)
    # Folded author names ("oberg", "oberg k"), so --author ignores case and accents.
    op.create_table(
        "article_author_keys",
        sa.Column(
            "pmid",
            sa.Text,
            sa.ForeignKey(
                "articles.pmid", ondelete="CASCADE", name="fk_article_author_keys_pmid_articles"
            ),
            nullable=False,
        ),
        sa.Column("key", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", "pmid", name="pk_article_author_keys"),
    )
    op.create_index("ix_article_author_keys_pmid", "article_author_keys", ["pmid"])
    # Index what earlier revisions stored. The code lives with the search module, which
    # always writes the current index format.
    from pnet_pubmed.store.search import reindex_all

    reindex_all(op.get_bind())


def downgrade() -> None:
    op.drop_table("article_author_keys")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("article_search_au", "article_search_ad", "article_search_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS article_fts")
    op.execute("DROP TABLE IF EXISTS article_search")
