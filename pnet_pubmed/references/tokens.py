"""Reference strings as tokens with offsets, and the features a sequence labeller reads."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import islice
from typing import NamedTuple

from ..text import strip_diacritics
from .common import NORMALISE, spaces

_TOKEN = re.compile(
    r"(?P<doi>\b10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)\]])"
    r"|(?P<url>(?:https?://|www\.)[^\s\"<>]+[^\s\"<>.,;)\]])"
    r"|(?P<word>[^\W_]+(?:'[^\W_]+)?)"
    r"|(?P<punct>\S)"
)
_YEAR = re.compile(r"(?:1[89]\d\d|20[0-3]\d)[a-z]?")
MAX_TOKENS = 400  # a reference is never longer; the rest of a glued run is left unlabelled


class Token(NamedTuple):
    text: str
    start: int
    end: int
    kind: str  # "word", "punct", "doi", "url"


def normalise(text: str) -> str:
    """NFC, one kind of dash and quote, single spaces: the string labels are read from."""
    return spaces(unicodedata.normalize("NFC", text).translate(NORMALISE))


def tokenize(text: str) -> list[Token]:
    """Words (letters and digits together: "2005a", "e1234"), single punctuation marks, and
    whole DOIs and URLs, with their offsets in `text`."""
    new = tuple.__new__
    # every alternative of _TOKEN is a named group: lastgroup is always the kind
    return [new(Token, (m.group(), m.start(), m.end(), m.lastgroup))
            for m in islice(_TOKEN.finditer(text), MAX_TOKENS)]


MAX_JOURNAL_WORDS = 10
# The names of a gazetteer and every run of words a longer one of them starts with ("journal",
# "journal of", …): journal_spans stops reading on once a run starts none of them.
_prefixes: tuple[frozenset[str], frozenset[str]] | None = None


def index_gazetteer(names: frozenset[str]) -> None:
    """Let journal_spans skip the runs of words no name starts with (a long list's reading:
    the index takes a tenth of a second to build, and is kept for this set of names)."""
    global _prefixes
    if _prefixes is not None and _prefixes[0] is names:
        return
    starts = set()
    for name in names:
        i = name.find(" ")
        while i != -1:
            starts.add(name[:i])
            i = name.find(" ", i + 1)
    _prefixes = (names, frozenset(starts))


def journal_spans(tokens: list[Token], names: frozenset[str]) -> list[int]:
    """Per token, the length in words of the longest journal name of `names` (folded NLM
    titles and abbreviations, Journals.gazetteer) it is part of (0)."""
    words = [i for i, t in enumerate(tokens) if t[3] == "word"]
    known = _FOLDED
    folded = [known.get(tokens[i][0]) or _folded(tokens[i][0]) for i in words]
    longest = [0] * len(tokens)
    indexed = _prefixes[1] if _prefixes is not None and _prefixes[0] is names else None
    count = len(words)
    for a, key in enumerate(folded):
        b = a
        while True:
            if key in names:
                n = b - a + 1
                for k in range(a, b + 1):
                    i = words[k]
                    if longest[i] < n:
                        longest[i] = n
            b += 1
            if b >= count or b - a >= MAX_JOURNAL_WORDS or (
                    indexed is not None and key not in indexed):
                break  # the words run out, or no name goes on from here
            key = f"{key} {folded[b]}"
    return longest


_FOLDED: dict[str, str] = {}  # word -> its folded form, the last 100,000 or so


def _folded(word: str) -> str:
    if len(_FOLDED) > 100_000:
        _FOLDED.clear()
    folded = _FOLDED[word] = strip_diacritics(word.lower())
    return folded


def _shape_by_rules(text: str) -> str:
    """A token's shape: "Xxxxxx" -> "Xxx", "2005a" -> "ddx"; the definition _shape computes."""
    shape = re.sub(r"[A-Z]", "X", text)
    shape = re.sub(r"[a-z]", "x", shape)
    shape = re.sub(r"\d", "d", shape)
    shape = re.sub(r"[^Xxd]", "u", shape)
    return re.sub(r"(.)\1{2,}", r"\1\1", shape)  # "Xxxxxx" -> "Xxx"


_SHAPE_ASCII = str.maketrans({chr(c): "X" if chr(c).isupper() else "x" if chr(c).islower()
                              else "d" if chr(c).isdigit() else "u" for c in range(128)})
_RUNS = re.compile(r"(.)\1{2,}")


@lru_cache(maxsize=65536)
def _shape(text: str) -> str:
    if text.isascii():
        shape = text.translate(_SHAPE_ASCII)
    else:  # \d is any decimal digit; other letters than A-Z, a-z are "u"
        shape = "".join("X" if "A" <= c <= "Z" else "x" if "a" <= c <= "z"
                        else "d" if c.isdecimal() else "u" for c in text)
    return _RUNS.sub(_two, shape) if len(shape) > 2 else shape


def _two(m: re.Match[str]) -> str:
    return m.group()[:2]


def _word_class(t: Token) -> str:
    return _class_of(t.text, t.kind)


@lru_cache(maxsize=65536)
def _class_of(w: str, kind: str) -> str:
    if kind != "word":
        return kind if kind != "punct" else w
    if w.isdigit():
        if _YEAR.fullmatch(w):
            return "YEAR"
        return f"NUM{min(len(w), 5)}"
    if _YEAR.fullmatch(w):
        return "YEARx"
    if any(c.isdigit() for c in w):
        return "ALNUM"
    if w.isupper():
        return "CAPS1" if len(w) == 1 else "CAPS2" if len(w) <= 3 else "CAPS"
    if w[0].isupper():
        return "Cap"
    return "low"


@lru_cache(maxsize=65536)
def _own(text: str, kind: str) -> tuple[str, str, tuple[str, ...]]:
    """What a token's features owe to its own text: (lower form, class, features)."""
    lower = text.lower() if kind == "word" else kind if kind != "punct" else text
    cls = _class_of(text, kind)
    own = [f"w={lower[:24]}", f"c={cls}", f"s={_shape(text)[:6]}", f"len={min(len(text), 12)}"]
    if kind == "word" and len(text) > 3:
        own.append(f"suf={text[-3:].lower()}")
        own.append(f"pre={text[:3].lower()}")
    return lower, cls, tuple(own)


@lru_cache(maxsize=262144)
def _beside(d: int, lower: str, cls: str, j: int) -> tuple[str, str, str]:
    return (f"{d}w={lower[:24]}", f"{d}c={cls}", f"{d}j={min(j, 4)}")


_EDGE = {d: f"{d}edge" for d in (-2, -1, 1, 2)}


def features(text: str, tokens: list[Token], gazetteer: frozenset[str]) -> list[list[str]]:
    """CRF features per token: the word, its shape and class, the punctuation around it, where
    it sits in the string, the journal gazetteer (does a run of tokens spell a journal?), and
    the same for its neighbours."""
    n = len(tokens)
    jspan = journal_spans(tokens, gazetteer)
    owns = [_own(t.text, t.kind) for t in tokens]
    lowers = [o[0] for o in owns]
    classes = [o[1] for o in owns]
    out: list[list[str]] = []
    periods = colons = 0
    depth = 0
    for i, t in enumerate(tokens):
        space_before = i == 0 or tokens[i - 1].end < t.start
        space_after = i == n - 1 or tokens[i + 1].start > t.end
        own = owns[i][2]
        f = [
            "b", own[0], own[1], own[2], own[3],
            f"pos={min(9, 10 * i // max(n, 1))}",
            f"sb={int(space_before)}{int(space_after)}",
            f"seg={min(periods, 6)}",
            f"col={min(colons, 2)}",
            f"par={min(depth, 2)}",
            f"j={min(jspan[i], 4)}",
        ]
        if i < 3:
            f.append(f"i={i}")
        if i >= n - 3:
            f.append(f"e={n - 1 - i}")
        f.extend(own[4:])
        for d in (-2, -1, 1, 2):
            k = i + d
            if 0 <= k < n:
                f.extend(_beside(d, lowers[k], classes[k], jspan[k]))
            else:
                f.append(_EDGE[d])
        if 0 < i < n - 1:
            f.append(f"ctx={classes[i - 1]}|{classes[i]}|{classes[i + 1]}")
        out.append(f)
        if t.kind == "punct":
            if t.text == "." and space_after and not (
                    i > 0 and tokens[i - 1].kind == "word" and len(tokens[i - 1].text) <= 2
                    and tokens[i - 1].text[:1].isupper()):
                periods += 1  # a sentence end, not the period of an initial
            elif t.text == ":":
                colons += 1
            elif t.text in "([":
                depth += 1
            elif t.text in ")]":
                depth = max(0, depth - 1)
    return out
