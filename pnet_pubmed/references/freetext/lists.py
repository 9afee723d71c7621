"""A pasted list or a Python list of strings read into Citations, by the rules and the labeller."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from functools import partial

from ...journals import Journals
from ...util import no_cycle_collection
from ...values import Citation
from .. import io
from ..common import is_presented
from ..ids import pmids_on_a_line
from ..tokens import index_gazetteer
from . import fields
from .entries import join_lines, split_entries

Progress = Callable[[str, int], None]
# Lists longer than this are read by worker processes, one per core.
PARALLEL_FROM = 5000
_CHUNK = 500
# A list this long first indexes the journal gazetteer for the labeller (a tenth of a second).
INDEX_GAZETTEER_FROM = 1000


def parse_reference_list(text: str, progress: Progress | None = None,
                         journals: Journals | None = None) -> list[Citation]:
    """A pasted reference list → one Citation per entry, unreadable ones as kind='unparsed'.

    progress("read_start", entries) once the list is split, then progress("read", n) as
    entries are read. journals: what the reading may know of journals (the shipped table
    when None).
    """
    pmids = pmids_on_a_line(text)
    if pmids is not None:
        return pmids
    with no_cycle_collection():
        return _parse_list(text, progress, journals)


def _parse_list(text: str, progress: Progress | None, journals: Journals | None
                ) -> list[Citation]:
    journals = Journals.shipped() if journals is None else journals
    report = progress or (lambda stage, n: None)
    entries = [(entry, number if number is not None else str(position), body, position)
               for position, (entry, number, body)
               in enumerate(split_entries(text, journals), start=1)]
    report("read_start", len(entries))
    if len(entries) >= INDEX_GAZETTEER_FROM:
        index_gazetteer(journals.gazetteer)  # once, before any worker starts
    chunks = [entries[i: i + _CHUNK] for i in range(0, len(entries), _CHUNK)]
    if len(entries) >= PARALLEL_FROM:
        parallel = _read_in_workers(chunks, report, journals)
        if parallel is not None:
            return parallel
    out: list[Citation] = []
    for chunk in chunks:
        out.extend(_read_entries(chunk, journals))
        report("read", len(chunk))
    return out


def _read_in_workers(chunks: list, report: Progress, journals: Journals) -> list[Citation] | None:
    """The chunks read by forked worker processes, one per core; None when that cannot be
    done safely (no fork on this platform, other threads running as in a notebook: forking a
    threaded process can deadlock) or fails: the caller then reads them itself."""
    import multiprocessing
    import threading

    workers = min(os.cpu_count() or 1, 8)
    if (workers < 2 or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return None
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # The model and the journal index, loaded once here, are shared with every worker.
    from ..labeller import default_labeller

    default_labeller().label("Warm A. Up. J Test. 2000;1:1-2.", journals)
    default_labeller().prepare()
    out: list[Citation] = []
    read = partial(_read_entries, journals=journals)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for chunk, citations in zip(chunks, pool.map(read, chunks), strict=True):
                out.extend(citations)
                report("read", len(chunk))
    except (BrokenProcessPool, OSError):
        return None
    return out


def _read_entries(chunk: list[tuple[str, str, str, int]], journals: Journals) -> list[Citation]:
    # raw keeps the entry exactly as given, line breaks included
    with no_cycle_collection():  # in a worker process too
        return _read_many([(body, key, position, entry) for entry, key, body, position in chunk],
                          journals)


def _read_many(items: list[tuple[str, str, int, str]], journals: Journals) -> list[Citation]:
    """(text, key, position, raw) of references (their lines joined here), read by the rules
    and the labeller; `raw` is what each Citation keeps as given."""
    joined = [join_lines(text) for text, _, _, _ in items]
    rules = [fields.parse_reference(text, key, position, journals)
             for text, (_, key, position, _) in zip(joined, items, strict=True)]
    out = []
    for citation, (_, _, _, raw) in zip(with_labelled_readings(rules, joined, journals), items,
                                        strict=True):
        out.append(_replaced(citation, raw=raw,
                             alternatives=tuple(_replaced(a, raw=raw)
                                                for a in citation.alternatives)))
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def citations_from_texts(texts: Iterable[str],
                         journals: Journals | None = None) -> list[Citation]:
    """One Citation per string (a Python list of references), keyed by position from 1; each
    string is one reference, whatever line breaks it holds."""
    if isinstance(texts, str | bytes):
        raise io.CitationInputError("a list of reference strings is needed, not one string "
                                    "(pass a Path to read a file)")
    journals = Journals.shipped() if journals is None else journals
    items = []
    total = 0
    for position, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise io.CitationInputError(f"reference {position} is a {type(text).__name__}, "
                                        "not a string")
        total += len(text)
        # A lone surrogate (text decoded with surrogateescape, or built by hand) is not a
        # character any reader can handle: it becomes U+FFFD, as a bad byte in a file does.
        text = _SURROGATE.sub("\ufffd", text)
        if total > io.MAX_INPUT_BYTES:
            raise io.CitationInputError(f"the references are more than the "
                                        f"{io.MAX_INPUT_BYTES // 1_000_000} MB a list may have")
        items.append((text.replace("\r\n", "\n").replace("\r", "\n"), str(position),
                      position, text))
    if not items:
        raise io.CitationInputError("no reference given")
    with no_cycle_collection():
        return [c for k in range(0, len(items), _CHUNK)
                for c in _read_many(items[k: k + _CHUNK], journals)]


# What the style rules said a line is, beyond its fields: kept whoever read the fields.
_NOT_REFERENCES = ("a URL, not a reference", "a heading or a note, not a reference", "empty")


def _fields_found(c: Citation) -> int:
    if c.kind == "unparsed":
        return 0
    return sum(bool(x) for x in (c.authors or c.group, c.year, c.title, c.journal, c.volume,
                                 c.first_page))


def with_labelled_reading(citation: Citation, text: str,
                          journals: Journals | None = None) -> Citation:
    """The rules' reading and the trained labeller's, the fuller one first, the other as an
    alternative the matcher tries too."""
    return with_labelled_readings([citation], [text], journals)[0]


def with_labelled_readings(citations: list[Citation], texts: list[str],
                           journals: Journals | None = None) -> list[Citation]:
    """with_labelled_reading of each (citation, text), the labeller reading them together."""
    journals = Journals.shipped() if journals is None else journals
    todo = [k for k, c in enumerate(citations)
            if not (c.kind in ("pmid", "doi") or c.reason in _NOT_REFERENCES)]
    if not todo:
        return list(citations)
    from ..labeller import citation_from_labels, default_labeller

    labelled = default_labeller().label_many([texts[k] for k in todo], journals)
    out = list(citations)
    for k, lab in zip(todo, labelled, strict=True):
        c = citations[k]
        out[k] = _with_labels(c, texts[k], citation_from_labels(lab, c.key, c.raw, c.position,
                                                                journals))
    return out


def _with_labels(citation: Citation, text: str, labelled: Citation | None) -> Citation:
    if labelled is None:
        return citation
    kind = citation.kind if citation.kind in ("meeting_abstract", "epub_ahead") else "article"
    if is_presented(text):
        kind = "meeting_abstract"
    if kind == "epub_ahead" and (labelled.volume or labelled.first_page):
        kind = "article"
    labelled = _replaced(labelled, kind=kind, reader="labeller",
                         abstract_number=citation.abstract_number,
                         pages=None if kind == "meeting_abstract" else labelled.pages,
                         first_page=None if kind == "meeting_abstract" else labelled.first_page,
                         doi=citation.doi or labelled.doi, pmid=citation.pmid,
                         group=citation.group)
    if _same_reading(citation, labelled):
        return citation
    if _fields_found(labelled) > _fields_found(citation):
        return _replaced(labelled, alternatives=() if citation.kind == "unparsed"
                         else (citation,))
    return _replaced(citation, alternatives=(labelled,))


def _replaced(citation: Citation, **changes) -> Citation:
    """dataclasses.replace(citation, **changes) without running __init__ again (a tenth of
    the time): a Citation is a frozen dataclass with no __post_init__, so replace makes no
    more than a copy of its fields with these changed."""
    new = object.__new__(Citation)
    new.__dict__.update(citation.__dict__)
    new.__dict__.update(changes)
    return new


def _same_reading(a: Citation, b: Citation) -> bool:
    def key(c: Citation) -> tuple:
        first = c.first_author.last.lower() if c.first_author else None
        return (first, c.year, (c.title or "").lower().rstrip("."), c.volume, c.first_page)

    return key(a) == key(b)
