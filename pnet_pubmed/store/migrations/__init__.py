"""Alembic migrations of the store; Store.upgrade() runs them, no alembic.ini needed."""
