"""Journal names as printed (full titles, ISO or NLM abbreviations) mapped to NLM abbreviations."""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from .text import strip_diacritics

__all__ = ["fold", "learn", "to_nlm_abbreviation"]

_lock = threading.Lock()
_exact: dict[str, str] | None = None  # folded title / ISO / MedlineTA → MedlineTA
_loose: dict[str, str | None] = {}  # folded shortened titles → MedlineTA, None when ambiguous


_PDF_BREAK = re.compile(r"(?<=[a-z])- (?=[a-z])")


def fold(name: str) -> str:
    """Case, accents, punctuation, '&'/'and', a leading 'The', a word broken at a PDF line end
    ("Bioma- terials") and spaced letters ("U S A" = "USA") do not tell journals apart."""
    text = strip_diacritics(_PDF_BREAK.sub("", name)).casefold()
    text = text.replace("&", " and ")
    words = re.sub(r"[^\w]+", " ", text).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(_join_letters(words))


def _join_letters(words: list[str]) -> list[str]:
    out: list[str] = []
    run = ""
    for w in words:
        if len(w) == 1 and w.isalpha():
            run += w
            continue
        if run:
            out.append(run)
            run = ""
        out.append(w)
    if run:
        out.append(run)
    return out


# Words an abbreviation leaves out ("Journal of the American…" -> "J Am …").
_SMALL_WORDS = frozenset("of the and for in on de la le et und fur der des du di a an".split())


def _abbreviation_words(name: str) -> tuple[str, ...]:
    return tuple(w for w in fold(name).split() if w not in _SMALL_WORDS)


def _initials(words: tuple[str, ...]) -> str:
    return "".join(w[0] for w in words)


def _prefix_compatible(printed: tuple[str, ...], nlm: tuple[str, ...]) -> bool:
    return all(a.startswith(b) or b.startswith(a) for a, b in zip(printed, nlm, strict=True))


def _shortened(name: str) -> set[str]:
    """Forms a citation may use for an NLM title: without '(Oxford, England : 1990)',
    ': official journal of …', '= parallel title', '[translated title]'."""
    forms = set()
    text = name
    while True:
        stripped = re.sub(r"\s*[(\[][^()\[\]]*[)\]]", "", text)
        if stripped == text:
            break
        text = stripped
    forms.add(text)
    for sep in (" : ", " = ", "; "):
        forms |= {f.split(sep)[0] for f in list(forms)}
    return {fold(f) for f in forms} - {""}


def _add(title: str | None, iso: str | None, medline_ta: str, exact: dict[str, str],
         loose: dict[str, str | None]) -> None:
    for name in (title, iso, medline_ta):
        if name and fold(name):
            exact.setdefault(fold(name), medline_ta)
    for name in (title, iso, medline_ta):
        if not name:
            continue
        for form in _shortened(name):
            if form in exact:
                continue
            if loose.get(form, medline_ta) != medline_ta:
                loose[form] = None  # two journals share the short form: it tells nothing
            else:
                loose[form] = medline_ta


# the initials of the abbreviation's words -> [(abbreviation words, MedlineTA)], for prefix
# matching: a printed form can only fit an abbreviation whose words start with its letters
_by_shape: dict[str, list[tuple[tuple[str, ...], str]]] = {}
INDEX_FILE = "journal_index.tsv.gz"


def index_rows(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The lines of data/journal_index.tsv.gz for NCBI's (title, MedlineTA) pairs: folded
    names ("E"), shortened names ("L", empty when two journals share one), abbreviation words
    ("W") and gazetteer names for the reference labeller ("G"). Folding 38,000 titles takes
    seconds, so tools/make_journal_table.py does it once."""
    exact: dict[str, str] = {}
    loose: dict[str, str | None] = {}
    words: dict[tuple[str, ...], set[str]] = {}
    gazetteer: set[str] = set()
    for title, medline_ta in pairs:
        _add(title, None, medline_ta, exact, loose)
        w = _abbreviation_words(medline_ta)
        if w:
            words.setdefault(w, set()).add(medline_ta)
        for name in (title, medline_ta, title.split(" : ")[0], re.sub(r"\s*\([^()]*\)", "",
                                                                    title)):
            key = fold_words(name)
            if key:
                gazetteer.add(key)
    rows = [f"E\t{k}\t{v}" for k, v in sorted(exact.items())]
    rows += [f"L\t{k}\t{v or ''}" for k, v in sorted(loose.items()) if k not in exact]
    rows += [f"W\t{' '.join(k)}\t{ta}" for k, tas in sorted(words.items()) for ta in sorted(tas)]
    rows += [f"G\t{k}\t" for k in sorted(gazetteer)]
    return rows


def fold_words(text: str) -> str:
    """Lower case, no accents, words only: "J. Am. Chem. Soc." -> "j am chem soc"."""
    return " ".join(re.findall(r"[^\W_]+", strip_diacritics(text).lower()))


_gazetteer: frozenset[str] | None = None


def gazetteer() -> frozenset[str]:
    """Journal names as the reference labeller spells token runs (fold_words)."""
    _table()
    assert _gazetteer is not None
    return _gazetteer


def _table() -> dict[str, str]:
    global _exact, _gazetteer
    if _exact is None:
        with _lock:
            if _exact is None:
                exact: dict[str, str] = {}
                names: set[str] = set()
                data = resources.files("pnet_pubmed") / "data"
                with (data / INDEX_FILE).open("rb") as raw, gzip.open(
                        raw, "rt", encoding="utf-8") as rows:
                    for row in rows:
                        kind, key, value = row.rstrip("\n").split("\t")
                        if kind == "E":
                            exact[key] = value
                        elif kind == "L":
                            _loose[key] = value or None
                        elif kind == "W":
                            w = tuple(key.split())
                            _by_shape.setdefault(_initials(w), []).append((w, value))
                        else:
                            names.add(key)
                text = (data / "journals.tsv").read_text(encoding="utf-8")
                for line in text.splitlines():
                    if not line.strip() or line.startswith(("#", "title\t")):
                        continue
                    title, iso, medline_ta = (line.split("\t") + ["", ""])[:3]
                    if medline_ta.strip():
                        _add(title.strip(), iso.strip(), medline_ta.strip(), exact, _loose)
                _gazetteer = frozenset(names)
                _exact = exact
    return _exact


def _by_prefixes(name: str) -> str | None:
    """'Nucl Acids Res' -> 'Nucleic Acids Res', 'Qual Research Psych' -> 'Qual Res Psychol':
    every printed word and the abbreviation's word in its place start alike, and exactly one
    journal fits."""
    words = _abbreviation_words(name)
    if len(words) < 2 or sum(len(w) for w in words) < 8:
        return None  # "J Med" fits hundreds of journals
    fits = {ta for nlm, ta in _by_shape.get(_initials(words), ())
            if _prefix_compatible(words, nlm)}
    return fits.pop() if len(fits) == 1 else None


def to_nlm_abbreviation(name: str | None) -> str | None:
    """'Journal of Clinical Oncology', 'J. Clin. Oncol.', 'J Clin Oncol' → 'J Clin Oncol'.

    None when the journal is not in the table (the caller then searches without it).
    """
    if not name:
        return None
    return _lookup(name)


@lru_cache(maxsize=65536)
def _lookup(name: str) -> str | None:
    if not fold(name):
        return None
    exact = _table()
    key = fold(name)
    if key in exact:
        return exact[key]
    if _loose.get(key):
        return _loose[key]
    for form in _shortened(name):
        if form in exact:
            return exact[form]
        if _loose.get(form):
            return _loose[form]
    return _by_prefixes(name)


def learn(title: str | None, iso: str | None, medline_ta: str | None) -> None:
    """Remember a journal seen in a fetched record (in memory; the table file is not changed)."""
    if not medline_ta or not medline_ta.strip():
        return
    exact = _table()
    medline_ta = medline_ta.strip()
    keys = [fold(name) for name in (title, iso, medline_ta) if name and fold(name)]
    if all(exact.get(k) == medline_ta for k in keys):
        return  # known already: nothing to learn, and the lookups cached stay right
    with _lock:
        _lookup.cache_clear()  # a learned journal may answer a name that found none before
        for key in keys:
            exact[key] = medline_ta  # a fetched record outranks the table
        _add(title, iso, medline_ta, exact, _loose)
