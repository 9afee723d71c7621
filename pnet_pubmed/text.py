"""Diacritics and letters folded to ASCII, the one way the matcher and the journal table need."""

from __future__ import annotations

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
