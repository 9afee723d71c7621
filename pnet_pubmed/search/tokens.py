"""The text fold and tokens shared by the search index and the queries, and author keys."""

from __future__ import annotations

import re

from ..text import strip_diacritics

# The key prefix of an article's first author in article_author_keys ("1au:yao jc").
FIRST_AUTHOR = "1au:"
# What SQLite's unicode61 tokenizer calls a token: a run of letters and numbers.
TOKEN_RE = re.compile(r"[^\W_]+")
# The same on an ASCII text, where it is three times as fast.
_ASCII_TOKEN_RE = re.compile(r"[a-zA-Z0-9]+")


def fold(text: str) -> str:
    """Lower case, letters folded as the matcher folds them (pnet_pubmed.text): accents off,
    ø, ß, æ, ł, œ … spelt out; "Søreide" and "Soreide", "Straße" and "strasse" are one word."""
    if text.isascii():
        return text.lower()
    # Lower case again: NFKD turns a few lower-case letters into capitals ("ᴬ" into "A"), and
    # σ once more, as lower() ends a word with ς.
    return strip_diacritics(text.lower()).lower().replace("ς", "σ")


def tokens(text: str) -> list[str]:
    """The folded tokens of a text, split the way the SQLite index splits the folded text."""
    folded = fold(text)
    return (_ASCII_TOKEN_RE if folded.isascii() else TOKEN_RE).findall(folded)


# Letters to Python that SQLite's unicode61 tokenizer (its Unicode 6.1 tables) splits on.
_FTS5_SEPARATORS = str.maketrans({chr(c): " " for c in (*range(0x19B0, 0x19C1), 0x19C8, 0x19C9,
                                                        0x1CF2, 0x1CF3)})


def fold_text(text: str) -> str:
    """A text as the SQLite index stores it: its folded tokens joined by single spaces, so that
    FTS5 finds what the query's folded words say (its own unicode61 folding does not spell out
    ø or ß) and splits it exactly as str.split() does (search/words.py counts on it)."""
    joined = " ".join(tokens(text))
    if joined.isascii():
        return joined
    return " ".join(joined.translate(_FTS5_SEPARATORS).split())


def author_key(name: str) -> str:
    """The lookup key of an author as a user types it: "Öberg K", "Yao J.C.", "RADIANT-3 ..."."""
    toks = tokens(name)
    # Initials typed with dots or spaces ("J. C.") come out as single letters: join them.
    i = len(toks)
    while i > 1 and len(toks[i - 1]) == 1:
        i -= 1
    if i < len(toks) and i >= 1:
        toks = toks[:i] + ["".join(toks[i:])]
    return " ".join(toks)


def author_keys(last: str | None, initials: str | None, collective: str | None) -> set[str]:
    """Every key an author is found by: the surname, surname with 1, 2, … initials, a group."""
    keys = set()
    if collective and tokens(collective):
        keys.add(" ".join(tokens(collective)))
    if last and tokens(last):
        surname = " ".join(tokens(last))
        keys.add(surname)
        letters = "".join(tokens(initials or ""))
        for n in range(1, len(letters) + 1):
            keys.add(f"{surname} {letters[:n]}")
    return keys
