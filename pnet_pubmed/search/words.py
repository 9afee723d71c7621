"""Score-ordered lists of frequent words (SQLite): the true top k of a common word, fast.

FTS5 ranks a query by computing bm25() for every article that matches it, and its first call
counts those articles once more for the word's idf: about 2 µs a match, over a second for a
word found in 700,000 of 1,000,000 articles. For a query whose ranked part is one word (with
any filters and NOT parts), bm25 orders the articles by the word's weight in each alone:

    g(x, D) = x (k1 + 1) / (x + k1 (1 - b + b D / avgdl))

x the word's count weighted by column (compile.BM25_WEIGHTS), D the article's length in tokens,
avgdl the mean length over the index; the idf is one factor for them all. So for each word found
in at least MIN_DF articles, `search_word_top` keeps its best articles by g at the avgdl of the
day the list was built (its key), with x and D, and `search_words` the word's article count,
that avgdl and a floor: every article of the word that the list leaves out has a key at most
the floor. A search walks the list in key order and checks its filters on each entry; it
computes each entry's g at today's avgdl, and stops when its k-th best beats what any entry
not yet read (or left out) could reach (bound()); a list read to its end without that falls
back to ranking every match. The result is FTS5's own top k, scores included.

Upkeep: triggers on article_search log every change of an article's text while lists exist
(search_word_log, old and new text); whoever writes the index calls absorb() before committing,
which moves the logged articles' entries and the words' counts. build() makes the lists anew
(`pnet-pubmed db optimize`, and the end of `mirror load`); revision 0010 makes the tables and
triggers. Queries of several listed words: score.best_of_lists. PostgreSQL: pgwords.py.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .compile import BM25_WEIGHTS, FTS_COLUMNS
from .query import And, Node, Not, Term

# FTS5's bm25 constants (fts5_aux.c).
K1 = 1.2
B = 0.75
# A word gets a list when at least this many articles hold it: below it, ranking every match
# costs well under 50 ms.
MIN_DF = 20_000
# How many articles a list keeps at first (as many more as saves add above its floor).
LIST_SIZE = 2_000
# Entries read per statement while walking a list.
BATCH = 200
_WEIGHT = dict(zip(FTS_COLUMNS, BM25_WEIGHTS, strict=True))


def weight(x: float, d: float, avgdl: float) -> float:
    """g(x, D): a word's bm25 weight in an article before its idf, as fts5_aux.c computes it."""
    return (x * (K1 + 1.0)) / (x + K1 * (1 - B + B * d / avgdl))


def idf(rows: int, hits: int) -> float:
    """FTS5's idf of a phrase found in `hits` of `rows` articles."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6


def bound(key: float, built: float, now: float) -> float:
    """The highest weight today (avgdl `now`) of an article whose key (its weight at avgdl
    `built`) is at most `key`. The key fixes x / (x + K) with K = k1 (1 - b + b D / avgdl);
    K changes by a factor of at most r = max(1, now / built) whatever D is."""
    if key <= 0.0:
        return 0.0
    r = max(1.0, now / built)
    if r == 1.0:
        return key
    share = key / (K1 + 1.0)
    c = share / (1.0 - share) if share < 1.0 else math.inf
    if math.isinf(c):
        return K1 + 1.0
    return (K1 + 1.0) * c * r / (c * r + 1.0)


def _varints(blob: bytes) -> list[int]:
    """SQLite's varints (FTS5's records): big-endian groups of 7 bits, the 9th byte whole."""
    out, i, n = [], 0, len(blob)
    while i < n:
        value = 0
        for j in range(9):
            byte = blob[i]
            i += 1
            if j == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def averages(conn: Any) -> tuple[int, float]:
    """FTS5's row count and mean row length in tokens (its averages record, id 1 of
    article_fts_data: the row count, then the tokens of each column), as bm25 reads them."""
    row = conn.execute("SELECT block FROM article_fts_data WHERE id = 1").fetchone()
    numbers = _varints(bytes(row[0])) if row and row[0] is not None else []
    if not numbers or numbers[0] <= 0:
        return 0, 0.0
    rows = numbers[0]
    return rows, float(sum(numbers[1:])) / float(rows)


def article_words(texts: Sequence[str | None]) -> tuple[Counter, int]:
    """The weighted count of each word of an article's indexed text (title, abstract, mesh,
    keywords, as article_search holds them: tokens.fold_text) and its length in tokens, as
    FTS5 splits it. (Counts are sums of whole weights: exact in any order, as FTS5 adds them.)"""
    counts: Counter[str] = Counter()
    length = 0
    for column, text in zip(FTS_COLUMNS, texts, strict=True):
        if not text:
            continue
        toks = text.split()  # tokens.fold_text joined them with single spaces
        length += len(toks)
        w = _WEIGHT[column]
        if w == 1.0:
            counts.update(toks)
        else:
            for tok in toks:
                counts[tok] += w  # type: ignore[assignment]  # weighted: float counts
    return counts, length


def single_word(node: Node | None) -> str | None:
    """The word of a ranked part that is one word in every field (not a phrase, prefix or
    field tag), alone or with NOT parts; None otherwise."""
    if isinstance(node, And):
        positive = [c for c in node.children if not isinstance(c, Not)]
        if len(positive) != 1:
            return None
        node = positive[0]
    if (isinstance(node, Term) and len(node.tokens) == 1 and not node.prefix
            and node.fields is None):
        return node.tokens[0]
    return None


# --- upkeep -------------------------------------------------------------------------------

def absorb(conn: Any) -> int:
    """Carry the logged changes of article_search into the lists (inside the writer's
    transaction, on its DB-API connection): the changed articles' entries and the words'
    counts. Returns how many changes it read."""
    log = conn.execute("SELECT id, sign, title, abstract, mesh, keywords "
                       "FROM search_word_log ORDER BY seq").fetchall()
    if not log:
        return 0
    listed = {w: (avgdl, floor) for w, avgdl, floor in
              conn.execute("SELECT word, avgdl, floor FROM search_words")}
    counts: Counter = Counter()
    last: dict[int, tuple] = {}
    for id_, sign, *texts in log:
        words, length = article_words(texts)
        for word in words.keys() & listed.keys():
            counts[word] += sign
        last[id_] = (sign, words, length)
    ids = list(last)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        conn.execute(f"DELETE FROM search_word_top WHERE id IN ({','.join('?' * len(chunk))})",
                     chunk)
    entries = []
    for id_, (sign, words, length) in last.items():
        if sign < 0:
            continue
        for word in words.keys() & listed.keys():
            avgdl, floor = listed[word]
            key = weight(words[word], length, avgdl)
            if key > floor:
                entries.append((word, key, id_, float(words[word]), length))
    conn.executemany("INSERT INTO search_word_top (word, key, id, x, d) VALUES (?, ?, ?, ?, ?)",
                     entries)
    conn.executemany("UPDATE search_words SET df = df + ? WHERE word = ?",
                     [(n, w) for w, n in counts.items() if n])
    conn.execute("DELETE FROM search_word_log")
    return len(log)


def drop(conn: Any) -> None:
    """Forget every list (searches rank every match again)."""
    for table in ("search_words", "search_word_top", "search_word_log"):
        conn.execute(f"DELETE FROM {table}")


def build(conn: Any, min_df: int = MIN_DF, size: int = LIST_SIZE) -> int:
    """Make the list of every word found in at least min_df articles anew, on a DB-API
    connection inside the caller's transaction; returns how many words have one.

    One pass over article_search: each article's words are counted as absorb() counts them,
    and each frequent word keeps its size + 1 best articles by key."""
    drop(conn)
    rows, avgdl = averages(conn)
    if rows == 0:
        return 0
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.article_fts_words "
                 "USING fts5vocab(main, article_fts, row)")
    frequent = {term for (term,) in conn.execute(
        "SELECT term FROM temp.article_fts_words WHERE doc >= ?", (min_df,))}
    conn.execute("DROP TABLE temp.article_fts_words")
    if not frequent:
        return 0
    # Per word, its best entries so far (at least its keep best, at most twice as many) and the
    # least key they had when last trimmed: an entry below it can never be among the best.
    best: dict[str, list[tuple[float, int, float, int]]] = {w: [] for w in frequent}
    least = dict.fromkeys(frequent, -1.0)
    df: Counter = Counter()
    keep = size + 1
    for id_, *texts in conn.execute("SELECT id, title, abstract, mesh, keywords "
                                    "FROM article_search"):
        counts, length = article_words(texts)
        found = counts.keys() & frequent
        df.update(found)
        # weight(x, length, avgdl), the same operations in the same order, inlined.
        k = K1 * (1 - B + B * length / avgdl)
        for word in found:
            x = counts[word]
            key = (x * (K1 + 1.0)) / (x + k)
            if key < least[word]:
                continue
            entries = best[word]
            entries.append((key, id_, x, length))
            if len(entries) >= 2 * keep:
                entries.sort(reverse=True)
                del entries[keep:]
                least[word] = entries[-1][0]
    # Written in key order, the article index made after: a few times faster than in any order.
    conn.execute("DROP INDEX IF EXISTS ix_search_word_top_id")
    for word in sorted(frequent):
        heap = sorted(best.pop(word), reverse=True)[:keep]
        floor = 0.0
        if df[word] > size:
            # Every article let go has a key at most the least kept: keep those above it.
            floor = heap[-1][0]
            heap = [e for e in heap if e[0] > floor]
        heap.reverse()
        conn.execute("INSERT INTO search_words (word, df, avgdl, floor) VALUES (?, ?, ?, ?)",
                     (word, df[word], avgdl, floor))
        conn.executemany("INSERT INTO search_word_top (key, id, x, d, word) "
                         "VALUES (?, ?, ?, ?, ?)", [(*e, word) for e in heap])
    conn.execute("CREATE INDEX ix_search_word_top_id ON search_word_top (id)")
    return len(frequent)


# --- searching ----------------------------------------------------------------------------

def best(conn: Any, word: str, checks: str, params: dict, limit: int
         ) -> tuple[list[tuple[int, float]], int] | None:
    """The top `limit` articles for one word by FTS5's bm25 (as (PMID number, score), best
    first) among those that pass `checks` (SQL on the PMID expression `CAST(t.id AS TEXT)`,
    " AND …" or ""), and the word's article count; None when the word has no list or its list
    cannot tell (the caller ranks every match). conn: a ReadConnection."""
    head = conn.one("SELECT df, avgdl, floor, (SELECT count(*) FROM "
                    "(SELECT 1 FROM search_word_log LIMIT 1)) FROM search_words "
                    "WHERE word = :word", {"word": word})
    if head is None or head[3]:
        return None
    df, built, floor = int(head[0]), float(head[1]), float(head[2])
    rows, now = averages(conn.raw)
    if rows <= 0 or df <= 0 or built <= 0:
        return None
    heap: list[tuple[float, int]] = []  # the best so far: (weight, id), the worst on top
    last_key, last_id = math.inf, 0
    args = dict(params, word=word, batch=BATCH)
    statement = ("SELECT t.key, t.id, t.x, t.d FROM search_word_top t WHERE t.word = :word "
                 "AND (t.key < :key OR (t.key = :key AND t.id < :id))"
                 f"{checks} ORDER BY t.key DESC, t.id DESC LIMIT :batch")
    while True:
        found = conn.rows(statement, dict(args, key=last_key, id=last_id))
        for key, id_, x, d in found:
            item = (weight(x, d, now), id_)
            if len(heap) < limit:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
            last_key, last_id = key, id_
        end = len(found) < BATCH
        # Whatever is not read yet has a key at most last_key (at the end: at most the floor).
        reach = bound(floor if end else last_key, built, now)
        if len(heap) == limit and heap[0][0] > reach:
            break
        if end:
            if floor <= 0.0:  # the list holds every article of the word
                break
            return None
    factor = idf(rows, df)
    ranked = sorted(heap, reverse=True)
    return [(id_, factor * g) for g, id_ in ranked], df
