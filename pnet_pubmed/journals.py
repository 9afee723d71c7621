"""Journal names as printed (full titles, ISO or NLM abbreviations) mapped to NLM abbreviations."""

from __future__ import annotations

import re
import threading
from importlib import resources

from .text import strip_diacritics

__all__ = ["fold", "learn", "to_nlm_abbreviation"]

_lock = threading.Lock()
_exact: dict[str, str] | None = None  # folded title / ISO / MedlineTA → MedlineTA
_loose: dict[str, str | None] = {}  # folded shortened titles → MedlineTA, None when ambiguous


def fold(name: str) -> str:
    """Case, accents, punctuation, '&'/'and' and a leading 'The' do not tell journals apart."""
    text = strip_diacritics(name).casefold()
    text = text.replace("&", " and ")
    words = re.sub(r"[^\w]+", " ", text).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


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


def _add(title: str | None, iso: str | None, medline_ta: str, exact: dict[str, str]) -> None:
    for name in (title, iso, medline_ta):
        if name and fold(name):
            exact.setdefault(fold(name), medline_ta)
    for name in (title, iso, medline_ta):
        if not name:
            continue
        for form in _shortened(name):
            if form in exact:
                continue
            if _loose.get(form, medline_ta) != medline_ta:
                _loose[form] = None  # two journals share the short form: it tells nothing
            else:
                _loose[form] = medline_ta


def _table() -> dict[str, str]:
    global _exact
    if _exact is None:
        with _lock:
            if _exact is None:
                exact: dict[str, str] = {}
                text = resources.files("pnet_pubmed").joinpath("data/journals.tsv").read_text(
                    encoding="utf-8")
                for line in text.splitlines():
                    if not line.strip() or line.startswith(("#", "title\t")):
                        continue
                    title, iso, medline_ta = (line.split("\t") + ["", ""])[:3]
                    if medline_ta.strip():
                        _add(title.strip(), iso.strip(), medline_ta.strip(), exact)
                _exact = exact
    return _exact


def to_nlm_abbreviation(name: str | None) -> str | None:
    """'Journal of Clinical Oncology', 'J. Clin. Oncol.', 'J Clin Oncol' → 'J Clin Oncol'.

    None when the journal is not in the table (the caller then searches without it).
    """
    if not name or not fold(name):
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
    return None


def learn(title: str | None, iso: str | None, medline_ta: str | None) -> None:
    """Remember a journal seen in a fetched record (in memory; the table file is not changed)."""
    if not medline_ta or not medline_ta.strip():
        return
    exact = _table()
    with _lock:
        for name in (title, iso, medline_ta):
            if name and fold(name):
                exact[fold(name)] = medline_ta.strip()  # a fetched record outranks the table
        _add(title, iso, medline_ta.strip(), exact)
