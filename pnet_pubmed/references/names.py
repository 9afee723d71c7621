"""Author names as reference lists print them, and collective authors (groups)."""

from __future__ import annotations

import re
from functools import lru_cache

from ..values import Name
from .common import spaces

_ET_AL = re.compile(r"[,;]?\s*\bet\.?\s*al\b\.?", re.I)
_ELISION = re.compile(r"(?:\.\s*){3}|\u2026")
_GROUP_WORDS = (
    r"group|groups|society|participants|investigators|consortium|committee|collaborat\w*"
    r"|network|trialists|working\s+party|task\s+force|panel|alliance|council|association"
    r"|organi[sz]ation|writing\s+group|study\s+team|team|board|authors"
    r"|cent(?:er|re)s?|institutes?|department|ministry|agency|federation|commission|foundation"
    r"|programm?e?|initiative|office|academy|college|union|registry|coalition|collaborative"
)
_ENDS_WITH_GROUP = re.compile(rf"\b(?:{_GROUP_WORDS})\b(?:\s*\([^()]*\))?\s*$", re.I)
HAS_GROUP_WORD = re.compile(rf"\b(?:{_GROUP_WORDS})\b", re.I)
# "(CDC)", "(TFG-U)", "(EFLM)": an organisation's acronym after its name.
_ACRONYM = re.compile(r"\([A-Z][A-Za-z\d&/-]*[A-Z\d]\)")
_PARTICLES = {
    "de", "del", "della", "der", "den", "di", "da", "dos", "das", "du", "van", "von", "ter", "ten",
    "la", "le", "lo", "st", "st.", "al", "el", "bin", "ben", "mac", "y", "e", "d'", "l'", "zu",
}
# Case matters: "Jr" is a suffix, "JR" is initials (Strosberg JR).
_SUFFIXES = {"Jr", "Jr.", "Sr", "Sr.", "2nd", "3rd", "II", "III"}

_INITIALS_WORD = re.compile(r"^(?:(?:[A-Z]|[A-Z][a-z]\.)\.?\s*-?\s*){1,4}$")


_ASCII_CASES = str.maketrans({c: "A" if c.isupper() else "a" for c in map(chr, range(128))
                              if c.isupper() or c.islower()})


def _shape(text: str) -> str:
    """Letters as 'A' / 'a' by case, so ASCII patterns also see 'Ø', 'Á', 'Ł' as capitals."""
    if text.isascii():
        return text.translate(_ASCII_CASES)
    return "".join("A" if c.isupper() else "a" if c.islower() else c for c in text)


# Names recur across a list ("Smith J" in many references): the checks below are pure
# functions of their text, remembered.
@lru_cache(maxsize=65536)
def _is_initials(token: str) -> bool:
    """'JC', 'J.C.', 'J. C.', 'J.-C.', 'Ch.', 'Ø': initials as reference lists print them."""
    token = token.strip()
    return bool(token) and bool(_INITIALS_WORD.match(_shape(token))) and token[0].isupper()


def _initials_of(token: str) -> str:
    return "".join(c for c in token if c.isupper())


@lru_cache(maxsize=65536)
def _is_surname_word(word: str) -> bool:
    if word.lower() in _PARTICLES:
        return True
    letters = word.lstrip("'\u2019(")
    return bool(letters) and letters[0].isalpha() and letters[0].isupper() and not any(
        c.isdigit() for c in word
    )


@lru_cache(maxsize=65536)
def _is_surname(text: str) -> bool:
    words = text.split()
    # "Lo", "Le", "Du" are surnames of their own; a trailing particle of a longer name is not
    particle_end = words and words[-1].lower() in _PARTICLES and (
        len(words) > 1 or words[0].islower())
    return (0 < len(words) <= 4 and all(_is_surname_word(w) for w in words)
            and not particle_end and not HAS_GROUP_WORD.search(text))


@lru_cache(maxsize=65536)
def _name_from_token(token: str) -> tuple[Name | None, bool]:
    """One author as printed in a list: ('Yao JC' | 'Yao J.C.' | 'de Jong M' | 'Yao').

    Returns the name and whether it still waits for its initials (a bare surname, as in
    'Phan, AT' or 'Yao, J. C.' where a comma separates surname and initials).
    """
    words = token.split()
    while len(words) > 2 and words[-1].strip(",") in _SUFFIXES:
        words.pop()
    if not words:
        return None, False
    # The longest run of initials at the end; the rest is the surname.
    cut = len(words)
    while cut > 1 and _is_initials(words[cut - 1]):
        cut -= 1
    if cut < len(words):
        surname = " ".join(words[:cut])
        if _is_surname(surname):
            return Name(surname, _initials_of("".join(words[cut:]))), False
        return None, False
    if _is_surname(token):
        return Name(" ".join(words), ""), True
    return None, False


def _split_and(token: str) -> list[str]:
    """'J.A. and Haller' → two tokens; 'UK and Ireland neuroendocrine tumour society' → one."""
    if "and" not in token and "&" not in token:
        return [token.strip()]  # what the split gives when nothing separates
    parts = [p.strip() for p in re.split(r"(?:^|\s+)(?:and|&)\s+", token)]
    if len(parts) == 1:
        return parts
    if all(not p or _is_initials(p) or _name_from_token(p)[0] for p in parts):
        return [p for p in parts if p]
    return [token]


def parse_authors(text: str) -> tuple[list[Name], bool, str | None, bool]:
    """An author list → (names, et_al, group, looks_like_authors).

    Names are kept as printed, consecutive duplicates included: "Wang Y, Wang Y" are often two
    people, so a repeated name is not evidence of a typo.
    """
    text = spaces(text).strip(" .,;:")
    et_al = False
    if _ET_AL.search(text):
        et_al = True
        text = _ET_AL.sub(",", text)
    if _ELISION.search(text):  # APA 7 elides authors 20..n-1 with ". . ."
        et_al = True
        text = _ELISION.sub(",", text)
    names: list[Name] = []
    group_parts: list[str] = []
    run: list[str] = []  # consecutive tokens that are not names: one collective author
    non_name = False

    def close_run() -> None:
        if run:
            group_parts.append(", ".join(run))
            run.clear()

    for part in re.split(r"\s*;\s*", text):
        tokens = []
        for token in part.split(","):
            tokens.extend(_split_and(token.strip()))
        tokens = [t if _is_initials(t) else t.strip(" .") for t in tokens]
        tokens = [t for t in tokens if t]
        pending: Name | None = None
        for token in tokens:
            if pending is not None and _is_initials(token):
                names[-1] = Name(pending.last, _initials_of(token))
                pending = None
                continue
            if token.strip(".") in {"Jr", "Sr"}:
                continue
            name, waits = _name_from_token(token)
            if name is not None and not (run and waits):
                close_run()
                names.append(name)
                pending = name if waits else None
            else:
                pending = None
                run.append(token)
        close_run()
    group = "; ".join(group_parts) or None
    if group:
        # "Guideline Development Panel for the Treatment of …", "Centers for Disease Control
        # (CDC)": a collective noun or an acronym anywhere makes a run of words a group.
        non_name = not all(HAS_GROUP_WORD.search(g) or _ACRONYM.search(g) for g in group_parts)
    looks = bool(names or group) and not non_name
    return names, et_al, group, looks


def name_from_string(text: str) -> Name | None:
    """One author from a structured record: 'Yao, James C.', 'Yao JC', 'James C. Yao'."""
    text = spaces(text).strip(" ,;")
    if not text:
        return None
    if "," in text:
        last, _, given = text.partition(",")
        given = given.strip()
        if given.lower().strip(".") in {"jr", "sr"}:
            given = ""
        return Name(last.strip(), _given_to_initials(given))
    name, _ = _name_from_token(text)
    if name is not None and name.initials:
        return name
    words = text.split()
    if len(words) > 1:  # "James C. Yao": given names first, the last capitalised run is the surname
        cut = len(words) - 1
        # "Marion de Jong": lower-case particles only; the "E" of "Sara E Boyd" is an initial
        while cut > 0 and words[cut - 1].islower() and words[cut - 1] in _PARTICLES:
            cut -= 1
        return Name(" ".join(words[cut:]), _given_to_initials(" ".join(words[:cut])))
    return Name(text, "")


def _given_to_initials(given: str) -> str:
    if _is_initials(given.replace(" ", "")) or _is_initials(given):
        return _initials_of(given)
    parts = re.split(r"[\s.]+|-(?=[A-Z])", given)
    return "".join(p[0].upper() for p in parts if p and p[0].isalpha())


def split_group(title: str) -> tuple[str | None, str]:
    """'The SOM230 carcinoid study group. safety and efficacy of ...' → group, real title.

    Only a leading sentence that ends with a collective noun (group, society, participants, ...)
    is a group: 'Neuroendocrine tumors. peptide receptor ...' stays one title.
    """
    m = re.search(r"\.\s+(?=\S)", title)
    if not m:
        return None, title
    first, rest = title[: m.start()], title[m.end():]
    if not _ENDS_WITH_GROUP.search(first) or len(rest.split()) < 2:
        return None, title
    return first.strip(), rest[0].upper() + rest[1:]
