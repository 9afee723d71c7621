"""A reference list of any format read into Citations: decoded, its format found, then read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..journals import Journals
from ..values import Citation
from . import io
from .bibtex import parse_bibtex
from .csljson import parse_csl_json
from .freetext.lists import Progress, parse_reference_list
from .io import CitationInputError, decode, detect_format, read_input
from .medline import parse_medline
from .ris import parse_ris

# The formats whose records carry their fields by name: nothing to know about journals.
_STRUCTURED: dict[str, Callable[[str], list[Citation]]] = {
    "medline": parse_medline,
    "bibtex": parse_bibtex,
    "ris": parse_ris,
}


def parse_references(text: str, fmt: str | None = None, progress: Progress | None = None,
                     journals: Journals | None = None) -> list[Citation]:
    """A whole reference file's text → Citations; the format is detected when not given.

    journals: what reading free text may know of journals (the shipped table when None).
    """
    fmt = fmt or detect_format(text)
    if fmt == "text":
        return parse_reference_list(text, progress, journals)
    if fmt == "csl-json":
        return parse_csl_json(text, journals)
    return _STRUCTURED[fmt](text)


def read_references(path: str | Path, journals: Journals | None = None) -> list[Citation]:
    """Read a reference file of any supported format; CitationInputError if it has none."""
    path = Path(path)
    return references_from_bytes(read_input(path), str(path), journals=journals)


def references_from_bytes(data: bytes, name: str, progress: Progress | None = None,
                          journals: Journals | None = None) -> list[Citation]:
    """Decode, detect the format and parse; `name` (a path, "<stdin>") names it in errors."""
    path = Path(name)
    if len(data) > io.MAX_INPUT_BYTES:
        raise CitationInputError(f"{name}: more than the {io.MAX_INPUT_BYTES // 1_000_000} MB a "
                                 "reference list may have")
    text = decode(data, path)
    if not text.strip():
        raise CitationInputError(f"{name}: empty file")
    fmt = "text"
    try:
        fmt = detect_format(text)
        citations = parse_references(text, fmt, progress, journals)
    except RecursionError:
        raise CitationInputError(f"{name}: nested too deeply to be read as {fmt}") from None
    except ValueError as exc:  # a JSON file that json.loads refuses after all
        if isinstance(exc, CitationInputError):
            raise CitationInputError(f"{name}: {exc}") from None
        raise CitationInputError(f"{name}: not readable as {fmt} ({exc})") from exc
    if not citations or all(c.kind == "unparsed" for c in citations):
        raise CitationInputError(f"{name}: no reference found")
    return citations
