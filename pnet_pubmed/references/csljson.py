"""CSL-JSON (Zotero, Mendeley, citation.js): items, or plain strings read as free text."""

from __future__ import annotations

import json

from ..journals import Journals
from ..values import Citation
from .common import unparsed
from .freetext import fields
from .io import CitationInputError
from .structured import structured, year_of


def _csl_name(author: dict) -> str:
    if author.get("literal"):
        return ""
    family = " ".join(x for x in (_scalar(author.get("non-dropping-particle")),
                                  _scalar(author.get("family"))) if x)
    return f"{family}, {_scalar(author.get('given')) or ''}".strip(" ,")


def _scalar(value) -> str | None:
    """A CSL-JSON value where text belongs: numbers as text, a list's first text, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and value:
        return _scalar(value[0])
    return None


def _load_json(text: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise CitationInputError("the JSON is nested too deeply to be a reference list") from None


def parse_csl_json(text: str, journals: Journals | None = None) -> list[Citation]:
    """CSL-JSON (a list of items, or one item) → Citations; an item that cannot be read becomes
    'unparsed' with the reason, and the others go on. journals: for items that are strings,
    read as free text (the shipped table when None)."""
    data = _load_json(text)
    items = data if isinstance(data, list) else data.get("items", [data]) if isinstance(
        data, dict) else []
    if not isinstance(items, list):
        items = [items]
    citations = []
    for position, item in enumerate(items, start=1):
        try:
            citations.append(_csl_item(item, position, journals))
        except RecursionError:
            citations.append(unparsed(str(position), "", position,
                                       "CSL-JSON item nested too deeply"))
        except Exception as exc:  # one odd item must not stop the list
            citations.append(unparsed(str(position), _short_json(item), position,
                                       f"CSL-JSON item unreadable ({type(exc).__name__})"))
    return citations


def _short_json(item) -> str:
    try:
        return json.dumps(item, ensure_ascii=False)[:2000]
    except (TypeError, ValueError, RecursionError):
        return ""


def _csl_item(item, position: int, journals: Journals | None) -> Citation:
    key = str(position)
    if isinstance(item, str):  # ["21306238", "10.1056/…", "Yao JC, … 2011;364:514-23."]
        return fields.parse_reference(item, key, position, journals)
    if isinstance(item, int) and not isinstance(item, bool):
        return fields.parse_reference(str(item), key, position, journals)
    raw = _short_json(item)
    if not isinstance(item, dict):
        return unparsed(key, raw, position, "CSL-JSON item is not an object")
    authors = item.get("author") or []
    if not isinstance(authors, list):
        authors = []
    groups = [group for a in authors
              if isinstance(a, dict) and (group := _scalar(a.get("literal")))]
    names = [_csl_name(a) for a in authors if isinstance(a, dict) and not a.get("literal")]
    # The abbreviation first, as ECitMatch wants it; then the full name.
    journal = (_scalar(item.get("container-title-short"))
               or _scalar(item.get("journalAbbreviation"))
               or _scalar(item.get("container-title")))
    return structured(
        key, raw, position, authors=names, et_al=False, groups=groups,
        year=_csl_year(item), title=_scalar(item.get("title")), journal=journal,
        volume=_scalar(item.get("volume")), issue=_scalar(item.get("issue")),
        pages=_scalar(item.get("page")),
        doi=_scalar(item.get("DOI")) or _scalar(item.get("doi")),
        pmid=_scalar(item.get("PMID")) or _scalar(item.get("pmid")),
        notes=(_scalar(item.get("note")), _scalar(item.get("status"))),
        type_hint=_scalar(item.get("type")) or "",
    )


def _csl_year(item: dict) -> int | None:
    for field in ("issued", "published-print", "published-online", "created"):
        value = item.get(field)
        if isinstance(value, dict):
            parts = value.get("date-parts")
            if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
                return year_of(_scalar(parts[0][0]))
            for k in ("raw", "literal"):
                if _scalar(value.get(k)):
                    return year_of(_scalar(value[k]))
        elif _scalar(value):
            return year_of(_scalar(value))
    return None
