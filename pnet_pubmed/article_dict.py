"""Article <-> plain dict (JSON-ready), one mapping for `show --format json` and every other reader.

The dict keeps the Article's field names, with three shapes kept for their readers: the journal
fields grouped under "journal", "abstract" as one text next to "abstract_sections", and
"publication_types" as plain names with their UIs alongside in "publication_type_uis". Every
other field, present or added later, maps generically, so a new Article field cannot be forgotten.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from pnet_pubmed.values import Article

__all__ = ["article_from_dict", "article_to_dict"]

# dict key under "journal" -> Article field
JOURNAL_KEYS = {
    "title": "journal_title",
    "iso_abbreviation": "iso_abbreviation",
    "medline_ta": "medline_ta",
    "nlm_unique_id": "nlm_unique_id",
    "issn": "issn",
    "issn_linking": "issn_linking",
}
_JOURNAL_FIELDS = frozenset(JOURNAL_KEYS.values())


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return dict(value)
    return value


def article_to_dict(article: Article) -> dict[str, Any]:
    """A JSON-ready dict of an Article; article_from_dict reads it back to an equal Article."""
    out: dict[str, Any] = {}
    for f in fields(Article):
        name, value = f.name, getattr(article, f.name)
        if name == "abstract":
            out["abstract"] = article.abstract_text
            out["abstract_sections"] = _plain(value)
        elif name in _JOURNAL_FIELDS:
            if "journal" not in out:
                out["journal"] = {key: getattr(article, attr) for key, attr in JOURNAL_KEYS.items()}
        elif name == "publication_types":
            out["publication_types"] = [p.name for p in value]
            # Parallel to publication_types, which stays a plain list of names for its readers.
            out["publication_type_uis"] = [p.ui for p in value]
        else:
            out[name] = _plain(value)
    return out


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _build(tp: Any, value: Any) -> Any:
    """A value of type tp from its plain form; tolerant of None and of bare strings for values."""
    origin = get_origin(tp)
    if origin is tuple:
        inner = get_args(tp)[0]
        return tuple(_build(inner, v) for v in value or ())
    if origin is Union or origin is types.UnionType:  # X | None
        if value is None:
            return None
        inner = next(a for a in get_args(tp) if a is not type(None))
        return _build(inner, value)
    if isinstance(tp, type) and is_dataclass(tp):
        return _build_dataclass(tp, value)
    if tp is str:
        return "" if value is None else str(value)
    if tp is bool:
        return bool(value)
    if tp is dict:
        return dict(value or {})
    return value


def _build_dataclass(cls: Any, value: Any) -> Any:
    if not isinstance(value, Mapping):
        return cls(value)  # a keyword or a publication type given as its text alone
    hints = _hints(cls)
    kwargs = {}
    for f in fields(cls):
        required = f.default is MISSING and f.default_factory is MISSING
        if f.name in value or required:
            kwargs[f.name] = _build(hints[f.name], value.get(f.name))
    return cls(**kwargs)


def article_from_dict(d: Mapping[str, Any]) -> Article:
    """The Article of an article_to_dict dict; missing keys take the Article defaults."""
    data = {k: v for k, v in d.items() if k not in ("abstract", "journal", "publication_types")}
    data["abstract"] = d.get("abstract_sections") or ()
    journal = d.get("journal") or {}
    for key, attr in JOURNAL_KEYS.items():
        if key in journal:
            data[attr] = journal[key]
    names = d.get("publication_types") or []
    uis = d.get("publication_type_uis") or []
    data["publication_types"] = [
        p if isinstance(p, Mapping) else {"name": p, "ui": uis[i] if i < len(uis) else None}
        for i, p in enumerate(names)
    ]
    data["pmid"] = d["pmid"]
    hints = _hints(Article)
    return Article(
        **{
            f.name: _build(hints[f.name], data.get(f.name))
            for f in fields(Article)
            if data.get(f.name) is not None or f.name == "title"
        }
    )
