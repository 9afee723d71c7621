"""SQLAlchemy Core tables of the store, mirroring the head Alembic revision."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..values import MATCH_STATUSES

# Deterministic constraint names on both backends, so later migrations can refer to them
# (SQLite batch migrations need names to drop or alter a constraint).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# JSONB on PostgreSQL so lists can be queried with its operators; JSON text on SQLite.
JSONList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _pmid_fk(name: str = "pmid") -> sa.Column:
    return sa.Column(
        name, sa.Text, sa.ForeignKey("articles.pmid", ondelete="CASCADE"), nullable=False
    )


collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("source", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

refs = sa.Table(
    "refs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "collection_id",
        sa.Integer,
        sa.ForeignKey("collections.id", ondelete="CASCADE"),
        nullable=False,
    ),
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
    # No foreign key: a reference is linked before its record is fetched.
    sa.Column("pmid", sa.Text),
    sa.Column("candidates", JSONList, nullable=False),
    sa.Column("method", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("reason", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("notes", JSONList, nullable=False, server_default="[]"),
    sa.UniqueConstraint("collection_id", "key"),
    sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in MATCH_STATUSES)})", name="status"),
    sa.Index(None, "status"),
    sa.Index(None, "pmid"),
    sa.Index(None, "collection_id", "position"),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("pmid", sa.Text, primary_key=True),
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
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("date_revised", sa.Text),
    sa.Index(None, "year"),
    # Search lists articles newest first, ties by PMID: PostgreSQL walks this backwards
    # (SQLite the year index, whose entries hold the rowid). Revision 0008.
    sa.Index(None, "year", "pmid"),
    # A journal's articles in year order (search --journal; revision 0011).
    sa.Index("ix_articles_journal_title_year", "journal_title", "year", "pmid"),
    sa.Index(None, "iso_abbreviation"),
    sa.Index(None, "doi"),
)

abstract_sections = sa.Table(
    "abstract_sections",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("nlm_category", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("pmid", "position"),
)

authors = sa.Table(
    "authors",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("last_name", sa.Text),
    sa.Column("fore_name", sa.Text),
    sa.Column("initials", sa.Text),
    sa.Column("collective_name", sa.Text),
    sa.Column("orcid", sa.Text),
    sa.PrimaryKeyConstraint("pmid", "position"),
    sa.Index(None, "last_name"),
)

affiliations = sa.Table(
    "affiliations",
    metadata,
    sa.Column("pmid", sa.Text, nullable=False),
    sa.Column("author_position", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("pmid", "author_position", "position"),
    sa.ForeignKeyConstraint(
        ["pmid", "author_position"], ["authors.pmid", "authors.position"], ondelete="CASCADE"
    ),
)

mesh_descriptors = sa.Table(
    "mesh_descriptors",
    metadata,
    sa.Column("ui", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

mesh_qualifiers = sa.Table(
    "mesh_qualifiers",
    metadata,
    sa.Column("ui", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

article_mesh_headings = sa.Table(
    "article_mesh_headings",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("descriptor_ui", sa.Text, sa.ForeignKey("mesh_descriptors.ui"), nullable=False),
    sa.Column("major", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("pmid", "position"),
    sa.Index(None, "descriptor_ui"),
    # Starred headings by descriptor (search --major; revision 0011).
    sa.Index("ix_article_mesh_headings_major", "descriptor_ui", "pmid",
             sqlite_where=sa.text("major"), postgresql_where=sa.text("major")),
)

# Keyed by the heading's position, not its descriptor, so a record that repeats a descriptor
# still round-trips; descriptor_ui is repeated here to query qualifiers without a join.
article_mesh_qualifiers = sa.Table(
    "article_mesh_qualifiers",
    metadata,
    sa.Column("pmid", sa.Text, nullable=False),
    sa.Column("heading_position", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("descriptor_ui", sa.Text, nullable=False),
    sa.Column("qualifier_ui", sa.Text, sa.ForeignKey("mesh_qualifiers.ui"), nullable=False),
    sa.Column("major", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("pmid", "heading_position", "position"),
    sa.ForeignKeyConstraint(
        ["pmid", "heading_position"],
        ["article_mesh_headings.pmid", "article_mesh_headings.position"],
        ondelete="CASCADE",
        name="fk_article_mesh_qualifiers_heading",
    ),
    # A qualifier's pairs by descriptor (search --qualifier, with --mesh; revision 0012).
    sa.Index("ix_article_mesh_qualifiers_pairs", "qualifier_ui", "descriptor_ui", "pmid"),
    # Starred qualifiers by their heading's descriptor (search --major; revision 0011).
    sa.Index("ix_article_mesh_qualifiers_major", "descriptor_ui", "pmid",
             sqlite_where=sa.text("major"), postgresql_where=sa.text("major")),
)

publication_types = sa.Table(
    "publication_types",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("ui", sa.Text),
    sa.PrimaryKeyConstraint("pmid", "position"),
    sa.Index(None, "name"),
)

keywords = sa.Table(
    "keywords",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("major", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("pmid", "position"),
)

chemicals = sa.Table(
    "chemicals",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("ui", sa.Text),
    sa.Column("registry_number", sa.Text),
    sa.PrimaryKeyConstraint("pmid", "position"),
)

comments_corrections = sa.Table(
    "comments_corrections",
    metadata,
    _pmid_fk(),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("ref_type", sa.Text, nullable=False),
    # No foreign key: the other record is usually not in the store.
    sa.Column("ref_pmid", sa.Text),
    sa.Column("source", sa.Text),
    sa.PrimaryKeyConstraint("pmid", "position"),
    sa.Index(None, "ref_pmid"),
    sa.Index(None, "ref_type"),  # search --flag (revision 0008)
)

# Child tables of an article, in an order that deletes dependants before what they refer to.
ARTICLE_CHILD_TABLES = (
    article_mesh_qualifiers,
    article_mesh_headings,
    affiliations,
    authors,
    abstract_sections,
    publication_types,
    keywords,
    chemicals,
    comments_corrections,
)

VIEWS = ("reference_links", "article_mesh", "article_flags")

# -- the local mirror of NLM's baseline and update files (pnet_pubmed/mirror/) -----------------
MIRROR_FILE_STATUSES = ("loading", "loaded", "failed")

# The ledger: one row per file `mirror load` has met, so a file is loaded once and an
# interrupted load resumes at the file it was in.
mirror_files = sa.Table(
    "mirror_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("md5", sa.Text),
    sa.Column("size", sa.BigInteger),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("superseded", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Integer, nullable=False),
    sa.Column("unreadable", sa.Integer, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("keys_version", sa.Integer),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("status IN ('loading', 'loaded', 'failed')", name="status"),
)

# The articles that came from mirror files, with the keys the matcher looks citations up by
# (pnet_pubmed/mirror/keys.py). A record of an article linked through E-utilities alone has none.
mirror_records = sa.Table(
    "mirror_records",
    metadata,
    sa.Column("pmid", sa.Text, sa.ForeignKey("articles.pmid", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("mirror_files.id"), nullable=False),
    sa.Column("year", sa.Integer),
    sa.Column("volume", sa.Text),
    sa.Column("page", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("initial", sa.Text),
    sa.Column("journal", sa.Text),
    sa.Column("doi", sa.Text),
    sa.Index(None, "journal", "volume", "page"),
    sa.Index(None, "journal", "year"),
    sa.Index(None, "author", "year"),
    sa.Index(None, "doi"),
)

# Every folded form of a journal's names (MedlineTA, ISO abbreviation, title) -> its key.
mirror_journals = sa.Table(
    "mirror_journals",
    metadata,
    sa.Column("form", sa.Text, nullable=False),
    sa.Column("journal", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("form", "journal"),
    sqlite_with_rowid=False,
)

# The words of each mirror record's title that a title query can ask for, by year.
mirror_title_words = sa.Table(
    "mirror_title_words",
    metadata,
    sa.Column("word", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("pmid", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("word", "year", "pmid"),
    sqlite_with_rowid=False,
)

# PMIDs of DeleteCitation lists, so that a file older than the one that deleted a record
# cannot bring it back when it is loaded later.
mirror_deletions = sa.Table(
    "mirror_deletions",
    metadata,
    sa.Column("pmid", sa.Text, primary_key=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("mirror_files.id"), nullable=False),
)

MIRROR_TABLES = (mirror_title_words, mirror_journals, mirror_deletions, mirror_records,
                 mirror_files)
