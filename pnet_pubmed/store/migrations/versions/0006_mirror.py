"""The local mirror of NLM's baseline and update files: the file ledger and the lookup keys."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_mirror"
down_revision = "0007_records_current"  # re-chained after merging main (was 0002)
branch_labels = None
depends_on = None

# Spelled out here rather than imported from schema.py: a revision must not change when the
# live table definitions move on.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mirror_files",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
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
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_mirror_files"),
        sa.UniqueConstraint("name", name="uq_mirror_files_name"),
        sa.CheckConstraint("status IN ('loading', 'loaded', 'failed')",
                           name="ck_mirror_files_status"),
    )
    op.create_table(
        "mirror_records",
        sa.Column("pmid", sa.Text, nullable=False),
        sa.Column("file_id", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer),
        sa.Column("volume", sa.Text),
        sa.Column("page", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("initial", sa.Text),
        sa.Column("journal", sa.Text),
        sa.Column("doi", sa.Text),
        sa.PrimaryKeyConstraint("pmid", name="pk_mirror_records"),
        sa.ForeignKeyConstraint(["pmid"], ["articles.pmid"], ondelete="CASCADE",
                                name="fk_mirror_records_pmid_articles"),
        sa.ForeignKeyConstraint(["file_id"], ["mirror_files.id"],
                                name="fk_mirror_records_file_id_mirror_files"),
    )
    op.create_index("ix_mirror_records_journal_volume_page", "mirror_records",
                    ["journal", "volume", "page"])
    op.create_index("ix_mirror_records_journal_year", "mirror_records", ["journal", "year"])
    op.create_index("ix_mirror_records_author_year", "mirror_records", ["author", "year"])
    op.create_index("ix_mirror_records_doi", "mirror_records", ["doi"])
    op.create_table(
        "mirror_journals",
        sa.Column("form", sa.Text, nullable=False),
        sa.Column("journal", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("form", "journal", name="pk_mirror_journals"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "mirror_title_words",
        sa.Column("word", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("pmid", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("word", "year", "pmid", name="pk_mirror_title_words"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "mirror_deletions",
        sa.Column("pmid", sa.Text, nullable=False),
        sa.Column("file_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("pmid", name="pk_mirror_deletions"),
        sa.ForeignKeyConstraint(["file_id"], ["mirror_files.id"],
                                name="fk_mirror_deletions_file_id_mirror_files"),
    )


def downgrade() -> None:
    for table in ("mirror_deletions", "mirror_title_words", "mirror_journals", "mirror_records",
                  "mirror_files"):
        op.drop_table(table)
