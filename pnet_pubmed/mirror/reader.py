"""Reading mirror files into chunks of rows, in this process or in reader processes.

A reader checks a file's MD5, parses it with pubmed.iter_records and turns the records into
row tuples (rows.py), a chunk at a time. Reader processes send each chunk to the writer as one
marshal blob over a pipe, so parsing and writing overlap and memory stays flat: a reader blocks
once the pipe is full, about one chunk ahead. With several readers, reader k takes files k,
k+n, k+2n, … and the writer takes their chunks in file order.
"""

from __future__ import annotations

import argparse
import marshal
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from sqlalchemy.dialects import sqlite

from pnet_pubmed.pubmed import Deletion, PubmedXMLError, RecordError, iter_records
from pnet_pubmed.store import schema as t

from .files import MirrorFileError, SourceFile, check_md5
from .rows import Chunk, add_article

CHUNK_RECORDS = 2000

# Messages: ("md5", hex), ("chunk", blob), ("end", None), ("error", one-line message).
Message = tuple[str, object]


def _chunks(path: Path, fetched_at, size: int, index: str | None) -> Iterator[Chunk]:
    chunk = Chunk(index=index)
    items = 0
    for item in iter_records(path):
        items += 1
        if isinstance(item, Deletion):
            chunk.deletions.append(item.pmid)
        elif isinstance(item, RecordError):
            chunk.unreadable.append(str(item))
        else:
            if chunk.deletions:  # a record after deletions: they apply first, in file order
                chunk.items = items - 1
                yield chunk.finish()
                chunk = Chunk(index=index)
            add_article(chunk, item, fetched_at)
        if len(chunk) >= size:
            chunk.items = items
            yield chunk.finish()
            chunk = Chunk(index=index)
    chunk.items = items
    yield chunk.finish()


def fetched_at(path: Path, dialect: str) -> str:
    """articles.fetched_at of a file's records: when NLM's copy was obtained, the file's
    modification time (so an EFetch answer received later is the newer copy), as each backend's
    bulk path takes it."""
    when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    if dialect == "sqlite":
        # Exactly what SQLAlchemy writes for a DateTime on SQLite, so reads parse it back.
        lite = sqlite.dialect()
        to_text = t.articles.c.fetched_at.type.dialect_impl(lite).bind_processor(lite)
        if to_text is not None:
            return to_text(when)
    return when.isoformat()


def read_file(source: SourceFile, dialect: str, size: int = CHUNK_RECORDS,
              index: bool = False) -> Iterator[Message]:
    """The messages for one file: its MD5, its chunks, then "end" or one "error".

    With index, the chunks carry the search index's rows too (Chunk.finish)."""
    try:
        yield ("md5", check_md5(source))
        for chunk in _chunks(source.path, fetched_at(source.path, dialect), size,
                             dialect if index else None):
            yield ("chunk", chunk)
    except MirrorFileError as e:
        yield ("error", str(e))
        return
    except PubmedXMLError as e:
        yield ("error", str(e))
        return
    except OSError as e:
        yield ("error", f"cannot be read: {e.strerror or e}")
        return
    yield ("end", None)


# -- reader processes --------------------------------------------------------------------------
# A reader process is `python -m pnet_pubmed.mirror.reader`, not a multiprocessing child: it
# never re-imports the caller's main module, shares nothing with the loader's database
# connections, and stops by itself (a broken pipe) when the loader is gone. Messages go over its
# stdout as a kind byte, a length and a marshal payload; the pipe's own buffer bounds how far a
# reader runs ahead of the writer.
_HEADER = struct.Struct(">cQ")
_KINDS = {"md5": b"m", "chunk": b"c", "end": b"e", "error": b"x"}
_NAMES = {v: k for k, v in _KINDS.items()}


def _serve(paths: list[str], dialect: str, size: int, index: bool, out: BinaryIO) -> None:
    for path in paths:
        for kind, value in read_file(SourceFile(Path(path)), dialect, size, index):
            # The other messages carry a string (md5, error) or None (end).
            payload = marshal.dumps(cast(Chunk, value).as_tuple() if kind == "chunk"
                                    else cast("str | None", value))
            out.write(_HEADER.pack(_KINDS[kind], len(payload)))
            out.write(payload)
        out.flush()


def _receive(stream: BinaryIO) -> Message | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    kind, length = _HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        return None
    value = marshal.loads(payload)
    name = _NAMES[kind]
    return (name, Chunk.from_tuple(value) if name == "chunk" else value)


# A chunk is megabytes: a wider pipe than Linux's 64 KB means fewer switches between the two.
PIPE_BYTES = 1 << 20


def _widen(stream) -> None:
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass  # not Linux, or a limit below it: the default pipe works the same, a bit slower


class Readers:
    """n reader processes for the files, or none (n = 0: read in the calling process)."""

    def __init__(self, files: list[SourceFile], dialect: str, jobs: int,
                 size: int = CHUNK_RECORDS, index: bool = False) -> None:
        self.files, self.dialect, self.jobs, self.size = files, dialect, jobs, size
        self.index = index
        self.processes: list[subprocess.Popen] = []
        self.logs: list = []
        if jobs > 0 and files:
            n = min(jobs, len(files))
            for k in range(n):
                log = tempfile.TemporaryFile()
                args = [sys.executable, "-m", "pnet_pubmed.mirror.reader",
                        "--dialect", dialect, "--chunk", str(size),
                        *(["--index"] if index else []), *(str(f.path) for f in files[k::n])]
                process = subprocess.Popen(args, stdout=subprocess.PIPE,
                                           stdin=subprocess.DEVNULL, stderr=log)
                _widen(process.stdout)
                self.processes.append(process)
                self.logs.append(log)

    def messages(self, index: int) -> Iterator[Message]:
        """The messages of files[index]; files must be asked for in order."""
        source = self.files[index]
        if not self.processes:
            yield from read_file(source, self.dialect, self.size, self.index)
            return
        k = index % len(self.processes)
        process = self.processes[k]
        while True:
            message = _receive(cast(BinaryIO, process.stdout))
            if message is None:
                yield ("error", self._died(k))
                return
            yield message
            if message[0] in ("end", "error"):
                return

    def _died(self, k: int) -> str:
        process, log = self.processes[k], self.logs[k]
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        log.seek(0)
        lines = [x for x in log.read().decode("utf-8", "replace").splitlines() if x.strip()]
        last = lines[-1].strip() if lines else "no message"
        return f"the reader process stopped (exit code {code}): {last}"

    def close(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.kill()
        for p in self.processes:
            p.wait()
            if p.stdout:
                p.stdout.close()
        for log in self.logs:
            log.close()
        self.processes, self.logs = [], []

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pnet_pubmed.mirror.reader",
                                     description="A reader process of `pnet-pubmed mirror load`.")
    parser.add_argument("--dialect", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--chunk", type=int, default=CHUNK_RECORDS)
    parser.add_argument("--index", action="store_true",
                        help="make the search index's rows too")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        _serve(args.paths, args.dialect, args.chunk, args.index, sys.stdout.buffer)
    except BrokenPipeError:  # the loader stopped reading: it is gone or it gave up
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
