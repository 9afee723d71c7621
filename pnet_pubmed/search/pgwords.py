"""Score-ordered lists of frequent words (PostgreSQL): the true top k of a common word, fast.

PostgreSQL ranks a match with ts_rank_cd(W, document, query, 1) (plan._ranked), computed for
every article that matches: for a word found in hundreds of thousands of articles, most of a
search's time. That rank depends on the article and the query alone (no corpus statistics), so
for a query whose ranked part is one word (with any filters and NOT parts) the word's best
articles by rank, stored once, stay exact: `search_word_top` keeps them for each word found in
at least words.MIN_DF articles, `search_words` the word's article count and a floor that no
article left out exceeds (the list keeps every article of the word with a rank above it; 0
when it keeps them all). A search reads the word's list best first with its filters checked on
each entry, LIMIT k: k entries (or a floor of 0) are the exact hits; fewer fall back to ranking
every match.

For one word, ts_rank_cd's cover density (tsrank.c, calc_rank_cd) is a sum over the word's
positions in position order of 1 / (1 / w[label]), the weights read as float4, divided by
log(1 + the document's length: every position of every lexeme, 1 for a lexeme without
positions), rounded to float4. rank() computes it so in Python, exactly (tests compare it with
PostgreSQL on every article and word of the corpus), which lets build() rank every article in
one pass over article_search instead of one ranking query per word.

Upkeep: row triggers on article_search log every change of a document while lists exist
(search_word_log: the old document with -1, the new with +1); whoever writes the index calls
absorb() before committing, which moves the logged articles' entries (ranked by PostgreSQL) and
the words' counts, in SQL. build() makes the lists anew (`pnet-pubmed db optimize`, and the
end of `mirror load`).
"""

from __future__ import annotations

import heapq
import math
import struct
from collections import Counter
from collections.abc import Iterable
from typing import Any

from .compile import PG_RANK_WEIGHTS
from .query import And, Not, Or, Term

# PostgreSQL's weight label of a position: D (no letter) is 0, then C, B, A (WEP_GETWEIGHT).
_LABELS = {"D": 0, "C": 1, "B": 2, "A": 3}
_FLOAT = struct.Struct("f")


def _float4(value: float) -> float:
    """The value rounded to the nearest float4, as C's (float) cast does."""
    return _FLOAT.unpack(_FLOAT.pack(value))[0]


def _contributions(weights: str = PG_RANK_WEIGHTS) -> tuple[float, float, float, float]:
    """Each label's term of a one-position cover: Cpos = 1 / InvSum, InvSum = 0.0 + invws[w],
    invws[w] = 1.0 / (double) weights[w] (weights a float4[], {D, C, B, A})."""
    values = [_float4(float(v)) for v in weights.strip("{}").split(",")]
    out = []
    for v in values:
        inv = 1.0 / v
        out.append(1.0 / (0.0 + inv))
    return out[0], out[1], out[2], out[3]


_CPOS = _contributions()
# A position's label letter (or a digit: D) to its term.
_TERM = {**{d: _CPOS[0] for d in "0123456789"}, "D": _CPOS[0], "C": _CPOS[1],
         "B": _CPOS[2], "A": _CPOS[3]}


def parse(text: str) -> tuple[list[str], list[str], int]:
    """A tsvector's text (as PostgreSQL prints it) as its lexemes, each lexeme's positions
    text (":1A,5" or "" for none), and the document's length as ts_rank_cd's normalization
    counts it (cnt_length: every position, 1 for a lexeme without positions)."""
    if "\\" not in text and "''" not in text:
        # Every quote opens or closes a lexeme: 'a':1A,4 'b':2 -> '', a, :1A,4 , b, :2
        parts = text.split("'")
        lexemes, positions = parts[1::2], parts[2::2]
        joined = "".join(positions)
        return lexemes, positions, len(lexemes) + joined.count(",")
    return _parse_quoted(text)


def _parse_quoted(text: str) -> tuple[list[str], list[str], int]:
    lexemes: list[str] = []
    positions: list[str] = []
    length = 0
    i, n = 0, len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        assert text[i] == "'", text
        i += 1
        chars = []
        while True:
            c = text[i]
            if c == "\\":
                chars.append(text[i + 1])
                i += 2
            elif c == "'":
                if i + 1 < n and text[i + 1] == "'":
                    chars.append("'")
                    i += 2
                else:
                    i += 1
                    break
            else:
                chars.append(c)
                i += 1
        j = text.find(" ", i)
        j = n if j < 0 else j
        pos = text[i:j]
        lexemes.append("".join(chars))
        positions.append(pos)
        length += pos.count(",") + 1
        i = j
    return lexemes, positions, length


def rank(positions: str, length: int) -> float:
    """ts_rank_cd('{0.1, 0.3, 0.4, 1.0}', document, 'word', 1) of a document holding the word
    at these positions (parse()'s text of them) and of this length (cnt_length). A lexeme
    without positions ranks 0: tsrank.c reads it at position 0, which makes no cover (the
    index writes none such)."""
    body = positions.strip(": ")
    if not body:
        return 0.0
    total = 0.0
    term = _TERM
    for p in body.split(","):
        total += term[p[-1]]
    return _float4(total / math.log(float(length + 1)))


def document_ranks(text: str, words: Iterable[str] | None = None) -> dict[str, float]:
    """The rank of each lexeme of a document's text (of those in words, when given)."""
    lexemes, positions, length = parse(text)
    wanted = None if words is None else set(words)
    return {lex: rank(pos, length) for lex, pos in zip(lexemes, positions, strict=True)
            if wanted is None or lex in wanted}


# --- upkeep -------------------------------------------------------------------------------

def rank_sql(document: str, word: str) -> str:
    """SQL of plan._ranked's ts_rank_cd of a document for the one-lexeme tsquery of a word
    (an SQL text expression), quoted as compile.pg_lexeme quotes it."""
    query = (f"CAST('''' || replace(replace({word}, '\\', '\\\\'), '''', '''''') || '''' "
             "AS tsquery)")
    return f"ts_rank_cd('{PG_RANK_WEIGHTS}'::float4[], {document}, {query}, 1)"


def absorb(cursor: Any) -> int:
    """Carry the logged changes of article_search into the lists, in SQL, inside the writer's
    transaction (a psycopg cursor): the changed articles' entries are made again from their
    current documents, ranked by PostgreSQL, and the words' counts move by the logged
    documents' signs. Returns how many changes it read."""
    cursor.execute("SELECT count(*) FROM search_word_log")
    changes = cursor.fetchone()[0]
    if not changes:
        return 0
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS search_word_changed "
                   "(pmid text PRIMARY KEY) ON COMMIT DELETE ROWS")
    cursor.execute("TRUNCATE search_word_changed")
    cursor.execute("INSERT INTO search_word_changed (pmid) "
                   "SELECT DISTINCT pmid FROM search_word_log")
    cursor.execute("DELETE FROM search_word_top t USING search_word_changed c "
                   "WHERE t.pmid = c.pmid")
    rank = rank_sql("s.document", "w.word")
    cursor.execute(
        "INSERT INTO search_word_top (word, rank, pmid) "
        "SELECT r.word, r.rank, r.pmid FROM ("
        f"SELECT w.word, {rank} AS rank, s.pmid, w.floor FROM search_word_changed c "
        "JOIN article_search s ON s.pmid = c.pmid "
        "CROSS JOIN LATERAL unnest(tsvector_to_array(s.document)) u (lexeme) "
        "JOIN search_words w ON w.word = u.lexeme) r WHERE r.rank > r.floor")
    cursor.execute(
        "UPDATE search_words w SET df = w.df + d.n FROM ("
        "SELECT u.lexeme AS word, sum(g.sign) AS n FROM search_word_log g "
        "CROSS JOIN LATERAL unnest(tsvector_to_array(g.document)) u (lexeme) "
        "GROUP BY u.lexeme) d "
        "WHERE w.word = d.word AND d.n <> 0")
    cursor.execute("DELETE FROM search_word_log")
    return int(changes)


def drop(cursor: Any) -> None:
    """Forget every list (searches rank every match again)."""
    for table in ("search_words", "search_word_top", "search_word_log"):
        cursor.execute(f"DELETE FROM {table}")


# Documents read per round trip while building.
ITERSIZE = 2000


def build(raw: Any, min_df: int, size: int) -> int:
    """Make the list of every word found in at least min_df articles anew, inside the
    caller's transaction on its psycopg connection; returns how many words have one.

    The frequent words from ts_stat(), then one pass over article_search: each document's
    text parsed here, each frequent word's rank computed as ts_rank_cd does (rank()), its
    count counted, its size + 1 best articles kept in a heap; the lists written by COPY."""
    cur = raw.cursor()
    # Writers carry their changes into the lists under this lock (absorb's UPDATE): none
    # commits a change between the pass below and this transaction's end unseen by both.
    cur.execute("LOCK TABLE search_words IN SHARE ROW EXCLUSIVE MODE")
    drop(cur)
    cur.execute("SELECT word, ndoc FROM ts_stat('SELECT document FROM article_search') "
                "WHERE ndoc >= %s", (min_df,))
    frequent = {word for word, _ in cur.fetchall()}
    if not frequent:
        return 0
    heaps: dict[str, list[tuple[float, int, str]]] = {w: [] for w in frequent}
    df: Counter = Counter()
    keep = size + 1
    push, replace = heapq.heappush, heapq.heapreplace
    term, log, pack, unpack = _TERM, math.log, _FLOAT.pack, _FLOAT.unpack
    with raw.cursor(name="search_words_build") as docs:
        docs.itersize = ITERSIZE
        docs.execute("SELECT pmid, CAST(document AS text) FROM article_search")
        for pmid, text in docs:
            if not text:
                continue
            lexemes, positions, length = parse(text)
            divisor = log(float(length + 1))
            n = len(pmid)
            for lex, pos in zip(lexemes, positions, strict=True):
                if lex not in frequent:
                    continue
                df[lex] += 1
                # rank(pos, length), the same operations in the same order, inlined.
                total = 0.0
                body = pos.strip(": ")
                if body:
                    for p in body.split(","):
                        total += term[p[-1]]
                    value = unpack(pack(total / divisor))[0]
                else:
                    value = 0.0
                heap = heaps[lex]
                if len(heap) < keep:
                    push(heap, (value, n, pmid))
                elif value >= heap[0][0]:
                    item = (value, n, pmid)
                    if item > heap[0]:
                        replace(heap, item)
    words_rows = []
    with cur.copy("COPY search_word_top (word, rank, pmid) FROM STDIN") as copy:
        for word in sorted(frequent):
            heap = heaps[word]
            floor = 0.0
            if df[word] > size:
                # Every article the heap let go ranks at most its least: keep those above it.
                floor = heap[0][0]
                heap = [e for e in heap if e[0] > floor]
            words_rows.append((word, df[word], floor))
            # COPY's text format as write_row writes it (repr: the float4 exactly), in one
            # block: a fraction of the time, for millions of entries; row by row when a word
            # or PMID holds what that format escapes.
            block = "".join(f"{word}\t{value!r}\t{pmid}\n" for value, _, pmid in heap)
            if (block.count("\t") == 2 * len(heap) and block.count("\n") == len(heap)
                    and "\\" not in block and "\r" not in block):
                copy.write(block)
            else:
                for value, _, pmid in heap:
                    copy.write_row((word, value, pmid))
    with cur.copy("COPY search_words (word, df, floor) FROM STDIN") as copy:
        for row in words_rows:
            copy.write_row(row)
    return len(frequent)


# --- searching several words ----------------------------------------------------------------

# How many entries of each word's list the first round reads; each further round twice as many.
DEPTH = 200
# ts_rank_cd rounds its result to a float4 (a relative error of at most 2**-24): the rank of an
# OR of words is at most the sum of the words' own ranks up to twice that.
_SLACK = 1.0 + 1e-6


def or_words(node: Any) -> list[str] | None:
    """The words of a ranked part that is an OR of plain words (each one word in every field),
    alone or with NOT parts; None otherwise. For such a query ts_rank_cd's covers are the words'
    single positions, so an article's rank is at most the sum of its rank for each word."""
    if isinstance(node, And):
        positive = [c for c in node.children if not isinstance(c, Not)]
        if len(positive) != 1:
            return None
        node = positive[0]
    if not isinstance(node, Or):
        return None
    found: set[str] = set()

    def walk(n: Any) -> bool:
        if isinstance(n, Or):
            return all(walk(c) for c in n.children)
        if (isinstance(n, Term) and len(n.tokens) == 1 and not n.prefix
                and n.fields is None):
            found.add(n.tokens[0])
            return True
        return False

    return sorted(found) if walk(node) else None


def best_of_or(conn: Any, words: list[str], rank: str, checks: str, params: dict,
               limit: int) -> tuple[list[tuple[str, float]], int] | None:
    """The top `limit` articles (as (PMID, rank), best first, ties to the higher PMID) of a
    query that is an OR of frequent words with lists (with any NOT parts), among those that
    pass `checks` (" AND …" on s.pmid and s.document): the threshold algorithm. Each round reads
    the lists to a depth (one statement, twice as deep each round); the articles met for the
    first time are ranked by PostgreSQL itself (`rank`, its ts_rank_cd expression on
    s.document), so the scores are those of ranking every match; it stops when the k-th best
    beats the sum over the words of the last rank read (or the floor, for a list read to its
    end), which bounds any article not met. Also the largest of the words' article counts (the
    OR matches at least as many). None when a word has no list, the log is not empty, or the
    lists cannot tell. conn: a ReadConnection on PostgreSQL."""
    p: dict[str, Any] = {"words": words}
    heads = {w: (int(df), float(floor)) for w, df, floor in conn.rows(
        "SELECT word, df, floor FROM search_words WHERE word = ANY(:words) "
        "AND NOT EXISTS (SELECT 1 FROM search_word_log)", p)}
    if len(heads) != len(words):
        return None
    seen: set[str] = set()
    heap: list[tuple[float, int, str]] = []  # (rank, length of the PMID, PMID), worst on top
    depth = DEPTH
    while True:
        entries: dict[str, list[tuple[str, float]]] = {w: [] for w in words}
        for word, pmid, value in conn.rows(
                "SELECT w.word, t.pmid, t.rank FROM unnest(CAST(:words AS text[])) w(word) "
                "CROSS JOIN LATERAL (SELECT t.pmid, t.rank FROM search_word_top t "
                "WHERE t.word = w.word ORDER BY t.rank DESC, length(t.pmid) DESC, "
                "t.pmid DESC LIMIT :depth) t", {"words": words, "depth": depth}):
            entries[word].append((pmid, float(value)))
        fresh = sorted({pmid for found in entries.values() for pmid, _ in found} - seen)
        seen.update(fresh)
        if fresh:
            q = dict(params, fresh=fresh)
            for pmid, value in conn.rows(
                    f"SELECT s.pmid, {rank} FROM article_search s WHERE s.pmid = ANY(:fresh)"
                    f"{checks}", q):
                item = (float(value), len(pmid), pmid)
                if len(heap) < limit:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
        reach = 0.0
        ended = True
        for w in words:
            found = entries[w]
            if len(found) < depth:
                reach += heads[w][1]  # read to its end: what it left out is under its floor
            else:
                reach += found[-1][1]
                ended = False
        if len(heap) == limit and heap[0][0] > reach * _SLACK:
            break
        if ended:
            if all(heads[w][1] <= 0.0 for w in words):
                break  # every list holds every article of its word: all were ranked
            return None
        depth *= 2
    most = max(df for df, _floor in heads.values())
    return [(pmid, value) for value, _n, pmid in sorted(heap, reverse=True)], most
