"""Journal names as printed (full titles, ISO or NLM abbreviations) mapped to NLM abbreviations."""

from __future__ import annotations

import gzip
import re
import threading
from collections import ChainMap
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import cast

from .text import strip_diacritics

__all__ = ["INDEX_FILE", "Journals", "fold", "fold_words", "index_rows"]

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


def _add(title: str | None, iso: str | None, medline_ta: str, exact: MutableMapping[str, str],
         loose: MutableMapping[str, str | None]) -> None:
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


INDEX_FILE = "journal_index.tsv.gz"


def index_rows(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The lines of data/journal_index.tsv.gz for NCBI's (title, MedlineTA) pairs: folded
    names ("E"), shortened names ("L", empty when two journals share one), abbreviation words
    ("W") and gazetteer names for the reference labeller ("G"). Folding 38,000 titles takes
    seconds, so tools/make_journal_table.py does it once."""
    pairs = list(pairs)
    # A name that is some journal's MedlineTA means that journal, whatever other catalog
    # titles fold to the same words ("Science" is the MedlineTA of Science (New York, N.Y.) and
    # the title of the journal abbreviated "Science (1979)").
    exact: dict[str, str] = {}
    for _, medline_ta in pairs:
        if fold(medline_ta):
            exact.setdefault(fold(medline_ta), medline_ta)
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


@dataclass(frozen=True)
class _Table:
    """The shipped table: NCBI's catalog (data/journal_index.tsv.gz) and data/journals.tsv."""

    exact: Mapping[str, str]  # folded title / ISO / MedlineTA -> MedlineTA
    loose: Mapping[str, str | None]  # folded shortened titles -> MedlineTA, None when ambiguous
    # the initials of the abbreviation's words -> [(abbreviation words, MedlineTA)], for prefix
    # matching: a printed form can only fit an abbreviation whose words start with its letters
    by_shape: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]]
    gazetteer: frozenset[str]  # names as the reference labeller spells token runs (fold_words)


def _read_table() -> _Table:
    exact: dict[str, str] = {}
    loose: dict[str, str | None] = {}
    by_shape: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    names: set[str] = set()
    data = resources.files("pnet_pubmed") / "data"
    with (data / INDEX_FILE).open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as rows:
        for row in rows:
            kind, key, value = row.rstrip("\n").split("\t")
            if kind == "E":
                exact[key] = value
            elif kind == "L":
                loose[key] = value or None
            elif kind == "W":
                w = tuple(key.split())
                by_shape.setdefault(_initials(w), []).append((w, value))
            else:
                names.add(key)
    text = (data / "journals.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "title\t")):
            continue
        title, iso, medline_ta = (line.split("\t") + ["", ""])[:3]
        if medline_ta.strip():
            _add(title.strip(), iso.strip(), medline_ta.strip(), exact, loose)
    return _Table(MappingProxyType(exact), MappingProxyType(loose),
                  MappingProxyType({k: tuple(v) for k, v in by_shape.items()}), frozenset(names))


_table_lock = threading.Lock()
_shipped_table: _Table | None = None  # read once per process, never changed after
_shipped: Journals | None = None


def _table() -> _Table:
    global _shipped_table
    if _shipped_table is None:
        with _table_lock:
            if _shipped_table is None:
                _shipped_table = _read_table()
    return _shipped_table


class Journals:
    """What a run knows about journals: the shipped table, read once per process and shared
    read-only, and what this instance has learned (its own: no other instance sees it).

    `Journals()` is a new instance for a run; `Journals.shipped()` the process's shared one,
    which cannot learn. Every reader and the matcher take the instance they are to use.
    """

    def __init__(self) -> None:
        self._frozen = False
        self._learned: list[tuple[str | None, str | None, str]] = []
        self._exact: MutableMapping[str, str] | None = None  # the learned, over the table
        self._loose: MutableMapping[str, str | None] | None = None
        self._lock = threading.Lock()
        self._lookup = lru_cache(maxsize=65536)(self._find)

    @classmethod
    def shipped(cls) -> Journals:
        """The shipped table alone, shared by everyone in the process; learn() refuses."""
        global _shipped
        if _shipped is None:
            with _table_lock:
                if _shipped is None:
                    journals = cls()
                    journals._frozen = True
                    _shipped = journals
        return _shipped

    def __reduce__(self):
        # Worker processes get the same knowledge: the table is read there, the learned replayed.
        return _rebuild, (self._frozen, tuple(self._learned))

    @property
    def gazetteer(self) -> frozenset[str]:
        """Journal names as the reference labeller spells token runs (fold_words)."""
        return _table().gazetteer

    @property
    def learned(self) -> tuple[tuple[str | None, str | None, str], ...]:
        """(title, ISO abbreviation, MedlineTA) of every journal this instance learned."""
        return tuple(self._learned)

    def to_nlm_abbreviation(self, name: str | None) -> str | None:
        """'Journal of Clinical Oncology', 'J. Clin. Oncol.', 'J Clin Oncol' -> 'J Clin Oncol'.

        None when the journal is not known (the caller then searches without it).
        """
        if not name:
            return None
        return self._lookup(name)

    def known(self, name: str) -> bool:
        return self.to_nlm_abbreviation(name) is not None

    def _find(self, name: str) -> str | None:
        if not fold(name):
            return None
        table = _table()
        exact = self._exact if self._exact is not None else table.exact
        loose = self._loose if self._loose is not None else table.loose
        key = fold(name)
        if key in exact:
            return exact[key]
        if loose.get(key):
            return loose[key]
        for form in _shortened(name):
            if form in exact:
                return exact[form]
            if loose.get(form):
                return loose[form]
        return _by_prefixes(name, table)

    def learn(self, title: str | None, iso: str | None, medline_ta: str | None) -> None:
        """Remember a journal seen in a fetched record, in this instance only."""
        if self._frozen:
            raise TypeError("the shipped journal table is shared read-only: learn in a "
                            "Journals() of your own")
        if not medline_ta or not medline_ta.strip():
            return
        table = _table()
        medline_ta = medline_ta.strip()
        keys = [fold(name) for name in (title, iso, medline_ta) if name and fold(name)]
        with self._lock:
            if self._exact is None or self._loose is None:
                # Writes go to this instance's own first map; the table is only read.
                self._exact = ChainMap({}, cast(MutableMapping[str, str], table.exact))
                self._loose = ChainMap({}, cast(MutableMapping[str, str | None], table.loose))
            if all(self._exact.get(k) == medline_ta for k in keys):
                return  # known already: nothing to learn, and the lookups cached stay right
            self._learned.append((title, iso, medline_ta))
            self._lookup.cache_clear()  # a learned journal may answer a name that found none
            for key in keys:
                self._exact[key] = medline_ta  # a fetched record outranks the table
            _add(title, iso, medline_ta, self._exact, self._loose)


def _rebuild(frozen: bool, learned: tuple[tuple[str | None, str | None, str], ...]) -> Journals:
    if frozen:
        return Journals.shipped()
    journals = Journals()
    for title, iso, medline_ta in learned:
        journals.learn(title, iso, medline_ta)
    return journals


def _by_prefixes(name: str, table: _Table) -> str | None:
    """'Nucl Acids Res' -> 'Nucleic Acids Res', 'Qual Research Psych' -> 'Qual Res Psychol':
    every printed word and the abbreviation's word in its place start alike, and exactly one
    journal fits."""
    words = _abbreviation_words(name)
    if len(words) < 2 or sum(len(w) for w in words) < 8:
        return None  # "J Med" fits hundreds of journals
    fits = {ta for nlm, ta in table.by_shape.get(_initials(words), ())
            if _prefix_compatible(words, nlm)}
    return fits.pop() if len(fits) == 1 else None
