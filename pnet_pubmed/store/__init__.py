"""Local database of references, matches and PubMed records (SQLite or PostgreSQL)."""

from .store import Store, StoreError

__all__ = ["Store", "StoreError"]
