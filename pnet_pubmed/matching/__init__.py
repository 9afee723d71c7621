"""Citation -> Match: ECitMatch in batches, combined ESearch fallbacks, and a verification score.

    fields   the forms fields are compared in (folded text, surname, volume, page, journal)
    queries  ECitMatch lines, ESearch terms, and whether a record answers a citation's query
    verify   verification and scoring, the decided Match, and where a match differs
    matcher  the Matcher's rounds over a batch, and printed PMIDs and DOIs checked
"""

from __future__ import annotations

from .fields import (
    STOPWORDS,
    cited_journal_forms,
    first_page,
    fold,
    journal_forms,
    nlm_journal,
    query_titles,
    surname_key,
    title_variants,
    volume_key,
)
from .matcher import MAX_CANDIDATES, Matcher, MatchRun, Progress, check_printed_ids
from .queries import (
    LATER_PAPER_YEARS,
    answers_query,
    combine_queries,
    ecitmatch_line,
    ecitmatch_pmid,
    fallback_query,
    title_words,
)
from .verify import (
    ACCEPT_SCORE,
    NOTICE_REF_TYPES,
    NOTICE_TYPES,
    Verdict,
    decide,
    disagreements,
    judge,
    notice_kind,
    raw_support,
    title_similarity,
    verify,
)

__all__ = [
    "ACCEPT_SCORE",
    "LATER_PAPER_YEARS",
    "MAX_CANDIDATES",
    "NOTICE_REF_TYPES",
    "NOTICE_TYPES",
    "STOPWORDS",
    "MatchRun",
    "Matcher",
    "Progress",
    "Verdict",
    "answers_query",
    "check_printed_ids",
    "cited_journal_forms",
    "combine_queries",
    "decide",
    "disagreements",
    "ecitmatch_line",
    "ecitmatch_pmid",
    "fallback_query",
    "first_page",
    "fold",
    "journal_forms",
    "judge",
    "nlm_journal",
    "notice_kind",
    "query_titles",
    "raw_support",
    "surname_key",
    "title_similarity",
    "title_variants",
    "title_words",
    "verify",
    "volume_key",
]
