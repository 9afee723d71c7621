"""Alembic revisions of the store, one linear history shared by both backends."""
