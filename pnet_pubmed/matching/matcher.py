"""The matcher's rounds for a batch of citations: ECitMatch, ESearch for the rest, one EFetch,
a second chance for ECitMatch answers that fail verification, and printed PMIDs and DOIs checked."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..journals import Journals
from ..util import chunked
from ..values import Article, Citation, Match
from .fields import known_journals
from .queries import (
    answers_query,
    combine_queries,
    ecitmatch_line,
    ecitmatch_pmid,
    fallback_query,
    quoted,
)
from .verify import decide, disagreements, judge, short


@dataclass
class MatchRun:
    """Matches by citation key, and every record fetched on the way (matched or not)."""

    matches: dict[str, Match] = field(default_factory=dict)
    articles: dict[str, Article] = field(default_factory=dict)
    # Records that came back but could not be read: PMID -> "PubMed record PMID N could not …".
    unreadable: dict[str, str] = field(default_factory=dict)

    def matched_articles(self) -> list[Article]:
        pmids = {m.pmid for m in self.matches.values() if m.status == "matched" and m.pmid}
        return [self.articles[p] for p in sorted(pmids, key=int) if p in self.articles]


Progress = Callable[[str, int], None]
# More hits than this for a group of per-citation queries means one of them went broad.
MAX_CANDIDATES = 2000


class Matcher:
    """ECitMatch, ESearch and EFetch for a batch of citations, with as few requests as it can."""

    def __init__(self, client, progress: Progress | None = None,
                 journals: Journals | None = None):
        self.client = client
        self.progress = progress or (lambda stage, n: None)
        self.journals = known_journals(journals)  # what the run knows of journals, passed on

    def fetch(self, pmids: Iterable[str], run: MatchRun) -> None:
        missing = sorted({p for p in pmids if p not in run.articles}, key=int)
        if not missing:
            return
        records = self.client.efetch_records(missing)
        for article in records.articles:
            run.articles[article.pmid] = article
        run.unreadable.update((e.pmid, str(e)) for e in records.errors if e.pmid)
        self.progress("fetched", len(missing))

    def search(self, citations: Sequence[Citation]) -> set[str]:
        ids = self._search_terms([q for q in (fallback_query(c, self.journals) for c in citations)
                                  if q])
        self.progress("searched", len(citations))
        return ids

    def _search_group(self, queries: list[str]) -> set[str]:
        """One ESearch for the group; halves of it when the answer is implausibly large.

        PubMed drops a term it does not know and searches with the rest, so one citation's
        query can turn broad and flood the union; halving finds it and leaves it out.
        """
        count, found = self.client.esearch(combine_queries(queries, len(queries))[0],
                                           retmax=MAX_CANDIDATES)
        if count <= MAX_CANDIDATES:
            return set(found)
        if len(queries) == 1:
            return set()  # too broad to tell anything: the citation goes on without it
        middle = len(queries) // 2
        return self._search_group(queries[:middle]) | self._search_group(queries[middle:])

    def run(self, citations: Sequence[Citation]) -> MatchRun:
        run = MatchRun()
        todo: list[Citation] = []
        given: dict[str, str] = {}
        for c in citations:
            if c.kind == "unparsed":
                run.matches[c.key] = Match(c.key, "not_found", method="parse",
                                           reason=c.reason or "unparsed")
            elif c.kind == "pmid" and c.pmid:
                given[c.key] = c.pmid
            else:
                todo.append(c)

        # Round 1: ECitMatch for the citations it can place, ESearch for the rest, one EFetch.
        # One ECitMatch line a reference: its first reading that ECitMatch can place. The
        # other readings get their chance in the ESearch rounds.
        lines, tagged = [], {}
        for i, c in enumerate(todo):
            for j, reading in enumerate(c.readings):
                line = ecitmatch_line(reading, f"r{i}" if j == 0 else f"r{i}.{j}", self.journals)
                if line:
                    lines.append(line)
                    tagged[line.rsplit("|", 2)[1]] = c
                    break
        found: dict[str, list[str]] = {}
        if lines:
            for answer in self.client.ecitmatch(lines):
                tag = answer.split("|")[5] if answer.count("|") >= 6 else ""
                pmid, _ = ecitmatch_pmid(answer)
                if pmid and tag in tagged and pmid not in found.get(tagged[tag].key, []):
                    found.setdefault(tagged[tag].key, []).append(pmid)
            self.progress("ecitmatch", len(lines))
        fallback = [c for c in todo if c.key not in found]
        candidates = self.search(fallback) if fallback else set()
        printed = {c.pmid for c in todo if c.pmid}
        self.fetch({p for ps in found.values() for p in ps} | candidates | set(given.values())
                   | printed, run)

        for key, pmid in given.items():
            if pmid in run.articles:
                run.matches[key] = Match(key, "matched", pmid=pmid, method="pmid", score=1.0)
            elif pmid in run.unreadable:
                run.matches[key] = Match(key, "pending", method="pmid", reason=run.unreadable[pmid])
            else:
                run.matches[key] = Match(key, "not_found", method="pmid",
                                         reason=f"no PubMed record with PMID {pmid}")

        failed_ecitmatch: list[Citation] = []
        for c in todo:
            if c.key in found:
                articles = [run.articles[p] for p in found[c.key] if p in run.articles]
                m = decide(c, articles, "ecitmatch", self.journals)
                if m.status == "matched":
                    run.matches[c.key] = m
                else:
                    failed_ecitmatch.append(c)
            else:
                run.matches[c.key] = decide(c, self._pool(c, candidates, run), "esearch",
                                            self.journals)

        # Round 2: ECitMatch answers that failed verification get the ESearch treatment too.
        if failed_ecitmatch:
            extra = self.search(failed_ecitmatch)
            self.fetch(extra, run)
            for c in failed_ecitmatch:
                pool = self._pool(c, extra | set(found[c.key]), run)
                m = decide(c, pool, "esearch", self.journals)
                unread = next((run.unreadable[p] for p in found[c.key] if p in run.unreadable),
                              None)
                if unread and m.status != "matched":
                    # ECitMatch named a record that could not be read: undecided, not absent.
                    m = Match(c.key, "pending", method="ecitmatch", reason=unread)
                run.matches[c.key] = m
        # A printed DOI that the linked record does not carry names another record, or none:
        # find it (one ESearch for all of them) and check it against the text.
        unchecked = [c for c in todo if c.doi and not self._doi_seen(c.doi, run)]
        if unchecked:
            self.fetch(self.find_dois([c.doi for c in unchecked if c.doi]), run)
        for c in todo:
            if (c.pmid or c.doi) and run.matches[c.key].status != "pending":
                run.matches[c.key] = check_printed_ids(c, run.matches[c.key], run,
                                                       self.journals)
        return run

    @staticmethod
    def _doi_seen(doi: str, run: MatchRun) -> bool:
        doi = doi.lower()
        return any(a.doi and a.doi.lower() == doi for a in run.articles.values())

    def find_dois(self, dois: list[str]) -> set[str]:
        """PMIDs of the records carrying these DOIs (one ESearch per batch of them)."""
        return self._search_terms([f"{quoted(doi)}[doi]" for doi in dois])

    def _search_terms(self, terms: list[str]) -> set[str]:
        ids: set[str] = set()
        for group in chunked(terms, self.client.settings.esearch_batch):
            ids.update(self._search_group(group))
        return ids

    def _pool(self, citation: Citation, pmids: set[str], run: MatchRun) -> list[Article]:
        """The records the citation's own query brought back, in PMID order."""
        return [run.articles[p] for p in sorted(pmids, key=int)
                if p in run.articles and answers_query(citation, run.articles[p], self.journals)]


# -- identifiers printed in a reference ------------------------------------------------------
def _with_note(m: Match, note: str) -> Match:
    if m.status == "matched":
        return replace(m, notes=(*m.notes, note))
    return replace(m, reason=f"{m.reason}; {note}" if m.reason else note)


def check_printed_ids(citation: Citation, m: Match, run: MatchRun,
                      journals: Journals | None = None) -> Match:
    """A PMID or DOI printed in a full reference is used, and checked: when its record does not
    fit the printed title and authors, the reference is linked to neither that record nor
    another one silently; the reason says what disagrees."""
    checks: list[tuple[str, str, Article]] = []
    if citation.pmid:
        record = run.articles.get(citation.pmid)
        if record is None:
            if citation.pmid in run.unreadable:
                return m
            return _with_note(m, f"the printed PMID {citation.pmid} has no PubMed record")
        checks.append(("PMID", citation.pmid, record))
    if citation.doi:
        doi = citation.doi.lower()
        record = next((a for a in run.articles.values() if a.doi and a.doi.lower() == doi), None)
        if record is not None and all(record.pmid != r.pmid for _, _, r in checks):
            checks.append(("DOI", citation.doi, record))
    for label, ident, record in checks:
        v = judge(citation, record, journals)
        named = f"the printed {label} {ident} is PMID {record.pmid}"
        if v.accepted:
            if m.status == "matched" and m.pmid == record.pmid:
                continue
            if m.status == "matched":
                return Match(citation.key, "ambiguous", candidates=(m.pmid or "", record.pmid),
                             method=m.method, score=m.score,
                             reason=f"{named}, and PMID {m.pmid} fits the reference too")
            return Match(citation.key, "matched", pmid=record.pmid, method=label.lower(),
                         score=v.score,
                         notes=disagreements(v.reading or citation, record, journals))
        what = "; ".join(v.conflicts) or f"score {v.score:.2f}"
        described = f"{named}, another work ({short(record.title, 50)!r}, {v.where}: {what})"
        if m.status == "matched":
            return Match(citation.key, "ambiguous", candidates=(m.pmid or "", record.pmid),
                         method=m.method, score=m.score,
                         reason=f"{described}; PMID {m.pmid} fits the title and authors")
        return Match(citation.key, "not_found", method=m.method, reason=described)
    return m
