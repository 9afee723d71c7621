"""Diacritics and letters folded to ASCII, the one way the matcher and the journal table need."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter and a combining mark.
# Also the final and lunate sigmas, as σ (as str.casefold and SQLite's FTS5 fold them).
_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "đ": "d",
                          "Đ": "D", "ł": "l", "Ł": "L", "œ": "oe", "Œ": "OE", "ı": "i",
                          "ς": "σ", "ϲ": "σ", "Ϲ": "Σ"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# What each short run of non-ASCII characters becomes; such runs repeat (accented letters,
# units), so each is worked out once per process, within a bound.
_RUNS: dict[str, str] = {}
_RUNS_MAX = 65536
_RUN_CACHED = 16


def _fold_run(match: re.Match) -> str:
    run = match[0]
    out = _RUNS.get(run)
    if out is None:
        decomposed = unicodedata.normalize("NFKD", run.translate(_LETTERS))
        # Spelt out again after NFKD: "ǣ", "ǿ" decompose into æ, ø (so a fold is final).
        out = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(
            _LETTERS)
        if len(run) <= _RUN_CACHED and len(_RUNS) < _RUNS_MAX:
            _RUNS[run] = out
    return out


def strip_diacritics(text: str) -> str:
    """"Öberg", "Fjällskog", "Søreide" -> "Oberg", "Fjallskog", "Soreide"."""
    if text.isascii():
        return text
    # Run by run of non-ASCII characters: NFKD leaves ASCII as it is and never moves a mark
    # across an ASCII character (their combining class is 0), so this is the same as folding
    # the whole text, and a long abstract with a few "±" costs little more than an ASCII one.
    return _NON_ASCII.sub(_fold_run, text)


_SPELT = re.compile("[" + "".join(chr(c) for c in _LETTERS) + "]")


def ascii_letters(text: str) -> str:
    """The ASCII that strip_diacritics keeps of a text, at C speed: other letters are dropped,
    not kept ("Søreide β" -> "Soreide "). For a quick look for ASCII words, not for matching."""
    if text.isascii():
        return text
    if _SPELT.search(text):  # str.translate walks the text in Python: only when needed
        text = text.translate(_LETTERS)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
