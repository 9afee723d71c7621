"""Initial schema: collections, references, articles and their parts, two views."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Spelled out here rather than imported from schema.py: a revision must not change when the
# live table definitions move on.
JSONList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _pmid(table: str) -> sa.Column:
    return sa.Column(
        "pmid",
        sa.Text,
        sa.ForeignKey("articles.pmid", ondelete="CASCADE", name=f"fk_{table}_pmid_articles"),
        nullable=False,
    )


REFERENCE_LINKS = """
CREATE VIEW reference_links AS
SELECT c.name AS collection, r.key AS key, r.position AS position, r.raw AS raw,
       r.status AS status, r.reason AS reason, r.pmid AS pmid,
       a.title AS title, a.year AS year, a.journal_title AS journal, a.doi AS doi
FROM refs r
JOIN collections c ON c.id = r.collection_id
LEFT JOIN articles a ON a.pmid = r.pmid
"""

# Surrogate keys (prefix "name:", see schema.SURROGATE_PREFIX) show as a NULL UI.
ARTICLE_MESH = """
CREATE VIEW article_mesh AS
SELECT h.pmid AS pmid,
       d.name AS descriptor,
       CASE WHEN substr(d.ui, 1, 5) = 'name:' THEN NULL ELSE d.ui END AS descriptor_ui,
       (h.major OR COALESCE(q.major, h.major)) AS major_topic,
       mq.name AS qualifier,
       CASE WHEN substr(mq.ui, 1, 5) = 'name:' THEN NULL ELSE mq.ui END AS qualifier_ui
FROM article_mesh_headings h
JOIN mesh_descriptors d ON d.ui = h.descriptor_ui
LEFT JOIN article_mesh_qualifiers q ON q.pmid = h.pmid AND q.heading_position = h.position
LEFT JOIN mesh_qualifiers mq ON mq.ui = q.qualifier_ui
"""


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
        sa.UniqueConstraint("name", name="uq_collections_name"),
    )
    op.create_table(
        "refs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("collection_id", sa.Integer, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("authors", JSONList, nullable=False),
        sa.Column("et_al", sa.Boolean, nullable=False),
        sa.Column("group_name", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("title", sa.Text),
        sa.Column("journal", sa.Text),
        sa.Column("volume", sa.Text),
        sa.Column("issue", sa.Text),
        sa.Column("pages", sa.Text),
        sa.Column("first_page", sa.Text),
        sa.Column("doi", sa.Text),
        sa.Column("pmid_given", sa.Text),
        sa.Column("abstract_number", sa.Text),
        sa.Column("parse_reason", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("pmid", sa.Text),
        sa.Column("candidates", JSONList, nullable=False),
        sa.Column("method", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("reason", sa.Text),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_refs"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            ondelete="CASCADE",
            name="fk_refs_collection_id_collections",
        ),
        sa.UniqueConstraint("collection_id", "key", name="uq_refs_collection_id_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'matched', 'ambiguous', 'not_found')",
            name="ck_refs_status",
        ),
    )
    op.create_index("ix_refs_status", "refs", ["status"])
    op.create_index("ix_refs_pmid", "refs", ["pmid"])
    op.create_index("ix_refs_collection_id_position", "refs", ["collection_id", "position"])

    op.create_table(
        "articles",
        sa.Column("pmid", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text),
        sa.Column("journal_title", sa.Text),
        sa.Column("iso_abbreviation", sa.Text),
        sa.Column("medline_ta", sa.Text),
        sa.Column("nlm_unique_id", sa.Text),
        sa.Column("issn", sa.Text),
        sa.Column("issn_linking", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("pub_date", sa.Text),
        sa.Column("volume", sa.Text),
        sa.Column("issue", sa.Text),
        sa.Column("pages", sa.Text),
        sa.Column("start_page", sa.Text),
        sa.Column("end_page", sa.Text),
        sa.Column("elocation", sa.Text),
        sa.Column("doi", sa.Text),
        sa.Column("pmcid", sa.Text),
        sa.Column("languages", JSONList, nullable=False),
        sa.Column("status", sa.Text),
        sa.Column("publication_status", sa.Text),
        sa.Column("is_book", sa.Boolean, nullable=False),
        sa.Column("fetched_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("pmid", name="pk_articles"),
    )
    op.create_index("ix_articles_year", "articles", ["year"])
    op.create_index("ix_articles_journal_title", "articles", ["journal_title"])
    op.create_index("ix_articles_iso_abbreviation", "articles", ["iso_abbreviation"])
    op.create_index("ix_articles_doi", "articles", ["doi"])

    op.create_table(
        "abstract_sections",
        _pmid("abstract_sections"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("nlm_category", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_abstract_sections"),
    )
    op.create_table(
        "authors",
        _pmid("authors"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("last_name", sa.Text),
        sa.Column("fore_name", sa.Text),
        sa.Column("initials", sa.Text),
        sa.Column("collective_name", sa.Text),
        sa.Column("orcid", sa.Text),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_authors"),
    )
    op.create_index("ix_authors_last_name", "authors", ["last_name"])
    op.create_table(
        "affiliations",
        sa.Column("pmid", sa.Text, nullable=False),
        sa.Column("author_position", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("pmid", "author_position", "position", name="pk_affiliations"),
        sa.ForeignKeyConstraint(
            ["pmid", "author_position"],
            ["authors.pmid", "authors.position"],
            ondelete="CASCADE",
            name="fk_affiliations_pmid_author_position_authors",
        ),
    )

    op.create_table(
        "mesh_descriptors",
        sa.Column("ui", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("ui", name="pk_mesh_descriptors"),
    )
    op.create_table(
        "mesh_qualifiers",
        sa.Column("ui", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("ui", name="pk_mesh_qualifiers"),
    )
    op.create_table(
        "article_mesh_headings",
        _pmid("article_mesh_headings"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("descriptor_ui", sa.Text, nullable=False),
        sa.Column("major", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_article_mesh_headings"),
        sa.ForeignKeyConstraint(
            ["descriptor_ui"],
            ["mesh_descriptors.ui"],
            name="fk_article_mesh_headings_descriptor_ui_mesh_descriptors",
        ),
    )
    op.create_index(
        "ix_article_mesh_headings_descriptor_ui", "article_mesh_headings", ["descriptor_ui"]
    )
    op.create_table(
        "article_mesh_qualifiers",
        sa.Column("pmid", sa.Text, nullable=False),
        sa.Column("heading_position", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("descriptor_ui", sa.Text, nullable=False),
        sa.Column("qualifier_ui", sa.Text, nullable=False),
        sa.Column("major", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint(
            "pmid", "heading_position", "position", name="pk_article_mesh_qualifiers"
        ),
        sa.ForeignKeyConstraint(
            ["pmid", "heading_position"],
            ["article_mesh_headings.pmid", "article_mesh_headings.position"],
            ondelete="CASCADE",
            name="fk_article_mesh_qualifiers_heading",
        ),
        sa.ForeignKeyConstraint(
            ["qualifier_ui"],
            ["mesh_qualifiers.ui"],
            name="fk_article_mesh_qualifiers_qualifier_ui_mesh_qualifiers",
        ),
    )
    op.create_index(
        "ix_article_mesh_qualifiers_qualifier_ui", "article_mesh_qualifiers", ["qualifier_ui"]
    )

    op.create_table(
        "publication_types",
        _pmid("publication_types"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("ui", sa.Text),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_publication_types"),
    )
    op.create_index("ix_publication_types_name", "publication_types", ["name"])
    op.create_table(
        "keywords",
        _pmid("keywords"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("major", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_keywords"),
    )
    op.create_table(
        "chemicals",
        _pmid("chemicals"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("ui", sa.Text),
        sa.Column("registry_number", sa.Text),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_chemicals"),
    )
    op.create_table(
        "comments_corrections",
        _pmid("comments_corrections"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ref_type", sa.Text, nullable=False),
        sa.Column("ref_pmid", sa.Text),
        sa.Column("source", sa.Text),
        sa.PrimaryKeyConstraint("pmid", "position", name="pk_comments_corrections"),
    )
    op.create_index("ix_comments_corrections_ref_pmid", "comments_corrections", ["ref_pmid"])

    op.execute(REFERENCE_LINKS)
    op.execute(ARTICLE_MESH)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS article_mesh")
    op.execute("DROP VIEW IF EXISTS reference_links")
    for table in (
        "comments_corrections",
        "chemicals",
        "keywords",
        "publication_types",
        "article_mesh_qualifiers",
        "article_mesh_headings",
        "mesh_qualifiers",
        "mesh_descriptors",
        "affiliations",
        "authors",
        "abstract_sections",
        "articles",
        "refs",
        "collections",
    ):
        op.drop_table(table)
