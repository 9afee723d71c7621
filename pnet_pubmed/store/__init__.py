"""Local database of references, matches and PubMed records (SQLite or PostgreSQL).

The Store (store.py) reads and writes through SQLAlchemy; dbapi.py opens light read
connections without it. Names are loaded on first use, so that importing pnet_pubmed.store.dbapi
does not import SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["Store", "StoreError"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(import_module(".store", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
