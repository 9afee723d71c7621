"""Alembic environment: migrates the connection that Store.upgrade() passes in."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

config = context.config
connection = config.attributes.get("connection")


def _run(conn: sa.Connection) -> None:
    # No target_metadata: revisions are written by hand so that each one stays fixed in time.
    context.configure(connection=conn, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    # Only for developers running the alembic command line with -x / sqlalchemy.url set.
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (alembic -x or alembic.ini) to the database")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
