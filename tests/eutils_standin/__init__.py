"""Stand-in NCBI E-utilities server for tests: ESearch, EFetch, ECitMatch, EPost, ESummary."""

from .corpus import default_corpus_files, load_corpus
from .faults import ALL_KINDS, EXTRA_KINDS, KNOWN_KINDS, FaultPlan
from .server import RequestRecord, StandinServer

__all__ = [
    "ALL_KINDS",
    "EXTRA_KINDS",
    "KNOWN_KINDS",
    "FaultPlan",
    "RequestRecord",
    "StandinServer",
    "default_corpus_files",
    "load_corpus",
]
