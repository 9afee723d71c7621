"""FTS5's match and bm25 for given articles, computed here from their stored text (SQLite).

When a filter few articles pass drives a search, asking FTS5 about each of its articles costs
a cursor per article, and bm25() on each such cursor counts the query's matches over the whole
index again for the idf: for a common word, milliseconds an article. Here the articles' stored
text (article_search: folded tokens joined by spaces, which str.split() splits as FTS5 does)
is read once, each article is matched against the query and scored with FTS5's formula
(fts5_aux.c), with each phrase's idf from one count of its matches. The results equal FTS5's
(tests/test_search_words.py compares them, match for match and score for score).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import words as words_mod
from .compile import BM25_WEIGHTS, FTS_COLUMNS
from .query import And, Node, Not, Or, Term
from .tokens import fold_text
from .words import K1, B, averages, idf

_COLUMN = {name: i for i, name in enumerate(FTS_COLUMNS)}


@dataclass(frozen=True)
class Phrase:
    """A phrase of the query as FTS5 numbers it: its tokens (the last a prefix when prefix),
    the columns it is looked for in."""

    tokens: tuple[str, ...]
    prefix: bool
    columns: tuple[int, ...]
    fts5: str  # the phrase alone as an FTS5 query (for its article count)
    # Under a NOT: FTS5 counts none of its instances in an article's score, even where the
    # article holds it ("a NOT (b NOT c)" matches articles with b and c, scored on a alone).
    negated: bool = False

    @property
    def word(self) -> str | None:
        """The one word it is, in every column, when it is one (not a phrase or prefix)."""
        if len(self.tokens) == 1 and not self.prefix and len(self.columns) == len(FTS_COLUMNS):
            return self.tokens[0]
        return None


def phrases(node: Node) -> list[Phrase] | None:
    """The phrases of a ranked query in FTS5's order (that of compile.to_fts5's text: an AND's
    positive parts, then its NOT parts); None if one cannot be read here."""
    out: list[Phrase] = []

    def walk(n: Node, negated: bool = False) -> bool:
        if isinstance(n, Term):
            toks = tuple(fold_text(" ".join(n.tokens)).split())
            if not toks:
                return False
            cols = tuple(range(len(FTS_COLUMNS))) if n.fields is None else tuple(
                _COLUMN[f] for f in n.fields)
            text = '"' + " ".join(toks) + '"' + ("*" if n.prefix else "")
            if n.fields is not None:
                text = "{" + " ".join(n.fields) + "} : " + text
            out.append(Phrase(toks, n.prefix, cols, text, negated))
            return True
        if isinstance(n, Or):
            return all(walk(c, negated) for c in n.children)
        if isinstance(n, And):
            pos = [c for c in n.children if not isinstance(c, Not)]
            neg = [c.child for c in n.children if isinstance(c, Not)]
            return all(walk(c, negated) for c in pos) and all(walk(c, True) for c in neg)
        return False

    return out if walk(node) else None


def _count(phrase: Phrase, columns: Sequence[Sequence[str]]) -> list[int]:
    """How many times the phrase starts in each column of an article."""
    first, n, last = phrase.tokens[0], len(phrase.tokens), phrase.tokens[-1]
    counts = [0] * len(columns)
    for c in phrase.columns:
        toks = columns[c]
        found = 0
        if n == 1:
            if phrase.prefix:
                found = sum(1 for t in toks if t.startswith(first))
            else:
                found = toks.count(first)
        else:
            head = phrase.tokens[:-1]
            for i in range(len(toks) - n + 1):
                if tuple(toks[i:i + n - 1]) == head and (
                        toks[i + n - 1].startswith(last) if phrase.prefix
                        else toks[i + n - 1] == last):
                    found += 1
        counts[c] = found
    return counts


class Scorer:
    """Matches and scores articles against one query, as FTS5's MATCH and bm25() with
    compile.BM25_WEIGHTS would."""

    def __init__(self, conn: Any, node: Node, listed_df: dict[str, int] | None = None) -> None:
        found = phrases(node)
        if found is None:
            raise ValueError("a query this scorer cannot read")
        self.node = node
        self.phrases = found
        self.rows, self.avgdl = averages(conn.raw)
        self.idf = [idf(self.rows, self._hits(conn, p, listed_df or {})) for p in found]

    @staticmethod
    def _hits(conn: Any, phrase: Phrase, listed: dict[str, int]) -> int:
        if phrase.word is not None and phrase.word in listed:
            return listed[phrase.word]
        return int(conn.scalar("SELECT count(*) FROM article_fts WHERE article_fts MATCH :q",
                               {"q": phrase.fts5}))

    def score(self, texts: Sequence[str | None]) -> float | None:
        """The article's bm25 score (higher is better, as -bm25()), or None when it does not
        match. texts: its title, abstract, mesh and keywords as article_search holds them."""
        columns = [t.split() if t else [] for t in texts]
        counts = [_count(p, columns) for p in self.phrases]
        present = [sum(c) > 0 for c in counts]
        it = iter(present)
        if not _matches(self.node, it):
            return None
        length = sum(len(c) for c in columns)
        score = 0.0
        for i, per_column in enumerate(counts):
            x = 0.0
            if not self.phrases[i].negated:
                for c, n in enumerate(per_column):
                    if n:
                        x += BM25_WEIGHTS[c] * n
            score += self.idf[i] * ((x * (K1 + 1.0)) /
                                    (x + K1 * (1 - B + B * length / self.avgdl)))
        return score


def _matches(node: Node, present) -> bool:
    """Whether the article matches, reading each phrase's presence in phrases() order."""
    if isinstance(node, Term):
        return next(present)
    if isinstance(node, Or):
        results = [_matches(c, present) for c in node.children]
        return any(results)
    assert isinstance(node, And)
    pos = [_matches(c, present) for c in node.children if not isinstance(c, Not)]
    neg = [_matches(c.child, present) for c in node.children if isinstance(c, Not)]
    return all(pos) and not any(neg)


def best_of_lists(conn: Any, node: Node, checks: str, params: dict, limit: int
                  ) -> list[tuple[int, float]] | None:
    """The top `limit` articles (as (PMID number, score), best first) of a query whose words
    that rank are each a frequent word with a list (words.py), among those that pass `checks`
    (" AND …" on the PMID expression s.pmid): the threshold algorithm over the words' lists.
    Each round reads the next entries of every list; each article seen for the first time is
    matched and scored here from its text; it stops when the k-th best beats what an article
    not seen yet could reach (the sum over the words of idf times words.bound at the last key
    read, or the floor once a list is read to its end). None when a word has no list, a part
    that ranks is not a word, or the lists cannot tell."""
    found = phrases(node)
    if found is None:
        return None
    ranking = [p for p in found if not p.negated]
    names = sorted({w for w in (p.word for p in ranking) if w is not None})
    if not ranking or any(p.word is None for p in ranking):
        return None
    p = dict(params)
    marks = ", ".join(f":w{i}" for i in range(len(names)))
    p.update({f"w{i}": w for i, w in enumerate(names)})
    heads = {w: (int(df), float(avgdl), float(floor)) for w, df, avgdl, floor in conn.rows(
        f"SELECT word, df, avgdl, floor FROM search_words WHERE word IN ({marks}) "
        "AND NOT EXISTS (SELECT 1 FROM search_word_log)", p)}
    if len(heads) != len(names):
        return None
    scorer = Scorer(conn, node, {w: h[0] for w, h in heads.items()})
    now = scorer.avgdl
    weights = [(scorer.idf[i], ph.word) for i, ph in enumerate(scorer.phrases)
               if not ph.negated and ph.word is not None]
    cursor = {w: [math.inf, 0, False] for w in names}  # last key, last id, read to the end
    seen: set[int] = set()
    heap: list[tuple[float, int]] = []
    page = ("SELECT t.key, t.id FROM search_word_top t WHERE t.word = :word AND "
            "(t.key < :key OR (t.key = :key AND t.id < :id)) "
            "ORDER BY t.key DESC, t.id DESC LIMIT :batch")
    while True:
        fresh = []
        for w in names:
            state = cursor[w]
            if state[2]:
                continue
            rows = conn.rows(page, {"word": w, "key": state[0], "id": state[1],
                                    "batch": words_mod.BATCH})
            for key, id_ in rows:
                state[0], state[1] = key, id_
                if id_ not in seen:
                    seen.add(id_)
                    fresh.append(id_)
            state[2] = len(rows) < words_mod.BATCH
        for i in range(0, len(fresh), 500):
            chunk = fresh[i:i + 500]
            q = dict(params)
            q.update({f"i{j}": v for j, v in enumerate(chunk)})
            ids = ", ".join(f":i{j}" for j in range(len(chunk)))
            for id_, *texts in conn.rows(
                    f"SELECT s.id, s.title, s.abstract, s.mesh, s.keywords FROM article_search s "
                    f"WHERE s.id IN ({ids}){checks}", q):
                value = scorer.score(texts)
                if value is None:
                    continue
                item = (value, id_)
                if len(heap) < limit:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
        reach = 0.0
        for factor, w in weights:
            state = cursor[w]
            _df, built, floor = heads[w]
            reach += factor * words_mod.bound(floor if state[2] else state[0], built, now)
        if len(heap) == limit and heap[0][0] > reach:
            break
        if all(cursor[w][2] for w in names):
            if all(heads[w][2] <= 0.0 for w in names):
                break  # every list holds every article of its word: all were seen
            return None
    return [(id_, value) for value, id_ in sorted(heap, reverse=True)]
