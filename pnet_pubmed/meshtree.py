"""The MeSH vocabulary the package ships: headings and entry terms resolved, the tree walked.

Pure and offline: everything comes from `data/mesh.tsv.gz` (NLM's MeSH descriptors, compacted by
tools/make_mesh_table.py; source and version in `data/MESH-SOURCE.txt`). `vocabulary()` reads it
once per process, on first use.

    >>> mesh = vocabulary()
    >>> hit = mesh.resolve("beta-Cell Tumor")
    >>> hit.name, hit.by_entry_term
    ('Insulinoma', True)
    >>> "D007340" in mesh.narrower(mesh.resolve("Pancreatic Neoplasms").ui)
    True

Terms: a *descriptor* (main heading) has a UI ("D007340"), a name ("Insulinoma"), entry terms
(synonyms: "beta-Cell Tumor", "Insuloma") and tree numbers ("C04.588.274.761.249.500"), one per
place in the hierarchy. The *depth* of a tree number is its count of dot-separated parts:
"C04" (Neoplasms) is depth 1, "C04.588" (Neoplasms by Site) depth 2. The category letter alone
("C", Diseases) is no descriptor and has no depth.

How it stays fast: the table is kept as its bytes plus a copy folded byte for byte (ASCII
lower case, punctuation as spaces), so loading is unpacking and two C-level passes; a term is
found by one regular-expression scan of the folded copy (a few ms), and the tree index that
roll-ups need is built on first use. The few descriptors with a non-ASCII spelling get their
keys folded in Python at load.
"""

from __future__ import annotations

import bisect
import re
import string
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path

from .errors import InputError, PnetPubmedError, QueryError
from .text import strip_diacritics

__all__ = [
    "AmbiguousHeadingError", "Descriptor", "MeshDataError", "MeshError", "MeshVocabulary",
    "Resolution", "Suggestion", "UnknownHeadingError", "fold", "tree_depth", "vocabulary",
]

DATA_FILE = "mesh.tsv.gz"
HEADER = "#pnet-pubmed-mesh"  # first line: HEADER <TAB> FORMAT <TAB> number of descriptors
FORMAT = "1"
# The shipped file is about 1.3 MB (5 MB unpacked); anything far larger is not it.
MAX_PACKED = 32 << 20
MAX_UNPACKED = 128 << 20
SUGGESTIONS = 5
MAX_TERM = 1000  # characters; the longest name or entry term has about 250
SUGGEST_CUTOFF = 60.0

_UI = re.compile(r"\s*[Dd]\d{6,9}\s*")
_ASCII_PUNCT = str.maketrans({c: " " for c in string.punctuation})
_NON_WORD = re.compile(r"[\W_]+")
# Byte for byte what fold does to ASCII, keeping the table's separators (tab, '|', newline).
_FOLD_BYTES = bytes(
    32 if chr(b) in string.punctuation and b != ord("|") else b
    for b in bytes(range(256)).lower()
)
_TAB, _BAR, _SPACE = ord("\t"), ord("|"), ord(" ")


class MeshError(QueryError):
    """A MeSH heading that cannot be used as given; the message is one line fit for a user."""


class UnknownHeadingError(MeshError):
    """No descriptor has this name, UI or entry term. `suggestions` holds the closest ones."""

    def __init__(self, message: str, term: str, suggestions: tuple[Suggestion, ...] = ()):
        super().__init__(message)
        self.term = term
        self.suggestions = suggestions


class AmbiguousHeadingError(MeshError):
    """The term, folded, names several descriptors and its exact spelling does not pick one
    ("kangaroo rat" is Dipodomys, "rat, kangaroo" Potoroidae, and "Kangaroo-Rat" both);
    `candidates` holds them."""

    def __init__(self, message: str, term: str, candidates: tuple[Descriptor, ...]):
        super().__init__(message)
        self.term = term
        self.candidates = candidates


class MeshDataError(PnetPubmedError, RuntimeError):
    """The MeSH table is missing or damaged (reinstall the package, or rerun
    tools/make_mesh_table.py)."""


def fold(term: str) -> str:
    """The lookup key of a name or entry term: no accents, case folded, punctuation as spaces,
    single spaces: "beta-Cell Tumor", "Beta Cell  Tumor", "Béta-cell tumor" -> "beta cell tumor".
    Word order is kept ("Rat, Kangaroo" and "Kangaroo Rat" are different animals)."""
    text = strip_diacritics(term).casefold()
    if text.isascii():
        return " ".join(text.translate(_ASCII_PUNCT).split())
    return " ".join(_NON_WORD.sub(" ", text).split())


def _exact(term: str) -> str:
    """A stricter key than fold (punctuation kept), to choose among the few terms fold merges."""
    return " ".join(strip_diacritics(term).casefold().split())


def tree_depth(tree_number: str) -> int:
    """The number of dot-separated parts: "C04" -> 1, "C04.588" -> 2, "C04.588.274.761" -> 4."""
    return tree_number.count(".") + 1


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A MeSH descriptor: UI ("D007340"), name ("Insulinoma"), tree numbers in file order
    (empty for the two outside the tree, Female and Male)."""

    ui: str
    name: str
    tree_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resolution:
    """What `MeshVocabulary.resolve` found: the descriptor, the term as given, and how it matched:
    `via` is "ui", "name" or "entry term"; `matched` is the vocabulary's own spelling of the
    name or entry term that matched (the UI for "ui")."""

    descriptor: Descriptor
    term: str
    via: str
    matched: str

    @property
    def ui(self) -> str:
        return self.descriptor.ui

    @property
    def name(self) -> str:
        return self.descriptor.name

    @property
    def by_entry_term(self) -> bool:
        """True when the term is an entry term (synonym), not the descriptor's name or UI."""
        return self.via == "entry term"

    def note(self) -> str | None:
        """The line a caller prints when the term was not the heading itself:
        'using descriptor Insulinoma (D007340) for entry term "beta-Cell Tumor"'; else None."""
        if not self.by_entry_term:
            return None
        return (f"using descriptor {self.descriptor.name} ({self.descriptor.ui}) "
                f'for entry term "{self.matched}"')


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A descriptor close to an unknown term: `matched` is its name or the entry term that was
    close, `score` how close (0-100: the mean of rapidfuzz's ratio and token_set_ratio of the
    folded forms)."""

    descriptor: Descriptor
    matched: str
    score: float

    def label(self) -> str:
        """'Pancreatic Neoplasms (D010190)', or with the entry term that was close:
        'Gastrinoma (D015408, as "Ulcerogenic Islet Cell Tumor")'."""
        d = self.descriptor
        if fold(self.matched) == fold(d.name):
            return f"{d.name} ({d.ui})"
        return f'{d.name} ({d.ui}, as "{self.matched}")'


# One place a folded term was found: (descriptor number, True for its name, the spelling).
_Hit = tuple[int, bool, str]


class MeshVocabulary:
    """MeSH descriptors with their names, entry terms and tree numbers, read from a table written
    by tools/make_mesh_table.py. Use `vocabulary()` for the shipped one; instances are
    read-only and safe to share between threads (the lazy indexes are built under a lock)."""

    def __init__(self, data: bytes, source: str = DATA_FILE):
        """`data`: the unpacked table. Raises MeshDataError when it is not one."""
        self._source = source
        head, _, body = data.partition(b"\n")
        fields = head.split(b"\t")
        if len(fields) != 3 or fields[0] != HEADER.encode() or not fields[2].isdigit():
            raise self._damaged("no header line")
        if fields[1] != FORMAT.encode():
            raise self._damaged(f"format {fields[1].decode(errors='replace')!r}, this version "
                                f"reads {FORMAT!r}")
        if not body.endswith(b"\n"):
            raise self._damaged("the last line is cut")
        rows = body[:-1].split(b"\n") if len(body) > 1 else []
        if len(rows) != int(fields[2]):
            raise self._damaged(f"{len(rows)} descriptors where the header says "
                                f"{int(fields[2])}")
        # Every row is UI, name, tree numbers, entry terms: counted at C speed, then the row at
        # fault found only when the counts are off.
        if body.count(b"\t") != 3 * len(rows) or (b"\n" + body).count(b"\nD") != len(rows):
            bad = next(n for n, row in enumerate(rows, start=2)
                       if row.count(b"\t") != 3 or not row.startswith(b"D"))
            raise self._damaged(f"line {bad} is not UI, name, tree numbers, entry terms")
        self._data = data
        self._body_start = len(head) + 1
        self._folded = data.translate(_FOLD_BYTES)
        self._rows = rows
        self._by_ui = {row.partition(b"\t")[0]: i for i, row in enumerate(rows)}
        if len(self._by_ui) != len(rows):
            raise self._damaged("a UI appears twice")
        # Descriptors with a non-ASCII spelling: their keys folded here (the folded copy only
        # folds ASCII), folded key -> hits.
        self._unicode_rows: set[int] = set()
        self._unicode_keys: dict[str, list[_Hit]] = {}
        if not body.isascii():
            for i, row in enumerate(rows):
                if row.isascii():
                    continue
                try:
                    row.decode("utf-8")
                except UnicodeDecodeError:
                    raise self._damaged(f"line {i + 2} is not UTF-8") from None
                self._unicode_rows.add(i)
                for is_name, term in self._terms(i):
                    self._unicode_keys.setdefault(fold(term), []).append((i, is_name, term))
        self._lock = threading.Lock()
        self._by_tree: dict[str, int] | None = None
        # Every tree number in order, with its descriptor's row, for narrower() once a process
        # asks more than once (one scan of the table costs less than building it).
        self._sorted_trees: tuple[list[str], list[int]] | None = None
        self._narrower_calls = 0
        self._choices: tuple[list[str], list[_Hit]] | None = None

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | PathLike[str] | None = None) -> MeshVocabulary:
        """Read a table (gzipped or not); the shipped data/mesh.tsv.gz when path is None.
        A missing, oversized or damaged file raises MeshDataError with a one-line message."""
        if path is None:
            name = f"pnet_pubmed/data/{DATA_FILE}"
            opener = (resources.files("pnet_pubmed") / "data" / DATA_FILE).open
        else:
            name = str(path)
            opener = Path(path).open
        try:
            with opener("rb") as raw:
                packed = raw.read(MAX_PACKED + 1)
        except OSError as exc:
            raise MeshDataError(f"cannot read the MeSH table {name}: "
                                f"{exc.strerror or exc}") from None
        if len(packed) > MAX_PACKED:
            raise MeshDataError(f"the MeSH table {name} is larger than {MAX_PACKED >> 20} MB: "
                                "not the table this package writes")
        try:
            if packed[:2] == b"\x1f\x8b":
                unpack = zlib.decompressobj(wbits=31)  # gzip, its CRC checked at the end
                data = unpack.decompress(packed, MAX_UNPACKED + 1)
                if len(data) > MAX_UNPACKED:
                    raise MeshDataError(f"the MeSH table {name} unpacks to more than "
                                        f"{MAX_UNPACKED >> 20} MB: not the table this package "
                                        "writes")
                if not unpack.eof or unpack.unused_data:
                    raise MeshDataError(f"the MeSH table {name} is damaged (the gzip stream is "
                                        "cut or followed by other data); reinstall pnet-pubmed "
                                        "or rerun tools/make_mesh_table.py")
            else:
                data = packed
        except zlib.error as exc:
            raise MeshDataError(f"the MeSH table {name} is damaged ({exc}); reinstall "
                                "pnet-pubmed or rerun tools/make_mesh_table.py") from None
        return cls(data, name)

    def _damaged(self, why: str) -> MeshDataError:
        return MeshDataError(f"the MeSH table {self._source} is damaged ({why}); reinstall "
                             "pnet-pubmed or rerun tools/make_mesh_table.py")

    # -- descriptors -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, ui: object) -> bool:
        return isinstance(ui, str) and ui.strip().upper().encode() in self._by_ui

    def __iter__(self) -> Iterator[Descriptor]:
        """Every descriptor, in UI order."""
        return (self._descriptor(i) for i in range(len(self._rows)))

    def _cells(self, i: int) -> list[str]:
        cells = self._rows[i].decode("utf-8").split("\t")
        if len(cells) != 4:  # the load counted tabs for the whole table, not per row
            raise self._damaged(f"line {i + 2} is not UI, name, tree numbers, entry terms")
        return cells

    def _descriptor(self, i: int) -> Descriptor:
        ui, name, trees, _ = self._cells(i)
        return Descriptor(ui, name, tuple(trees.split("|")) if trees else ())

    def _terms(self, i: int) -> Iterator[tuple[bool, str]]:
        """(True, name), then (False, entry term) for each entry term of descriptor i."""
        _, name, _, entries = self._cells(i)
        yield True, name
        if entries:
            for term in entries.split("|"):
                yield False, term

    def _at(self, ui: str) -> int:
        i = self._by_ui.get(ui.strip().upper().encode()) if isinstance(ui, str) else None
        if i is None:
            raise UnknownHeadingError(f"no MeSH descriptor has the UI {str(ui).strip()!r}",
                                      str(ui))
        return i

    def descriptor(self, ui: str) -> Descriptor:
        """The descriptor with this UI ("D007340", case-insensitive); UnknownHeadingError if
        none has it."""
        return self._descriptor(self._at(ui))

    def name(self, ui: str) -> str:
        """The descriptor's name: name("D007340") -> "Insulinoma"."""
        return self._cells(self._at(ui))[1]

    def tree_numbers(self, ui: str) -> tuple[str, ...]:
        """The descriptor's tree numbers, () for the two outside the tree (Female, Male)."""
        return self._descriptor(self._at(ui)).tree_numbers

    def entry_terms(self, ui: str) -> tuple[str, ...]:
        """The entry terms shipped for the descriptor (spellings that fold alike kept once)."""
        return tuple(term for is_name, term in self._terms(self._at(ui)) if not is_name)

    # -- resolving -------------------------------------------------------------------------

    def resolve(self, term: str) -> Resolution:
        """The descriptor a user means by a UI ("D007340"), a descriptor name ("Insulinoma") or
        an entry term ("beta-Cell Tumor", "Insuloma"), with case, accents, punctuation and
        spacing folded (see `fold`). A name outranks an entry term of another descriptor.

        Raises UnknownHeadingError (its message names the closest descriptors) when nothing
        matches, and AmbiguousHeadingError when the folded term names several descriptors and
        its exact spelling does not pick one."""
        if not isinstance(term, str) or not fold(term):
            raise UnknownHeadingError("an empty MeSH heading: give a descriptor name, an entry "
                                      "term or a UI such as D007340", str(term))
        if len(term) > MAX_TERM:
            raise UnknownHeadingError(f"a MeSH heading of {len(term):,} characters: no name or "
                                      f"entry term is longer than {MAX_TERM:,}", term[:MAX_TERM])
        if _UI.fullmatch(term):
            i = self._at(term)
            d = self._descriptor(i)
            return Resolution(d, term, "ui", d.ui)
        hits = self._find(fold(term))
        if not hits:
            suggestions = tuple(self.suggest(term))
            close = "; ".join(s.label() for s in suggestions)
            raise UnknownHeadingError(
                f'no MeSH descriptor or entry term "{_short(term)}"'
                + (f"; closest: {close}" if close else "; nothing close"), term, suggestions)
        # Several descriptors fold alike (rare): the spelling typed exactly, then a name over
        # an entry term, must leave one.
        exact = _exact(term)
        pool = [h for h in hits if _exact(h[2]) == exact] or hits
        for kind in ([h for h in pool if h[1]], pool):
            found = {i for i, _, _ in kind}
            if len(found) == 1:
                i, is_name, spelling = kind[0]
                return Resolution(self._descriptor(i), term, "name" if is_name else "entry term",
                                  spelling)
            if found:
                break
        candidates = tuple(self._descriptor(i) for i in sorted({i for i, _, _ in hits}))
        names = "; ".join(f"{d.name} ({d.ui})" for d in candidates)
        raise AmbiguousHeadingError(f'the MeSH term "{_short(term)}" names several '
                                    f"descriptors: {names}; give one by name or UI", term,
                                    candidates)

    def _find(self, key: str) -> list[_Hit]:
        """Every name and entry term whose fold is `key`: one scan of the folded table for
        whole cells (or '|'-separated entry terms) made of the key's words."""
        data, folded = self._data, self._folded
        hits = list(self._unicode_keys.get(key, ()))
        words = [re.escape(w.encode()) for w in key.split(" ")]
        pattern = re.compile(b" +".join(words) + rb" *(?=[\t|\n])")
        for m in pattern.finditer(folded):
            before = m.start() - 1
            while before > 0 and folded[before] == _SPACE:
                before -= 1
            if folded[before] not in (_TAB, _BAR):
                continue  # the key's words end a longer term
            line = folded.rfind(b"\n", 0, before) + 1
            if line < self._body_start:
                continue  # the header
            cell = folded.count(b"\t", line, m.start())
            if cell not in (1, 3):
                continue  # a UI or tree numbers
            i = self._by_ui[data[line:data.find(b"\t", line)]]
            if i not in self._unicode_rows:
                hits.append((i, cell == 1, data[before + 1:m.end()].decode("utf-8")))
        return hits

    def suggest(self, term: str, limit: int = SUGGESTIONS) -> list[Suggestion]:
        """The descriptors whose name or an entry term is closest to `term`, best first, one per
        descriptor, scoring at least SUGGEST_CUTOFF (the mean of rapidfuzz's ratio and
        token_set_ratio over the folded forms; token_set alone rates any one shared word 100).
        Takes a few tenths of a second: it is the error path."""
        from rapidfuzz import fuzz, process

        key = fold(term)
        if not key:
            return []
        keys, owners = self._fuzzy_choices()
        # The best 200 by either scorer, then ranked by both (ties: table order).
        pool = {j for scorer in (fuzz.token_set_ratio, fuzz.ratio)
                for _, _, j in process.extract(key, keys, scorer=scorer, limit=200)}
        scored = sorted((-(fuzz.ratio(key, keys[j]) + fuzz.token_set_ratio(key, keys[j])) / 2, j)
                        for j in pool)
        out: list[Suggestion] = []
        seen: set[int] = set()
        for negative, j in scored:
            score = -negative
            i, _, spelling = owners[j]
            if score < SUGGEST_CUTOFF or len(out) >= limit:
                break
            if i not in seen:
                seen.add(i)
                out.append(Suggestion(self._descriptor(i), spelling, round(score, 1)))
        return out

    def _fuzzy_choices(self) -> tuple[list[str], list[_Hit]]:
        """Every folded name and entry term, and whose it is (built on first use)."""
        if self._choices is None:
            with self._lock:
                if self._choices is None:
                    keys: list[str] = []
                    owners: list[_Hit] = []
                    for i in range(len(self._rows)):
                        if i in self._unicode_rows:
                            continue
                        for is_name, spelling in self._terms(i):
                            keys.append(" ".join(spelling.lower().translate(_ASCII_PUNCT)
                                                 .split()))
                            owners.append((i, is_name, spelling))
                    for key, hits in self._unicode_keys.items():
                        keys.extend(key for _ in hits)
                        owners.extend(hits)
                    self._choices = keys, owners
        return self._choices

    # -- the tree --------------------------------------------------------------------------

    def narrower(self, ui: str) -> frozenset[str]:
        """The UIs of the descriptor and of every descriptor below it, under any of its tree
        numbers: those with a tree number that starts with one of its own followed by a dot.
        This is what PubMed's [mh] search explodes to; a leaf gives only itself."""
        i = self._at(ui)
        self._narrower_calls += 1
        if self._sorted_trees is not None or self._narrower_calls > 1:
            return self._narrower_sorted(i)
        return self._narrower_scan(i)

    def _narrower_scan(self, i: int) -> frozenset[str]:
        """narrower() by one scan of the table per tree number of the descriptor."""
        data = self._data
        found = {self._rows[i].partition(b"\t")[0]}
        for tree in self._descriptor(i).tree_numbers:
            needle = tree.encode() + b"."
            at = data.find(needle)
            while at != -1:
                line = data.rfind(b"\n", 0, at) + 1
                if data[at - 1] in (_TAB, _BAR) and data.count(b"\t", line, at) == 2:
                    found.add(data[line:data.find(b"\t", line)])
                at = data.find(needle, at + 1)
        return frozenset(u.decode() for u in found)

    def _narrower_sorted(self, i: int) -> frozenset[str]:
        """narrower() from the sorted tree numbers: those under each of the descriptor's own
        are one run of the order (bisected)."""
        if self._sorted_trees is None:
            pairs = sorted(self._tree_index().items())
            with self._lock:
                self._sorted_trees = [t for t, _ in pairs], [j for _, j in pairs]
        trees, rows = self._sorted_trees
        found = {i}
        for tree in self._descriptor(i).tree_numbers:
            prefix = tree + "."
            k = bisect.bisect_left(trees, prefix)
            while k < len(trees) and trees[k].startswith(prefix):
                found.add(rows[k])
                k += 1
        return frozenset(self._rows[j].partition(b"\t")[0].decode() for j in found)

    def _tree_index(self) -> dict[str, int]:
        if self._by_tree is None:
            with self._lock:
                if self._by_tree is None:
                    by_tree: dict[str, int] = {}
                    for i, row in enumerate(self._rows):
                        trees = row.split(b"\t", 3)[2]
                        if trees:
                            by_tree.update(dict.fromkeys(trees.decode().split("|"), i))
                    self._by_tree = by_tree
        return self._by_tree

    def broader(self, ui: str) -> tuple[str, ...]:
        """The UIs of the descriptor's immediate parents, one per tree number deeper than 1, in
        tree-number order without repeats; () for a top descriptor (depth 1) or one outside
        the tree."""
        return self._roll_up(ui, None)

    def ancestors_at_depth(self, ui: str, depth: int) -> tuple[str, ...]:
        """Roll a descriptor up to tree depth `depth` (1 = the top descriptors such as C04
        Neoplasms; see `tree_depth`), for `mesh --depth N`. Each tree number deeper than
        `depth` gives the descriptor at its first `depth` parts; a tree number at `depth` or
        above gives the descriptor itself, and so does a descriptor outside the tree. UIs in
        tree-number order without repeats: Insulinoma (depth 6) at depth 2 gives Neoplasms by
        Histologic Type (C04.557), Neoplasms by Site (C04.588), Digestive System Neoplasms
        (C06.301), Pancreatic Diseases (C06.689), Endocrine Gland Neoplasms (C19.344); at depth 1
        Neoplasms (C04), Digestive System Diseases (C06), Endocrine System Diseases (C19)."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise InputError(f"a MeSH tree depth is a whole number from 1, not {depth!r}")
        return self._roll_up(ui, depth)

    def _roll_up(self, ui: str, depth: int | None) -> tuple[str, ...]:
        d = self.descriptor(ui)
        by_tree = self._tree_index()
        out: dict[str, None] = {}
        for tree in sorted(d.tree_numbers):
            parts = tree.split(".")
            keep = len(parts) - 1 if depth is None else min(depth, len(parts))
            if keep < 1:
                continue
            prefix = ".".join(parts[:keep])
            j = by_tree.get(prefix)
            if j is None:
                raise self._damaged(f"tree number {tree} has no descriptor at {prefix}")
            out.setdefault(self._rows[j].partition(b"\t")[0].decode())
        if not d.tree_numbers and depth is not None:
            out.setdefault(d.ui)
        return tuple(out)

    def __repr__(self) -> str:
        return f"<MeshVocabulary of {len(self)} descriptors from {self._source}>"


_vocabulary: MeshVocabulary | None = None
_load_lock = threading.Lock()


def vocabulary() -> MeshVocabulary:
    """The shipped MeSH vocabulary, read on first call and shared for the rest of the process.
    Raises MeshDataError when the package's table is missing or damaged."""
    global _vocabulary
    if _vocabulary is None:
        with _load_lock:
            if _vocabulary is None:
                _vocabulary = MeshVocabulary.load()
    return _vocabulary


def _short(term: str, limit: int = 80) -> str:
    """A user's term as quoted in a one-line message: one line, at most `limit` characters."""
    text = " ".join(term.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
