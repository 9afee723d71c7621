"""pnet_pubmed.text's fold is the definition it stands for, on every character."""

from __future__ import annotations

import random
import sys
import unicodedata

from pnet_pubmed.text import _LETTERS, strip_diacritics


def by_definition(text: str) -> str:
    """The letters spelt out, NFKD, every combining mark dropped, the letters spelt out again
    (NFKD makes a few: "ǣ" is "æ" and a macron): the fold, character by character over the
    whole text."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_LETTERS)


EVERY = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)


def test_every_character_folds_as_defined():
    for start in range(0, len(EVERY), 997):
        text = EVERY[start:start + 997]
        assert strip_diacritics(text) == by_definition(text), hex(ord(text[0]))


def test_mixed_texts_fold_as_defined():
    """Marks after ASCII letters, marks in a row, letters spelt out, in any mix."""
    rng = random.Random(5)
    marks = [c for c in EVERY[:0x3000] if unicodedata.combining(c)]
    pool = "aeo ÖéøßæŁ-1" + "".join(marks[:40])
    for _ in range(5000):
        text = "".join(rng.choice(pool) if rng.random() < 0.8 else rng.choice(EVERY)
                       for _ in range(rng.randint(0, 24)))
        assert strip_diacritics(text) == by_definition(text), ascii(text)
    assert strip_diacritics("Søreide, Öberg, Straße, e\u0301") == "Soreide, Oberg, Strasse, e"
