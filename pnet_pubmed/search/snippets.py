"""Snippets: a short passage of an article around the query's words, the matches marked."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..text import ascii_letters
from .compile import FTS_COLUMNS
from .query import Term
from .tokens import TOKEN_RE, fold

SNIPPET_TOKENS = 28


@dataclass
class Document:
    """The text of an article as the index sees it, field by field."""

    title: str = ""
    abstract: str = ""
    mesh: str = ""
    keywords: str = ""

    def fields(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in FTS_COLUMNS}


def _matches(text: str, terms: list[Term]) -> tuple[int, list[tuple]]:
    """The number of tokens of a text, and the (first token, last token, term) of each term
    match."""
    low = text.lower()
    # A quick look first: most fields of a hit hold none of the words.
    view = ascii_letters(low)
    if all(term.tokens[0].isascii() and term.tokens[0] not in view for term in terms):
        return 0, []
    if len(low) == len(text):  # lower() kept the offsets and the token boundaries
        folded = TOKEN_RE.findall(low)
        if not text.isascii():
            folded = [t if t.isascii() else fold(t) for t in folded]
    else:
        folded = [fold(t) for t in TOKEN_RE.findall(text)]

    def same(i: int, want: str, prefix: bool) -> bool:
        return folded[i].startswith(want) if prefix else folded[i] == want

    found = []
    for ti, term in enumerate(terms):
        n, head = len(term.tokens), term.tokens[0]
        first_prefix = n == 1 and term.prefix
        for i, tok in enumerate(folded):
            if (tok.startswith(head) if first_prefix else tok == head) and i + n <= len(folded) \
                    and all(same(i + k, term.tokens[k], term.prefix and k == n - 1)
                            for k in range(1, n)):
                found.append((i, i + n - 1, ti))
    found.sort()
    return len(folded), found


def snippet(doc: Document, terms: list[Term], highlight: tuple[str, str]) -> str | None:
    """A short passage around the query's words, each match wrapped in the highlight marks."""
    if not terms:
        return None
    best = None
    # Abstract first: it gives context; the title is printed anyway.
    for text in (doc.abstract, doc.title, doc.mesh, doc.keywords):
        if not text:
            continue
        count, found = _matches(text, terms)
        if not found:
            continue
        # The window of SNIPPET_TOKENS tokens that holds the most distinct terms.
        window = None
        for first, _, _ in found[:64]:
            start = max(0, first - 4)
            inside = [f for f in found if f[0] >= start and f[1] < start + SNIPPET_TOKENS]
            score = (len({f[2] for f in inside}), len(inside))
            if window is None or score > window[0]:
                window = (score, start, inside)
        assert window is not None
        if best is None or window[0][0] > best[0][0][0]:
            best = (window, text, count)
        if best[0][0][0] == len(terms):
            break  # every term is in view: no later field can do better
    if best is None:
        return None
    (_, start, inside), text, count = best
    end = min(count, start + SNIPPET_TOKENS)
    # Token offsets of the chosen text, up to the window's end (the tokens _matches counted).
    spans = [m.span() for m in itertools.islice(TOKEN_RE.finditer(text), end)]
    marks = sorted({(spans[f][0], spans[last][1]) for f, last, _ in inside})
    out, pos = [], spans[start][0]
    for s_, e_ in marks:
        if s_ < pos:
            continue  # overlapping matches: the first one wins
        out.append(text[pos:s_])
        out.append(highlight[0] + text[s_:e_] + highlight[1])
        pos = e_
    out.append(text[pos : spans[end - 1][1]])
    snippet = " ".join("".join(out).split())
    return ("…" if start > 0 else "") + snippet + ("…" if end < count else "")
