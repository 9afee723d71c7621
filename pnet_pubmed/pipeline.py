"""A link run: read a list, match it in batches, fetch and store the records, summarise."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from . import errors
from .config import Settings
from .eutils import EntrezClient, EntrezError, NotCachedError, RequestStats
from .journals import Journals
from .mirror.match import MirrorError, link_matcher
from .references import citations_from_texts, read_input, references_from_bytes
from .references import io as reference_io
from .search.index import SearchIndex
from .store import Store
from .util import chunked
from .values import MATCH_STATUSES, Citation, Match

BUNDLED_LIST = "references.txt"
BUNDLED_COLLECTION = "pnet-review-2015"
STDIN = "-"  # `link -`: the list comes on standard input
STDIN_SOURCE = "<stdin>"  # collections.source of such a list
STDIN_COLLECTION = "stdin"  # its collection, without --collection
TEXTS_SOURCE = "<python>"  # a list of strings given to the Python API
TEXTS_COLLECTION = "python"


class LinkError(errors.LinkError):
    """A run that cannot go on; the message is one line and says what was kept."""


@dataclass
class LinkSummary:
    collection: str
    references: int
    counts: dict[str, int]
    stats: RequestStats = field(default_factory=RequestStats)
    seconds: float = 0.0
    articles_stored: int = 0
    removed: int = 0  # references stored before that are no longer in the list
    undecided: int = 0  # references this run could not decide; they kept what was stored

    def as_dict(self) -> dict:
        return {
            "collection": self.collection,
            "references": self.references,
            **{k: self.counts.get(k, 0) for k in MATCH_STATUSES},
            "removed": self.removed,
            "undecided": self.undecided,
            "articles_stored": self.articles_stored,
            "seconds": round(self.seconds, 3),
            **self.stats.as_dict(),
        }


def bundled_list() -> Path:
    return Path(str(resources.files("pnet_pubmed") / "data" / BUNDLED_LIST))


def collection_name_for(path: Path) -> str:
    if path.resolve() == bundled_list().resolve():
        return BUNDLED_COLLECTION
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-") or "references"


def unique_keys(citations: list[Citation]) -> list[Citation]:
    """A list mixing numbered and unnumbered lines can repeat a key; later ones get "#position"."""
    seen: set[str] = set()
    out = []
    for c in citations:
        if c.key in seen:
            c = replace(c, key=f"{c.key}#{c.position}")
        seen.add(c.key)
        out.append(c)
    return out


def _read_stdin() -> bytes:
    """Standard input's bytes, one byte past the cap at most (references_from_bytes refuses)."""
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    if stream is None:
        return b""
    data = stream.read(reference_io.MAX_INPUT_BYTES + 1)
    return data.encode("utf-8") if isinstance(data, str) else data


def _parsed(data: bytes, name: str, settings: Settings, journals: Journals,
            progress: Callable[[str, int], None] | None = None) -> list[Citation]:
    """The list's Citations: from the parse cache when these bytes were read before by this
    parser with the same journal knowledge (a rerun), else parsed and kept there."""
    from .references import cache

    cached = cache.load(settings.cache_dir, data, journals)
    if cached is not None:
        return cached
    citations = references_from_bytes(data, name, progress, journals)
    cache.save(settings.cache_dir, data, citations, journals)
    return citations


def link(
    source: str | Path | None = None,
    collection: str | None = None,
    settings: Settings | None = None,
    *,
    batch_size: int = 500,
    progress: Callable[[str, int], None] | None = None,
    texts: Iterable[str] | None = None,
    journals: Journals | None = None,
) -> LinkSummary:
    """Link every reference of a list to PubMed and store the outcome; safe to run again.

    The list is the file `source` (the bundled list when None, standard input for "-"), or
    `texts`, reference strings one each. journals: what reading and matching know of journals,
    the run's own (a new Journals(): the shipped table, nothing learned, when None).
    """
    settings = settings or Settings.from_env()
    journals = Journals() if journals is None else journals
    if (settings.uses_ncbi and settings.source != "mirror" and not settings.email
            and not settings.offline):
        raise LinkError("NCBI asks every client for a contact email: set NCBI_EMAIL or --email")
    if texts is not None:
        citations = unique_keys(citations_from_texts(texts, journals))
        path = Path(TEXTS_SOURCE)
        collection = collection or TEXTS_COLLECTION
    elif str(source) == STDIN:
        # The list piped in: capped and decoded like a file's bytes.
        citations = unique_keys(_parsed(_read_stdin(), "standard input", settings, journals,
                                        progress))
        path = Path(STDIN_SOURCE)
        collection = collection or STDIN_COLLECTION
    else:
        path = Path(source) if source else bundled_list()
        citations = unique_keys(_parsed(read_input(path), str(path), settings, journals,
                                        progress))
        collection = collection or collection_name_for(path)
    started = time.perf_counter()

    store = Store(settings.db_url, index=SearchIndex())
    try:
        store.upgrade()
        # Query text depends on the list alone (and the shipped journal index), never on what
        # earlier runs or batches fetched: a rerun asks exactly what the first run asked, so
        # it is answered from the cache.
        store.collection_id(collection, source=str(path))
        # The collection becomes the list, in one transaction: an interrupted relink leaves
        # the new list with its new or edited references pending, which a rerun completes.
        removed = store.save_citations(collection, citations)

        stats = RequestStats()
        report = progress or (lambda stage, n: None)
        report("start", len(citations))
        stored = undecided = 0
        # --source mirror never opens the door to NCBI.
        entrez = nullcontext() if settings.source == "mirror" else EntrezClient(settings, stats)
        with entrez as client:
            try:
                matcher = link_matcher(store, client, settings.source, report, journals)
            except MirrorError as exc:
                raise LinkError(str(exc)) from exc
            for batch in chunked(citations, batch_size):
                try:
                    run = matcher.run(batch)
                except NotCachedError:
                    # Not knowing is not an answer: the store keeps a decided status and marks
                    # only references that have none (new or edited ones) as pending.
                    pending = [Match(c.key, "pending", reason="offline: answer not in the cache")
                               for c in batch]
                    store.save_matches(collection, pending)
                    undecided += len(batch)
                    report("batch", len(batch))
                    continue
                except EntrezError as exc:
                    done = status_counts(store, collection).get("matched", 0)
                    if not exc.resumable:  # no network, a redirect, a bad cache: not resumable
                        raise LinkError(f"{exc}; {done} matched references are stored") from exc
                    raise LinkError(f"{exc}; {done} matched references are stored, "
                                    "run link again to resume") from exc
                # Records first, then the links to them: an interruption leaves no dangling link.
                stored += store.save_articles(run.matched_articles(),
                                              client.received_at if client else None)
                store.save_matches(collection, [run.matches[c.key] for c in batch])
                report("batch", len(batch))

        counts = status_counts(store, collection)
        return LinkSummary(collection, sum(counts.values()), counts, stats,
                           time.perf_counter() - started, stored, removed, undecided)
    finally:
        store.close()


def status_counts(store: Store, collection: str) -> dict[str, int]:
    for row in store.collections():
        if row["name"] == collection:
            return {s: row.get(f"n_{s}", 0) for s in MATCH_STATUSES}
    return {}
