"""The pnet-pubmed command line: click commands over the library (pnet_pubmed.api), no logic.

One module per command group, each a thin layer that reads options, calls the library and
prints: link (link, refresh), records (refs, show), collections (list, delete), search (search,
mesh), export (export, report), sql, db (upgrade), mirror (load, status). output.py prints rows
for all of them (table, JSON, CSV); errors.py is the one error path; app.py is the root group
that holds the global settings and gathers the commands.
"""

from __future__ import annotations

from .app import main

__all__ = ["main"]
