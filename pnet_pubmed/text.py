"""Diacritics and letters folded to ASCII, the one way the matcher and the journal table need."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter and a combining mark.
_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "đ": "d",
                          "Đ": "D", "ł": "l", "Ł": "L", "œ": "oe", "Œ": "OE", "ı": "i"})


def strip_diacritics(text: str) -> str:
    """"Öberg", "Fjällskog", "Søreide" -> "Oberg", "Fjallskog", "Soreide"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_SPELT = re.compile("[" + "".join(chr(c) for c in _LETTERS) + "]")


def ascii_letters(text: str) -> str:
    """The ASCII that strip_diacritics keeps of a text, at C speed: other letters are dropped,
    not kept ("Søreide β" -> "Soreide "). For a quick look for ASCII words, not for matching."""
    if text.isascii():
        return text
    if _SPELT.search(text):  # str.translate walks the text in Python: only when needed
        text = text.translate(_LETTERS)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
