"""One root for every error pnet-pubmed raises on purpose, and the kinds below it.

A caller catches `PnetPubmedError` for "pnet-pubmed could not do it, and says why in one line";
anything else escaping the package is a bug. The CLI prints these as one line and exits 1.
"""

from __future__ import annotations


class PnetPubmedError(Exception):
    """Something pnet-pubmed cannot do; str() is one line that says what and, where it can,
    what was kept."""


class InputError(PnetPubmedError, ValueError):
    """A reference list, a file or an argument that cannot be read or used."""


class NCBIError(PnetPubmedError, RuntimeError):
    """An E-utilities step that failed for good (after retries)."""


class StoreError(PnetPubmedError):
    """The database could not be opened, migrated, read or written."""


class QueryError(PnetPubmedError, ValueError):
    """A search query or an SQL statement that cannot be run."""


class LinkError(PnetPubmedError, RuntimeError):
    """A link run that cannot go on; what was stored stays."""
