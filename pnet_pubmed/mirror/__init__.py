"""A local mirror of PubMed from NLM's baseline and update files, and matching against it.

load.py loads files into the store (`pnet-pubmed mirror load`); match.py gives the matcher the
mirror as its source of candidates, with the same verification as for E-utilities.
"""

from .files import MirrorFileError
from .load import FileOutcome, LoadSummary, load, status

__all__ = ["FileOutcome", "LoadSummary", "MirrorFileError", "load", "status"]
