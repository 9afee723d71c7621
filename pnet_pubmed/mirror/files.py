"""Which files a load takes, in which order, and their MD5 checks.

NLM names its files pubmedYYnNNNN.xml.gz, and their names sort in the order they must be loaded
(the baseline, then the update files after it). A folder stands for the .xml and .xml.gz files
in it. NLM publishes an .md5 file beside each one: "MD5(pubmed25n0001.xml.gz)= <32 hex digits>".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".xml.gz", ".xml")
# An .md5 file is a line; anything much longer is not one.
MAX_MD5_FILE = 4096
_NLM_MD5 = re.compile(r"^\s*MD5\s*\((?P<name>[^)]*)\)\s*=\s*(?P<hex>[0-9a-fA-F]{32})\s*$")
_COREUTILS_MD5 = re.compile(r"^\s*(?P<hex>[0-9a-fA-F]{32})\s+\*?(?P<name>\S.*?)\s*$")


class MirrorFileError(ValueError):
    """A path that cannot be loaded as asked (one-line message)."""


@dataclass(frozen=True)
class SourceFile:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def md5_path(self) -> Path:
        return self.path.with_name(self.path.name + ".md5")


def discover(paths: list[str | Path]) -> list[SourceFile]:
    """The files to load, sorted by name; MirrorFileError for a path that is neither."""
    found: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            members = sorted(p for p in path.iterdir()
                             if p.is_file() and p.name.endswith(SUFFIXES))
            if not members:
                raise MirrorFileError(f"no .xml or .xml.gz files in {path}")
        elif path.is_file():
            members = [path]
        elif path.exists():
            raise MirrorFileError(f"not a file or folder: {path}")
        else:
            raise MirrorFileError(f"no such file or folder: {path}")
        for member in members:
            other = found.get(member.name)
            if other is not None and other.resolve() != member.resolve():
                raise MirrorFileError(f"two files named {member.name}: {other} and {member}")
            found[member.name] = member
    return [SourceFile(found[name]) for name in sorted(found)]


def expected_md5(source: SourceFile) -> str | None:
    """The MD5 the file's .md5 file states; None without one; MirrorFileError when unusable."""
    path = source.md5_path
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MD5_FILE + 1)
    except OSError as e:
        raise MirrorFileError(f"its .md5 file cannot be read: {e.strerror}") from None
    text = data.decode("utf-8", "replace") if len(data) <= MAX_MD5_FILE else ""
    for line in text.splitlines():
        m = _NLM_MD5.match(line) or _COREUTILS_MD5.match(line)
        if m:
            if Path(m["name"].strip()).name != source.name:
                raise MirrorFileError(f"its .md5 file is for {m['name'].strip()!r}")
            return m["hex"].lower()
    raise MirrorFileError("its .md5 file does not hold an MD5 sum")


def file_md5(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(source: SourceFile) -> str:
    """The file's MD5, checked against its .md5 file; MirrorFileError when they differ."""
    expected = expected_md5(source)
    try:
        actual = file_md5(source.path)
    except OSError as e:
        raise MirrorFileError(f"cannot be read: {e.strerror}") from None
    if expected is not None and actual != expected:
        raise MirrorFileError(f"corrupt: its MD5 is {actual}, its .md5 file says {expected}")
    return actual
