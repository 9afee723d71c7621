"""Reference files as text: regular files only, size caps, decoding, and which format they hold."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from ..errors import InputError


class CitationInputError(InputError):
    """A reference file that cannot be read at all (missing, binary, empty, no reference)."""


_BINARY_MAGIC = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (Word, Excel or similar)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"{\\rtf", "an RTF document"),
)


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252: what reference managers save."""
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise CitationInputError(f"{path}: {what}, not a text file; export the references "
                                     "as text, BibTeX, RIS or CSL-JSON")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CitationInputError(f"{path}: not readable as UTF-16 text") from exc
    if b"\x00" in data:
        raise CitationInputError(f"{path}: a binary file, not a reference list")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise CitationInputError(f"{path}: not a text file (neither UTF-8 nor "
                                     "Windows-1252)") from exc
    limit = max(2, len(text) // 100)
    for count, _ in enumerate(_CONTROL.finditer(text), start=1):
        if count > limit:
            raise CitationInputError(f"{path}: a binary file, not a reference list")
    return text


# Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) but tab, line feed,
# vertical tab, form feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


# A reference list of 100,000 entries is about 25 MB; nothing larger is read.
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_input(path: str | Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a reference file: a regular file (not a FIFO, a device such as /dev/zero,
    or a socket, whatever a symlink points at), at most `limit` bytes."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CitationInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CitationInputError(f"{path}: a directory, not a file") from None
    except OSError as exc:
        raise CitationInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise CitationInputError(f"{path}: a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise CitationInputError(f"{path}: not a regular file (a device, pipe or socket)")
        if info.st_size > limit:
            raise CitationInputError(f"{path}: {info.st_size // 1_000_000} MB, more than the "
                                     f"{limit // 1_000_000} MB a reference list may have")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # the file grew while it was read
            raise CitationInputError(f"{path}: more than the {limit // 1_000_000} MB a "
                                     "reference list may have")
        return b"".join(chunks)
    except OSError as exc:
        raise CitationInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def detect_format(text: str) -> str:
    """'csl-json', 'bibtex', 'ris', 'medline' or 'text', from the content alone."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "[{":
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        except RecursionError:
            raise CitationInputError("the JSON is nested too deeply to be a reference list") \
                from None
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        dicts = [i for i in items if isinstance(i, dict)]
        if items and any(
            {"title", "container-title", "DOI", "author", "issued"} & set(i) for i in dicts
        ):
            return "csl-json"
        if items and isinstance(data, list) and all(
            isinstance(i, str) or (isinstance(i, int) and not isinstance(i, bool)) for i in items
        ):
            return "csl-json"  # a JSON list of PMIDs, DOIs or reference strings
    # (each pattern needs a character or word the text may not have at all)
    if "@" in stripped and re.search(
            r"^\s*@\s*(?:article|inproceedings|incollection|book|misc|conference|"
            r"proceedings|inbook|phdthesis|mastersthesis|techreport|unpublished|online|"
            r"report)\s*[{(]", stripped, re.I | re.M):
        return "bibtex"
    if "PMID-" in stripped and re.search(r"^PMID- *\d+", stripped, re.M):
        return "medline"
    if "TY  - " in stripped and re.search(r"^TY  - ", stripped, re.M) and re.search(
            r"^(?:ER  -|TI  -|T1  -|AU  -)", stripped, re.M):
        return "ris"
    return "text"
