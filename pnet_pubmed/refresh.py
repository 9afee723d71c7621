"""`refresh`: fetch the records that references link to again, past the HTTP cache, and keep
the revised ones.

NLM revises records all the time (MeSH added when an in-process record is indexed, errata and
retractions appended, authors corrected). `link` serves EFetch answers from the cache for 30
days; `refresh` asks NCBI again, in the usual POSTed batches through the same rate limit and
validation, stores each record whose copy differs from the stored one (a new DateRevised, as a
rule) and says what changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from .config import Settings
from .eutils import EntrezClient, EntrezError, RequestStats
from .flags import REF_TYPES, RETRACTED_PUBLICATION, Flag, article_flags
from .pipeline import LinkError
from .search.index import SearchIndex
from .store import Store
from .util import chunked
from .values import Article

# MedlineCitation/@Status values of the DTD, for --status-not.
STATUSES = ("MEDLINE", "PubMed-not-MEDLINE", "In-Process", "In-Data-Review", "Publisher",
            "Completed", "OLDMEDLINE")
# Records compared, fetched and committed together (five EFetch requests of 200).
CHUNK = 1000
# Fields a change names on its own; any other field that differs is listed by name.
_DESCRIBED = {"date_revised", "status", "title", "authors", "mesh", "extra"}


class RefreshError(LinkError):
    """A refresh that cannot go on; what was checked before is stored."""


@dataclass(frozen=True)
class Change:
    """How NCBI's copy of a record differs from the stored one."""

    pmid: str
    revised: tuple[str | None, str | None]
    status: tuple[str | None, str | None] | None = None
    title: tuple[str, str] | None = None
    authors: tuple[str, str] | None = None
    mesh_added: tuple[str, ...] = ()
    mesh_removed: tuple[str, ...] = ()
    flags_added: tuple[Flag, ...] = ()
    flags_removed: tuple[Flag, ...] = ()
    other: tuple[str, ...] = ()  # names of the other Article fields that changed

    def as_dict(self) -> dict:
        return {
            "pmid": self.pmid,
            "date_revised": {"old": self.revised[0], "new": self.revised[1]},
            "status": _pair(self.status),
            "title": _pair(self.title),
            "authors": _pair(self.authors),
            "mesh_added": list(self.mesh_added),
            "mesh_removed": list(self.mesh_removed),
            "flags_added": [f.as_dict() for f in self.flags_added],
            "flags_removed": [f.as_dict() for f in self.flags_removed],
            "other_fields": list(self.other),
        }

    def lines(self) -> list[str]:
        """What changed, for people: a heading line and one indented line per kind of change."""
        old, new = self.revised
        when = f"revised {old or 'unknown'} → {new or 'unknown'}" if old != new else (
            f"revised {new or 'unknown'}, content changed")
        out = [f"PMID {self.pmid} ({when})"]
        out += [f"  new flag: {f.describe()}" for f in self.flags_added]
        out += [f"  flag gone: {f.describe()}" for f in self.flags_removed]
        if self.mesh_added:
            out.append("  MeSH added: " + "; ".join(self.mesh_added))
        if self.mesh_removed:
            out.append("  MeSH removed: " + "; ".join(self.mesh_removed))
        if self.status:
            out.append(f"  status: {self.status[0] or 'none'} → {self.status[1] or 'none'}")
        if self.title:
            out.append(f"  title: {_clip(self.title[0])} → {_clip(self.title[1])}")
        if self.authors:
            out.append(f"  authors: {_clip(self.authors[0])} → {_clip(self.authors[1])}")
        if self.other:
            out.append("  also changed: " + ", ".join(self.other))
        return out


def _pair(value: tuple | None) -> dict | None:
    return None if value is None else {"old": value[0], "new": value[1]}


def _clip(text: str, n: int = 100) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _authors(a: Article) -> str:
    return ", ".join(au.display for au in a.authors)


def compare(old: Article, new: Article) -> Change:
    """What differs between the stored copy of a record and NCBI's."""
    old_mesh = [h.descriptor for h in old.mesh]
    new_mesh = [h.descriptor for h in new.mesh]
    old_flags, new_flags = article_flags(old), article_flags(new)
    return Change(
        pmid=new.pmid,
        revised=(old.date_revised, new.date_revised),
        status=(old.status, new.status) if old.status != new.status else None,
        title=(old.title, new.title) if old.title != new.title else None,
        authors=(_authors(old), _authors(new)) if old.authors != new.authors else None,
        mesh_added=tuple(d for d in new_mesh if d not in old_mesh),
        mesh_removed=tuple(d for d in old_mesh if d not in new_mesh),
        flags_added=tuple(f for f in new_flags if f not in old_flags),
        flags_removed=tuple(f for f in old_flags if f not in new_flags),
        other=tuple(f.name for f in fields(Article) if f.name not in _DESCRIBED
                    and _beyond_flags(f.name, old) != _beyond_flags(f.name, new)),
    )


def _beyond_flags(name: str, a: Article):
    """A field's value without what the flags already say (a notice, "Retracted Publication")."""
    if name == "comments_corrections":
        return tuple(c for c in a.comments_corrections if c.ref_type not in REF_TYPES)
    if name == "publication_types":
        return tuple(p for p in a.publication_types if p.ui != RETRACTED_PUBLICATION[0]
                     and p.name != RETRACTED_PUBLICATION[1])
    return getattr(a, name)


@dataclass
class RefreshSummary:
    collection: str | None
    selected: int  # records chosen by the options
    changes: list[Change] = field(default_factory=list)  # stored anew
    unchanged: int = 0
    gone: list[str] = field(default_factory=list)  # NCBI has no record under these PMIDs
    unreadable: list[str] = field(default_factory=list)  # records NCBI sent that cannot be read
    stats: RequestStats = field(default_factory=RequestStats)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "collection": self.collection,
            "selected": self.selected,
            "updated": len(self.changes),
            "unchanged": self.unchanged,
            "gone": self.gone,
            "unreadable": self.unreadable,
            "changes": [c.as_dict() for c in self.changes],
            "seconds": round(self.seconds, 3),
            **self.stats.as_dict(),
        }


def refresh(
    settings: Settings,
    collection: str | None = None,
    *,
    older_than_days: float | None = None,
    status_not: Sequence[str] = (),
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> RefreshSummary:
    """Fetch the selected records from NCBI again and store those that changed.

    The records are those that matched references of the collection (of every collection
    without one) link to; older_than_days keeps those fetched longer ago than that, status_not
    those whose MEDLINE status is none of these. Records no collection cites (a mirror's) are
    never fetched here. Each chunk is one transaction: an interrupted refresh keeps what it did.
    """
    if settings.offline:
        raise RefreshError("refresh asks NCBI for the records again; it cannot run offline")
    if settings.uses_ncbi and not settings.email:
        raise RefreshError("NCBI asks every client for a contact email: set NCBI_EMAIL or --email")
    started = time.perf_counter()
    store = Store(settings.db_url, index=SearchIndex())
    try:
        store.upgrade()
        if collection is not None and collection not in {c["name"] for c in store.collections()}:
            known = ", ".join(c["name"] for c in store.collections()) or "none yet"
            raise RefreshError(f"no collection named {collection!r} (collections: {known})")
        cutoff = None
        if older_than_days is not None:
            cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        pmids = store.refresh_selection(collection, cutoff, tuple(status_not))
        summary = RefreshSummary(collection, len(pmids))
        with EntrezClient(settings, summary.stats) as client:
            for part in chunked(pmids, chunk):
                try:
                    records = client.efetch_records(part, fresh=True)
                except EntrezError as exc:
                    done = summary.unchanged + len(summary.changes)
                    raise RefreshError(f"{exc}; {done} of {len(pmids)} records were checked and "
                                       "are stored") from exc
                _apply(store, client, part, records, summary)
                if progress:
                    progress(len(part))
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        store.close()


def _apply(store: Store, client: EntrezClient, part: list[str], records,
           summary: RefreshSummary) -> None:
    stored = {a.pmid: a for a in store.articles(part)}
    fresh = {a.pmid: a for a in records.articles if a.pmid in stored}
    changed = [a for p, a in fresh.items() if a != stored[p]]
    same = [p for p, a in fresh.items() if a == stored[p]]
    # The changed copies with the time NCBI gave them; the others are marked as checked now.
    store.save_articles(changed, client.received_at)
    store.touch_articles(same)
    summary.changes += [compare(stored[a.pmid], a) for a in changed]
    summary.unchanged += len(same)
    unreadable = {e.pmid for e in records.errors if e.pmid}
    summary.unreadable += [str(e) for e in records.errors]
    summary.gone += [p for p in part if p not in fresh and p not in unreadable]
