"""Matching against the mirror: the same Matcher, with the mirror as its source of records.

MirrorMatcher runs matching.Matcher's own rounds (ECitMatch, then the fallback queries, then a
second chance for ECitMatch answers that fail verification) and its own decide/judge/verify and
answers_query; only where records come from changes:

- ECitMatch: each citation line (journal|year|volume|first page|author) is looked up in
  mirror_records by journal and volume/page or year, and checked as ECitMatch checks it (the
  same rules as the tests' stand-in server): one record is its PMID, several are AMBIGUOUS.
- The fallback query of a citation: for each of its readings, the records its clauses would
  bring back (first author + year ±1 + journal; title words + year ±1; journal + volume + first
  page; DOI) are read from indexed columns. A citation whose clauses bring back more than
  matching.MAX_CANDIDATES records gets none, as a query that goes that broad on PubMed is left
  out by the Matcher.
- EFetch: records are read from the store.

Every record answers_query accepts for a citation is among what its clauses find, and the pool
of a citation is those records, as the E-utilities path pools what its queries return and
answers_query accepts. So both paths decide on the same records.

LinkMatcher is what `link` runs: the mirror first, then E-utilities for the references the
mirror does not match (source "auto"), or the mirror alone ("mirror").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from pnet_pubmed.eutils import NotCachedError
from pnet_pubmed.journals import Journals
from pnet_pubmed.matching.fields import (
    cited_journal_forms,
    first_page,
    fold,
    journal_forms,
    query_titles,
    surname_key,
    title_variants,
    volume_key,
)
from pnet_pubmed.matching.matcher import MAX_CANDIDATES, Matcher, MatchRun, Progress
from pnet_pubmed.matching.queries import LATER_PAPER_YEARS, answers_query, title_words
from pnet_pubmed.store import schema as t
from pnet_pubmed.values import Article, Author, Citation, Match

SOURCES = ("auto", "mirror", "eutils")
# Words probed for their frequency at most this far: enough to tell a rare word from a common one.
PROBE_LIMIT = 5000
_APOSTROPHES = re.compile(r"['’‘`´]")


class MirrorError(RuntimeError):
    """Matching cannot use the mirror as asked (one-line message)."""


def has_mirror(store) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(t.mirror_records.c.pmid).limit(1)).first() is not None


def _name_words(text: str | None) -> list[str]:
    return fold(_APOSTROPHES.sub("", text or "")).split()


def _author_matches(author: Author, query: list[str]) -> bool:
    """ECitMatch's author check: "surname initials" against any author of the record."""
    if author.collective_name:
        return bool(query) and set(query) <= set(_name_words(author.collective_name))
    last = " ".join(_name_words(author.last_name))
    if not last:
        return False
    initials = "".join(_name_words(author.initials))
    for k in range(1, len(query) + 1):
        if " ".join(query[:k]) == last:
            rest = query[k:]
            if not rest or initials.startswith("".join(rest)):
                return True
    return False


def _record_first_page(article: Article) -> str:
    """The first page as ECitMatch reads it: StartPage, else MedlinePgn up to "-"."""
    if article.start_page:
        return article.start_page.strip().lower()
    return re.split(r"[-;,\s]", (article.pages or "").strip().lower(), maxsplit=1)[0]


@dataclass
class _Clauses:
    """The lookups of one reading's fallback query."""

    authors: list[tuple[str, str | None, tuple[int, int] | None, bool]] = field(
        default_factory=list)  # surname, initial, years, journals must match
    titles: list[tuple[list[str], tuple[int, int] | None]] = field(default_factory=list)
    coordinates: list[tuple[str, str]] = field(default_factory=list)  # volume key, first page
    dois: list[str] = field(default_factory=list)
    journals: set[str] = field(default_factory=set)  # folded cited forms


class MirrorIndex:
    """Look-ups in the mirror tables, and records read from the store, for one link run."""

    def __init__(self, store, journals: Journals | None = None) -> None:
        self.store = store
        # what the run knows of journals (the shipped table when None)
        self.journals = Journals.shipped() if journals is None else journals
        self._conn: sa.Connection | None = None
        self._cursor: Any = None  # the DB-API cursor of the driver (sqlite3 or psycopg)
        self._statements: dict[tuple, str] = {}
        self._journals: dict[str, frozenset[str]] = {}
        self._word_counts: dict[str, int] = {}
        self._articles: dict[str, Article] = {}

    @contextmanager
    def session(self):
        """One read connection for a batch; the records read are forgotten after it."""
        with self.store.engine.connect() as conn:
            self._conn = conn
            self._cursor = conn.connection.driver_connection.cursor()
            try:
                yield self
            finally:
                self._cursor.close()
                self._conn = self._cursor = None
                self._articles = {}
                conn.rollback()

    def _pmids(self, sql: str, params: Sequence) -> set[str]:
        """PMIDs of a look-up. The statements are few and fixed, and run once per citation
        clause, so they go to the driver as they are: SQLAlchemy's statement building would
        cost a hundred times the query (see _sql)."""
        if self._cursor is None:
            raise RuntimeError("MirrorIndex used outside session()")
        self._cursor.execute(sql, tuple(params))
        return {row[0] for row in self._cursor.fetchall()}

    def _sql(self, template: str, *sizes: int) -> str:
        """The template in the driver's paramstyle: "?" marks a value, "{list}" a list of values,
        which takes as many as the next of sizes."""
        key = (template, sizes)
        sql = self._statements.get(key)
        if sql is None:
            mark = "?" if self.store.dialect == "sqlite" else "%s"
            parts = template.split("{list}")
            sql = parts[0]
            for size, part in zip(sizes, parts[1:], strict=True):
                sql += "(" + ", ".join([mark] * size) + ")" + part
            sql = sql.replace("?", mark) if mark != "?" else sql
            self._statements[key] = sql
        return sql

    # -- records ---------------------------------------------------------------------------

    def articles(self, pmids: Iterable[str]) -> list[Article]:
        wanted = list(dict.fromkeys(pmids))
        missing = [p for p in wanted if p not in self._articles]
        if missing:
            for a in self.store.articles(missing):
                self._articles[a.pmid] = a
        return [self._articles[p] for p in wanted if p in self._articles]

    def canonical_journals(self, forms: Iterable[str]) -> frozenset[str]:
        out: set[str] = set()
        ask = sorted(f for f in set(forms) if f and f not in self._journals)
        if ask:
            found: dict[str, set[str]] = {f: set() for f in ask}
            self._cursor.execute(self._sql("SELECT form, journal FROM mirror_journals "
                                           "WHERE form IN {list}", len(ask)), tuple(ask))
            for form, journal in self._cursor.fetchall():
                found[form].add(journal)
            self._journals.update((f, frozenset(v)) for f, v in found.items())
        for f in forms:
            out |= self._journals.get(f, frozenset())
        return frozenset(out)

    # -- ECitMatch -------------------------------------------------------------------------

    def ecitmatch(self, lines: Sequence[str]) -> list[str]:
        """The answer ECitMatch gives for each line: the line, then a PMID or a verdict."""
        parsed = []
        for line in lines:
            fields = [f.strip() for f in line.split("|")] + [""] * 6
            parsed.append((line, fields[:5]))
        wanted: dict[int, list[str]] = {}
        invalid: set[int] = set()
        for i, (_, (journal, year, volume, page, _author)) in enumerate(parsed):
            if not journal:
                continue
            canon = self.canonical_journals([fold(journal)])
            if not canon:
                invalid.add(i)
                continue
            wanted[i] = self._cited_place(canon, year, volume, page)
        self.articles(p for ps in wanted.values() for p in ps)
        out = []
        for i, (line, (journal, year, volume, page, author)) in enumerate(parsed):
            sep = "" if line.endswith("|") else "|"
            if i in invalid:
                out.append(f"{line}{sep}NOT_FOUND;INVALID_JOURNAL\n")
                continue
            hits = [a for a in self.articles(wanted.get(i, ()))
                    if self._ecitmatch_fits(a, journal, year, volume, page, author)]
            if len(hits) == 1:
                result = hits[0].pmid
            elif hits:
                result = f"AMBIGUOUS ({len(hits)} citations)"
            else:
                result = "NOT_FOUND"
            out.append(f"{line}{sep}{result}\n")
        return out

    def _cited_place(self, canon: frozenset[str], year: str, volume: str,
                     page: str) -> list[str]:
        where = ["journal IN {list}"]
        params: list[object] = [*sorted(canon)]
        if volume:
            where.append("volume = ?")
            params.append(volume_key(volume))
        if page:
            where.append("page = ?")
            params.append(first_page(page))
        if year.isdigit():
            where.append("year = ?")
            params.append(int(year))
        sql = self._sql(f"SELECT pmid FROM mirror_records WHERE {' AND '.join(where)} "
                        f"LIMIT {MAX_CANDIDATES}", len(canon))
        return sorted(self._pmids(sql, params), key=int)

    @staticmethod
    def _ecitmatch_fits(a: Article, journal: str, year: str, volume: str, page: str,
                        author: str) -> bool:
        if journal and fold(journal) not in journal_forms(a):
            return False
        if year and str(a.year or "") != year:
            return False
        if volume and (a.volume or "").strip().lower() != volume.lower():
            return False
        if page and _record_first_page(a) != re.split(r"[-\s]", page.lower(), maxsplit=1)[0]:
            return False
        if author:
            query = _name_words(author)
            if query and not any(_author_matches(x, query) for x in a.authors):
                return False
        return True

    # -- the fallback query ----------------------------------------------------------------

    def candidates(self, citation: Citation) -> set[str] | None:
        """The mirror records the citation's fallback query brings back; None when that is
        more than matching.MAX_CANDIDATES (the query is too broad to be used)."""
        found: set[str] = set()
        for reading in citation.readings:
            clauses = self._clauses(reading)
            if clauses is None:
                continue
            for pmids in self._run(clauses):
                found |= pmids
                if len(found) > MAX_CANDIDATES:
                    return None
        return found

    def _clauses(self, c: Citation) -> _Clauses | None:
        if c.kind in ("unparsed", "pmid"):
            return None
        out = _Clauses()
        if c.kind == "doi":
            if c.doi:
                out.dois.append(c.doi.strip().lower())
            return out
        if c.kind == "meeting_abstract":
            # matching._later_paper_query: the later full paper, by first author or title.
            if not c.year:
                return None
            later: tuple[int, int] = (c.year - 1, c.year + LATER_PAPER_YEARS)
            words = title_words(title_variants(c)[-1]) if c.title else []
            if c.first_author and words:
                out.authors.append((surname_key(c.first_author.last),
                                    fold(c.first_author.initials)[:1] or None, later, False))
            if len(words) >= 3:
                out.titles.append((words, later))
            return out
        years = (c.year - 1, c.year + 1) if c.year else None
        out.journals = cited_journal_forms(c, self.journals) if c.journal else set()
        author = c.first_author
        if author and (c.journal or years):
            out.authors.append((surname_key(author.last), fold(author.initials)[:1] or None,
                                years, bool(c.journal)))
        for title in query_titles(c):
            words = title_words(title)
            if len(words) >= 3:
                out.titles.append((words, years))
        page = first_page(c.first_page or c.pages)
        if c.journal and c.volume and page:
            out.coordinates.append((volume_key(c.volume), page))
        if c.doi:
            out.dois.append(c.doi.strip().lower())
        return out

    def _run(self, clauses: _Clauses) -> Iterable[set[str]]:
        limit = MAX_CANDIDATES + 1
        canon = sorted(self.canonical_journals(clauses.journals)) if clauses.journals else []
        for surname, initial, years, with_journal in clauses.authors:
            if not surname or (with_journal and not canon):
                continue
            where = ["author = ?"]
            params: list[object] = [surname]
            if initial:
                where.append("initial = ?")
                params.append(initial)
            if years:
                where.append("year BETWEEN ? AND ?")
                params += years
            if with_journal:
                where.append("journal IN {list}")
                params += canon
            yield self._pmids(self._sql(f"SELECT pmid FROM mirror_records WHERE "
                                        f"{' AND '.join(where)} LIMIT {limit}",
                                        *([len(canon)] if with_journal else [])), params)
        for words, years in clauses.titles:
            yield self._title_words(words, years, limit)
        if canon:
            for volume, page in clauses.coordinates:
                sql = self._sql("SELECT pmid FROM mirror_records WHERE journal IN {list} AND "
                                f"volume = ? AND page = ? LIMIT {limit}", len(canon))
                yield self._pmids(sql, [*canon, volume, page])
        for doi in clauses.dois:
            yield self.dois(doi)

    def dois(self, doi: str) -> set[str]:
        """The mirror records carrying this DOI (lower case)."""
        return self._pmids(self._sql(f"SELECT pmid FROM mirror_records WHERE doi = ? "
                                     f"LIMIT {MAX_CANDIDATES + 1}"), [doi])

    def _word_count(self, word: str) -> int:
        n = self._word_counts.get(word)
        if n is None:
            sql = self._sql("SELECT count(*) FROM (SELECT 1 FROM mirror_title_words "
                            f"WHERE word = ? LIMIT {PROBE_LIMIT}) AS probe")
            self._cursor.execute(sql, (word,))
            n = self._cursor.fetchone()[0]
            self._word_counts[word] = n
        return n

    def _title_words(self, words: list[str], years: tuple[int, int] | None,
                     limit: int) -> set[str]:
        """Records whose title has every word (and whose year is in range): the rarest word's
        rows, each checked for the other words by primary key."""
        ordered = sorted(set(words), key=self._word_count)
        if not ordered or self._word_count(ordered[0]) == 0:
            return set()
        where = ["w0.word = ?"]
        params: list[object] = [ordered[0]]
        if years:
            where.append("w0.year BETWEEN ? AND ?")
            params += years
        for i, word in enumerate(ordered[1:], 1):
            where.append(f"EXISTS (SELECT 1 FROM mirror_title_words w{i} WHERE w{i}.word = ? "
                         f"AND w{i}.year = w0.year AND w{i}.pmid = w0.pmid)")
            params.append(word)
        sql = self._sql(f"SELECT w0.pmid FROM mirror_title_words w0 WHERE "
                        f"{' AND '.join(where)} LIMIT {limit}")
        return self._pmids(sql, params)


class MirrorMatcher(Matcher):
    """matching.Matcher with the mirror as ECitMatch, ESearch and EFetch."""

    def __init__(self, index: MirrorIndex, progress: Progress | None = None) -> None:
        super().__init__(index, progress, index.journals)
        self.index = index
        self._own: dict[str, set[str] | None] = {}

    def run(self, citations: Sequence[Citation]) -> MatchRun:
        self._own = {}
        with self.index.session():
            return super().run(citations)

    def search(self, citations: Sequence[Citation]) -> set[str]:
        ids: set[str] = set()
        for c in citations:
            own = self.index.candidates(c)
            self._own[c.key] = own
            if own:
                ids |= own
        self.progress("searched", len(citations))
        return ids

    def find_dois(self, dois: list[str]) -> set[str]:
        found: set[str] = set()
        for doi in dict.fromkeys(d.strip().lower() for d in dois):
            found |= self.index.dois(doi)
        return found

    def fetch(self, pmids: Iterable[str], run: MatchRun) -> None:
        missing = sorted({p for p in pmids if p not in run.articles}, key=int)
        if not missing:
            return
        for article in self.index.articles(missing):
            run.articles[article.pmid] = article
        self.progress("fetched", len(missing))

    def _pool(self, citation: Citation, pmids: set[str], run: MatchRun) -> list[Article]:
        # Only the citation's own candidates can pass answers_query (they hold every mirror
        # record it accepts), so the others need not be checked; the result is the same.
        own = self._own.get(citation.key)
        if own is None:
            return super()._pool(citation, pmids, run)
        return [run.articles[p] for p in sorted(pmids & own, key=int)
                if p in run.articles and answers_query(citation, run.articles[p], self.journals)]


@dataclass
class LinkRun(MatchRun):
    """A MatchRun whose records read from the store need not be saved again."""

    stored: set[str] = field(default_factory=set)

    def matched_articles(self) -> list[Article]:
        return [a for a in super().matched_articles() if a.pmid not in self.stored]


class LinkMatcher:
    """The mirror first; E-utilities (the fallback Matcher) for what the mirror does not match."""

    def __init__(self, index: MirrorIndex, fallback: Matcher | None,
                 progress: Progress | None = None) -> None:
        self.mirror = MirrorMatcher(index, progress)
        self.fallback = fallback

    def run(self, citations: Sequence[Citation]) -> LinkRun:
        first = self.mirror.run(citations)
        out = LinkRun(matches=dict(first.matches), articles=dict(first.articles),
                      unreadable=dict(first.unreadable), stored=set(first.articles))
        # What the mirror lacks: references it does not match, and those that print a PMID it
        # does not hold (the Matcher checks a printed PMID's record against the reference).
        rest = [c for c in citations if out.matches[c.key].status != "matched"
                or (c.pmid and c.pmid not in first.articles)]
        if self.fallback is None or not rest:
            return out
        try:
            second = self.fallback.run(rest)
        except NotCachedError:
            for c in rest:
                out.matches[c.key] = Match(c.key, "pending",
                                           reason="offline: answer not in the cache")
            return out
        for c in rest:
            out.matches[c.key] = second.matches[c.key]
        for pmid, article in second.articles.items():
            out.articles.setdefault(pmid, article)
        out.unreadable.update(second.unreadable)
        return out


def link_matcher(store, client, source: str, progress: Progress | None = None,
                 journals: Journals | None = None):
    """The matcher `link` runs for a source: "auto" (the mirror when the database holds one,
    then E-utilities for the rest), "mirror" (the mirror alone) or "eutils"; journals: what
    the run knows of journals (the shipped table when None)."""
    if source not in SOURCES:
        raise MirrorError(f"unknown source {source!r}: use one of {', '.join(SOURCES)}")
    if source == "eutils":
        return Matcher(client, progress=progress, journals=journals)
    if not has_mirror(store):
        if source == "mirror":
            raise MirrorError("the database holds no mirror: load NLM's files with "
                              "`pnet-pubmed mirror load` first")
        return Matcher(client, progress=progress, journals=journals)
    fallback = Matcher(client, progress=progress, journals=journals) if source == "auto" else None
    return LinkMatcher(MirrorIndex(store, journals), fallback, progress)
