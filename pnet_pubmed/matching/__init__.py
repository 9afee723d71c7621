"""Citation -> Match: ECitMatch in batches, combined ESearch fallbacks, and a verification score.

    fields   the forms fields are compared in (folded text, surname, volume, page, journal)
    queries  ECitMatch lines, ESearch terms, and whether a record answers a citation's query
    verify   verification and scoring, the decided Match, and where a match differs
    matcher  the Matcher's rounds over a batch, and printed PMIDs and DOIs checked
"""

from __future__ import annotations

from .matcher import MAX_CANDIDATES, Matcher, MatchRun, Progress
from .queries import answers_query, ecitmatch_line, fallback_query
from .verify import NOTICE_TYPES, Verdict, decide, judge, verify

__all__ = [
    "MAX_CANDIDATES",
    "NOTICE_TYPES",
    "MatchRun",
    "Matcher",
    "Progress",
    "Verdict",
    "answers_query",
    "decide",
    "ecitmatch_line",
    "fallback_query",
    "judge",
    "verify",
]
