"""`mirror load`: NLM baseline and update files into the store, in file order, resumable.

The ledger (mirror_files) holds one row per file. A file is loaded in one transaction that also
marks it loaded, so a load stopped in any way (Ctrl-C, kill -9, a power cut) leaves the file it
was in as not loaded, and the next load starts again at that file: nothing of it is stored
twice, nothing half. Before that transaction a short one marks the file "loading", which is how
the next load can say it resumes.

A file is skipped when the ledger has it loaded with the same MD5 (its .md5 file's, when there is
one, else the file's own). A file whose MD5 differs from its .md5 file, a truncated .gz or broken
XML fails on its own: its transaction is rolled back, the ledger says why, and the next files
load. Running the same command again retries failed files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from pnet_pubmed.search.index import refresh_word_lists
from pnet_pubmed.store import Store, StoreError
from pnet_pubmed.store import schema as t

from .files import MirrorFileError, SourceFile, discover, expected_md5, file_md5
from .keys import KEYS_VERSION
from .reader import CHUNK_RECORDS, Readers
from .rows import Chunk
from .writer import bulk_index, writer_for

# Page cache of the loading connection (KiB): more of a large mirror's index pages stay in
# memory. It bounds the loader's memory with the rest, which does not grow with the files.
SQLITE_CACHE_KIB = 64 * 1024
# The write-ahead log grows to a whole file's pages in its transaction; past this it is cut
# back after each checkpoint, so a load does not leave a log of the largest file behind.
SQLITE_WAL_LIMIT = 64 * 1024 * 1024


@dataclass
class FileOutcome:
    name: str
    status: str  # "loaded", "skipped" or "failed"
    records: int = 0  # records written (new or newer versions)
    superseded: int = 0  # records not written: a newer version is stored, or a later deletion
    deleted: int = 0  # records removed by the file's DeleteCitation list
    kept_linked: int = 0  # deleted by NLM but kept, because a reference is linked to it
    unreadable: int = 0
    seconds: float = 0.0
    index_seconds: float = 0.0  # of seconds, in the search index's upkeep
    message: str | None = None
    resumed: bool = False  # an earlier load stopped inside this file

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"file": self.name, "status": self.status, "records": self.records,
                "superseded": self.superseded, "deleted": self.deleted,
                "kept_linked": self.kept_linked, "unreadable": self.unreadable,
                "seconds": round(self.seconds, 3),
                "index_seconds": round(self.index_seconds, 3),
                "records_per_s": round(self.records_per_s, 1), "message": self.message,
                "resumed": self.resumed}


@dataclass
class LoadSummary:
    files: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0  # loading the files (the word lists' build after it not included)
    word_lists: int | None = None  # frequent words given a list after the load (None: kept)
    word_lists_seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    def as_dict(self) -> dict:
        return {"files": [f.as_dict() for f in self.files],
                "loaded": self.count("loaded"), "skipped": self.count("skipped"),
                "failed": self.count("failed"), "records": self.records,
                "seconds": round(self.seconds, 3),
                "records_per_s": round(self.records / self.seconds, 1) if self.seconds else 0.0,
                "word_lists": self.word_lists,
                "word_lists_seconds": round(self.word_lists_seconds, 3)}


# progress(event, outcome), event one of "start", "chunk" (after each chunk) and "done"
Progress = Callable[[str, FileOutcome], None]


class _FileFailed(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _ledger(store: Store) -> dict[str, sa.Row]:
    f = t.mirror_files
    with store.transaction() as conn:
        return {r.name: r for r in conn.execute(sa.select(f))}


def plan(store: Store, sources: list[SourceFile]) -> tuple[list[SourceFile], list[FileOutcome]]:
    """The files to load, and the outcomes of those that are not (skipped, or failed early)."""
    ledger = _ledger(store)
    todo, done = [], []
    for source in sources:
        row = ledger.get(source.name)
        if row is not None and row.status == "loaded" and row.keys_version == KEYS_VERSION:
            try:
                md5 = expected_md5(source) or file_md5(source.path)
            except MirrorFileError as e:
                done.append(FileOutcome(source.name, "failed", message=str(e)))
                continue
            except OSError as e:
                done.append(FileOutcome(source.name, "failed",
                                        message=f"cannot be read: {e.strerror}"))
                continue
            if md5 == row.md5:
                done.append(FileOutcome(source.name, "skipped", records=0,
                                        message="already loaded"))
                continue
        todo.append(source)
    return todo, done


def load(store: Store, paths: list[str | Path], *, jobs: int = 1,
         progress: Progress | None = None, chunk_records: int = CHUNK_RECORDS) -> LoadSummary:
    """Load the files (or the files of folders) in name order; see the module docstring."""
    started = time.perf_counter()
    report = progress or (lambda event, outcome: None)
    store.upgrade()
    sources = discover(paths)
    todo, early = plan(store, sources)
    outcomes: dict[str, FileOutcome] = {o.name: o for o in early}
    ledger = _ledger(store)
    index = {s.name: i for i, s in enumerate(todo)}
    # The readers make the search index's rows when the writer can write them in bulk.
    search_rows = bulk_index(store) is not None
    with Readers(todo, store.dialect, jobs, chunk_records, search_rows) as readers:
        for source in sources:  # in file order, the skipped ones in their place
            if source.name not in index:
                report("done", outcomes[source.name])
                continue
            row = ledger.get(source.name)
            outcome = FileOutcome(source.name, "loaded",
                                  resumed=row is not None and row.status == "loading")
            report("start", outcome)
            _load_file(store, source, readers, index[source.name], outcome, report)
            outcomes[source.name] = outcome
            report("done", outcome)
    summary = LoadSummary([outcomes[s.name] for s in sources if s.name in outcomes])
    summary.seconds = time.perf_counter() - started
    if summary.records:
        started = time.perf_counter()
        summary.word_lists = refresh_word_lists(store, summary.records)
        summary.word_lists_seconds = time.perf_counter() - started
    return summary


def _load_file(store: Store, source: SourceFile, readers: Readers, index: int,
               outcome: FileOutcome, report: Progress) -> None:
    t0 = time.perf_counter()
    messages = readers.messages(index)
    kind, value = next(messages)
    if kind == "error":
        _fail(store, source, None, outcome, str(value))
        return
    md5 = str(value)
    file_id = _mark_loading(store, source, md5)
    try:
        with store.transaction() as conn:
            if not _claim(conn, store, file_id, md5):
                outcome.status, outcome.message = "skipped", "loaded by another load meanwhile"
                for _ in messages:
                    pass
                return
            writer = writer_for(store, conn)
            first_unreadable = None
            for kind, value in messages:
                if kind == "error":
                    raise _FileFailed(str(value))
                if kind != "chunk":
                    continue
                chunk = cast(Chunk, value)
                if chunk.unreadable:
                    outcome.unreadable += len(chunk.unreadable)
                    first_unreadable = first_unreadable or chunk.unreadable[0]
                result = writer.write(chunk, file_id, source.name)
                outcome.records += result.written
                outcome.superseded += result.superseded
                outcome.deleted += result.deleted
                outcome.kept_linked += result.kept_linked
                outcome.index_seconds += result.index_seconds
                outcome.seconds = time.perf_counter() - t0
                report("chunk", outcome)
            outcome.index_seconds += writer.finish()
            outcome.seconds = time.perf_counter() - t0
            outcome.message = first_unreadable
            f = t.mirror_files
            conn.execute(f.update().where(f.c.id == file_id).values(
                status="loaded", records=outcome.records, superseded=outcome.superseded,
                deleted=outcome.deleted, unreadable=outcome.unreadable,
                message=first_unreadable, keys_version=KEYS_VERSION, finished_at=_now()))
    except _FileFailed as e:
        for _ in messages:
            pass
        _fail(store, source, file_id, outcome, str(e))
    except StoreError as e:
        for _ in messages:
            pass
        _fail(store, source, file_id, outcome, str(e))
    outcome.seconds = time.perf_counter() - t0


def _mark_loading(store: Store, source: SourceFile, md5: str) -> int:
    f = t.mirror_files
    values = {"path": str(source.path), "md5": md5, "size": source.path.stat().st_size,
              "status": "loading", "records": 0, "superseded": 0, "deleted": 0,
              "unreadable": 0, "message": None, "started_at": _now(), "finished_at": None}
    with store.transaction() as conn:
        row = conn.execute(sa.select(f.c.id, f.c.status, f.c.md5)
                           .where(f.c.name == source.name)).first()
        if row is None:
            return conn.execute(f.insert().values(name=source.name, **values)
                                .returning(f.c.id)).scalar_one()
        if not (row.status == "loaded" and row.md5 == md5):
            conn.execute(f.update().where(f.c.id == row.id).values(**values))
        return row.id


def _claim(conn: sa.Connection, store: Store, file_id: int, md5: str) -> bool:
    """Inside the file's transaction: False when another load finished this file meanwhile.

    SQLite's write transaction already excludes other loads; PostgreSQL locks the ledger row.
    """
    f = t.mirror_files
    q = sa.select(f.c.status, f.c.md5, f.c.keys_version).where(f.c.id == file_id)
    if store.dialect == "postgresql":
        q = q.with_for_update()
        # A server crash may lose this commit: then ledger and rows are lost together, and the
        # next load takes the file again. Nothing can be half there.
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    else:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA journal_size_limit = {SQLITE_WAL_LIMIT}")
    row = conn.execute(q).one()
    return not (row.status == "loaded" and row.md5 == md5 and row.keys_version == KEYS_VERSION)


def _fail(store: Store, source: SourceFile, file_id: int | None, outcome: FileOutcome,
          message: str) -> None:
    outcome.status, outcome.message = "failed", message
    outcome.records = outcome.superseded = outcome.deleted = outcome.kept_linked = 0
    f = t.mirror_files
    values = {"status": "failed", "message": message, "records": 0, "superseded": 0,
              "deleted": 0, "unreadable": 0, "finished_at": _now()}
    with store.transaction() as conn:
        if file_id is None:
            row = conn.execute(sa.select(f.c.id, f.c.status)
                               .where(f.c.name == source.name)).first()
            if row is not None and row.status == "loaded":
                return  # an earlier good copy stays recorded as loaded
            try:
                size = source.path.stat().st_size
            except OSError:
                size = None
            if row is None:
                conn.execute(f.insert().values(name=source.name, path=str(source.path),
                                               size=size, started_at=_now(), **values))
            else:
                conn.execute(f.update().where(f.c.id == row.id).values(**values))
        else:
            conn.execute(f.update().where(f.c.id == file_id).values(**values))


def status(store: Store) -> dict:
    """The ledger and the size of the mirror, for `mirror status`."""
    f = t.mirror_files.c
    store.upgrade()
    with store.transaction() as conn:
        files = [dict(r._mapping) for r in conn.execute(
            sa.select(f.name, f.status, f.records, f.superseded, f.deleted, f.unreadable,
                      f.message, f.keys_version, f.finished_at, f.md5).order_by(f.name))]
        records = conn.execute(sa.select(sa.func.count()).select_from(t.mirror_records)
                               ).scalar_one()
        deletions = conn.execute(sa.select(sa.func.count()).select_from(t.mirror_deletions)
                                 ).scalar_one()
    loaded = [x for x in files if x["status"] == "loaded"]
    for x in files:
        x["finished_at"] = x["finished_at"].isoformat() if x["finished_at"] else None
    stale = [x["name"] for x in loaded if x["keys_version"] != KEYS_VERSION]
    return {
        "files": files,
        "loaded": len(loaded),
        "failed": sum(x["status"] == "failed" for x in files),
        "interrupted": [x["name"] for x in files if x["status"] == "loading"],
        "records": int(records),
        "deleted_pmids": int(deletions),
        "newest_file": max((x["name"] for x in loaded), default=None),
        "stale_keys": stale,
    }
