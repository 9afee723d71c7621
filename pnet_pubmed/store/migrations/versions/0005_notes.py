"""references.notes: where a matched reference differs from its record (a list of strings)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_notes"
down_revision = "0003_readonly_role"
branch_labels = None
depends_on = None

JSONList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: SQLite needs no table rebuild (which the views
    # over refs would not survive).
    op.add_column("refs", sa.Column("notes", JSONList, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("refs", "notes")
