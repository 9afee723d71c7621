"""Text folding shared by the index and the query side, so both compare the same strings."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter plus a combining mark.
_SPECIAL = str.maketrans(
    {
        "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
        "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D",
        "ı": "i", "ħ": "h", "Ħ": "H",
    }
)
_WORD = re.compile(r"[^\W_]+")
_QUERY_WORD = re.compile(r"[^\W_]+\*?")
# Apostrophes inside names (O'Dorisio, D’Amico) join the parts, as PubMed's author index does.
_APOSTROPHES = re.compile(r"['’‘`´]")

# PubMed's stopwords (a subset of its published list); ignored in unquoted word searches.
STOPWORDS = frozenset(
    """a about again all almost also although always among an and another any are as at be
    because been before being between both but by can could did do does done due during each
    either enough especially etc for found from further had has have having here how however i
    if in into is it its itself just kg km made mainly make may mg might ml mm most mostly must
    nearly neither no nor obtained of often on our overall perhaps pmid quite rather really
    regarding seem seen several should show showed shown shows significantly since so some such
    than that the their theirs them then there therefore these they this those through thus to
    upon use used using various very was we were what when which while with within without
    would""".split()
)


def fold(text: str) -> str:
    """Lower-case, strip diacritics (Öberg -> oberg, Castaño -> castano, ø -> o, ß -> ss)."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """Folded alphanumeric tokens, the unit of every word field."""
    return _WORD.findall(fold(text))


def query_words(text: str) -> list[str]:
    """Like words() but keeps a trailing '*' (truncation) on each token."""
    return _QUERY_WORD.findall(fold(text))


def phrase_key(text: str) -> str:
    """Punctuation- and case-insensitive key for whole-value comparisons (journals, types)."""
    return " ".join(words(text))


def name_key(text: str) -> str:
    """Key for personal names: like phrase_key, but O'Dorisio -> odorisio."""
    return " ".join(words(_APOSTROPHES.sub("", text)))
