"""BibTeX files: entries cut out one by one, LaTeX turned to text, each read by bibtexparser."""

from __future__ import annotations

import re
from functools import lru_cache

from ..values import Citation
from .common import spaces, unparsed
from .structured import structured


def _bibtex_entries(text: str) -> list[str]:
    """Entries of a BibTeX file as their own text, so each can be parsed (and fail) alone."""
    entries = []
    i = 0
    for m in re.finditer(r"@\s*(\w+)\s*([{(])", text):
        if m.start() < i:
            continue
        kind = m.group(1).lower()
        opener = m.group(2)
        closer = "}" if opener == "{" else ")"
        depth = 0
        j = m.end() - 1
        end = None
        while j < len(text):
            c = text[j]
            if c == "{" or (opener == "(" and c == "("):
                depth += 1
            elif c == "}" or (opener == "(" and c == ")"):
                depth -= 1
                if depth == 0 and c == closer:
                    break
            elif c == "\n" and _NEXT_ENTRY.match(text, j):
                end = j  # never closed: it ends where the next entry starts, not inside it
                break
            j += 1
        end = j + 1 if end is None else end
        i = end
        if kind in {"comment", "preamble"}:
            continue
        entries.append(text[m.start(): end])
    return entries


_NEXT_ENTRY = re.compile(r"\n[ \t]*@\s*[A-Za-z]+\s*[{(]\s*[^\s,{}()=]+\s*,")


def _bibtex_names(value: str) -> list[str]:
    """Split an author field on ' and ' outside braces: '{UK and Ireland … society}' is one."""
    names, depth, start = [], 0, 0
    for m in re.finditer(r"[{}]|\s+and\s+", value):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            names.append(value[start:m.start()])
            start = m.end()
    names.append(value[start:])
    return [n for n in names if n.strip()]


@lru_cache(maxsize=1)
def _latex_converter():
    try:
        from pylatexenc.latex2text import LatexNodes2Text
    except ImportError:  # without pylatexenc, only the protective braces go
        return None
    return LatexNodes2Text(math_mode="verbatim")


def _latex_to_text(value: str) -> str:
    """'{\\"O}berg' → 'Öberg', '{Everolimus}' → 'Everolimus'; plain values pass untouched."""
    if not re.search(r"[\\{}$~]", value):
        return value
    converter = _latex_converter()
    if converter is None:
        return value.replace("{", "").replace("}", "")
    return converter.latex_to_text(value)


_BIBTEX_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^\s,{}()=\"#%'\\~]+)\s*,")


def parse_bibtex(text: str) -> list[Citation]:
    """A BibTeX file → Citations, one per entry (@string macros applied; @comment skipped)."""
    import bibtexparser

    all_entries = _bibtex_entries(text)
    strings = [e for e in all_entries if re.match(r"@\s*string\b", e, re.I)]
    prefix = "\n".join(strings) + "\n"
    citations = []
    position = 0
    for entry_text in all_entries:
        if entry_text in strings:
            continue
        position += 1
        # The entry's own key ("okamoto2020"), so that \cite{okamoto2020} still works on export
        named = _BIBTEX_KEY.match(entry_text)
        key = named.group(1) if named else str(position)
        try:
            citations.append(_bibtex_entry(bibtexparser, prefix, entry_text, key, position))
        except Exception as exc:  # a broken entry becomes 'unparsed', the others go on
            # (RecursionError too: braces nested thousands deep)
            citations.append(unparsed(key, entry_text[:2000], position,
                                       f"BibTeX entry unreadable ({type(exc).__name__})"))
    return citations


def _bibtex_entry(bibtexparser, prefix: str, entry_text: str, key: str,
                  position: int) -> Citation:
    library = bibtexparser.parse_string(prefix + entry_text)
    if not library.entries:
        return unparsed(key, entry_text, position, "BibTeX entry unreadable")
    entry = library.entries[0]
    if len(library.entries) > 1 or (_BIBTEX_KEY.match(entry_text) and entry.key != key):
        return unparsed(key, entry_text, position, "BibTeX entry unreadable")  # another's
    wanted = {"year", "date", "title", "shortjournal", "journal", "journaltitle", "booktitle",
              "volume", "number", "issue", "pages", "doi", "pmid", "note", "annote",
              "pubstate", "keywords"}
    f = {k.lower(): _latex_to_text(str(v.value)) for k, v in entry.fields_dict.items()
         if k.lower() in wanted}
    raw_authors = entry.fields_dict.get("author")
    authors: list[str] = []
    groups: list[str] = []
    et_al = False
    if raw_authors is not None:
        for part in _bibtex_names(spaces(str(raw_authors.value))):
            stripped = part.strip()
            if stripped.startswith("{") and stripped.endswith("}"):
                groups.append(_latex_to_text(stripped))  # {RADIANT-3 Study Group}
            elif stripped.lower() == "others":
                et_al = True
            elif m := re.fullmatch(r"([^,{}]+?)\s+\{([^{}]+)\}", stripped):
                # "R. E. {Curiel Cid}": the braced run is the whole surname
                authors.append(_latex_to_text(f"{m.group(2)}, {m.group(1)}"))
            else:
                authors.append(_latex_to_text(stripped))
    return structured(
        key, entry_text, position, authors=authors, et_al=et_al, groups=groups,
        year=f.get("year") or f.get("date"), title=f.get("title"),
        journal=(f.get("shortjournal") or f.get("journal") or f.get("journaltitle")
                 or f.get("booktitle")),
        volume=f.get("volume"), issue=f.get("number") or f.get("issue"),
        pages=f.get("pages"), doi=f.get("doi"), pmid=f.get("pmid"),
        notes=(f.get("note"), f.get("annote"), f.get("pubstate"), f.get("keywords")),
        type_hint=entry.entry_type,
    )
