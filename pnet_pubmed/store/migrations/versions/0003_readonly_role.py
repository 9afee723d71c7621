"""PostgreSQL: the read-only role and function that `pnet-pubmed sql` runs statements under.

Nothing on SQLite, whose `sql` connection is opened read-only. On PostgreSQL see
pnet_pubmed/store/readonly.py; a role that may not create roles leaves the schema without them
(and `sql` refuses to run), and Store.upgrade() installs them at a later upgrade by one that may.
"""

from __future__ import annotations

from alembic import op

from pnet_pubmed.store import readonly

revision = "0003_readonly_role"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        readonly.install(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        readonly.uninstall(conn)
