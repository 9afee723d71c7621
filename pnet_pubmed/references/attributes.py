"""The labeller's features (tokens.features) as the model's attribute ids, many strings at once.

tokens.features writes some thousand strings per reference for crfsuite to look up again. Here
the same features, in the same order, are found as ids: what a token owes to its own text once
per distinct text, the rest (position, spacing, sentence, brackets, neighbours, the gazetteer)
with numpy over a whole batch. Slot k of a token holds its k-th feature, or `none` where
features() writes nothing there (a neighbour past the edge, "i=" after the third token) or the
model does not know the feature: neither adds anything to a score.
"""

from __future__ import annotations

import numpy as np

from .crf import CrfModel
from .tokens import Token, _own

_SIDES = (-2, -1, 1, 2)
# Columns of a distinct token's row: its own features, for each neighbour offset d the "{d}w="
# and "{d}c=" features it gives the token d away from it, its class, and what it is.
_W, _C, _S, _LEN, _SUF, _PRE = range(6)
_SIDE = {d: 6 + 2 * k for k, d in enumerate(_SIDES)}  # d -> column of "{d}w=", then "{d}c="
_CLASS, _FLAGS = 14, 15
_ROW = 16
_PERIOD, _COLON, _OPEN, _CLOSE, _INITIAL = 1, 2, 4, 8, 16
SLOTS = 28
_CLASS_BITS = 21  # class ids stay below 2**21 (a class is a kind, a word class or one character)
MAX_ROWS = 1_000_000  # distinct token texts remembered; past it the table starts again


class Encoder:
    """Attribute ids of tokens for one model; keeps the rows of the texts it has seen."""

    def __init__(self, model: CrfModel) -> None:
        self.model = model
        self.label_names = np.array(model.labels, dtype=object)
        a = model.attribute
        self._bias = a("b")
        self._pos = np.array([a(f"pos={v}") for v in range(10)])
        self._sb = np.array([a(f"sb={x}{y}") for x in (0, 1) for y in (0, 1)])
        self._seg = np.array([a(f"seg={v}") for v in range(7)])
        self._col = np.array([a(f"col={v}") for v in range(3)])
        self._par = np.array([a(f"par={v}") for v in range(3)])
        self._j = np.array([a(f"j={v}") for v in range(5)])
        self._i = np.array([a(f"i={v}") for v in range(3)] + [model.none])
        self._e = np.array([a(f"e={v}") for v in range(3)] + [model.none])
        self._dj = {d: np.array([a(f"{d}j={v}") for v in range(5)]) for d in _SIDES}
        self._edge = {d: a(f"{d}edge") for d in _SIDES}
        self._reset()

    def _reset(self) -> None:
        # A token's kind follows from its text (a DOI starts "10." and holds a "/", a URL starts
        # "http" or "www.", a word is letters and digits, a mark one other character), so the
        # text alone keys its row.
        self._rows: dict[str, int] = {}
        self._new: list[list[int]] = []
        self._table = np.zeros((0, _ROW), dtype=np.int64)
        # per class: the ids of "-2c=", "-1c=", "1c=", "2c=" and the class's number
        self._by_class: dict[str, tuple[int, ...]] = {}
        self._class_names: list[str] = []
        self._ctx: dict[int, int] = {}

    def _row(self, text: str, kind: str) -> int:
        lower, cls, own = _own.__wrapped__(text, kind)  # rows are kept: no second cache
        a = self.model.attribute
        none = self.model.none
        ids = [a(f) for f in own]
        if len(ids) == 4:
            ids += (none, none)
        w = lower[:24]
        ids += (a(f"-2w={w}"), 0, a(f"-1w={w}"), 0, a(f"1w={w}"), 0, a(f"2w={w}"), 0)
        by_class = self._by_class.get(cls)
        if by_class is None:
            by_class = self._by_class[cls] = (
                *(a(f"{d}c={cls}") for d in _SIDES), len(self._class_names))
            self._class_names.append(cls)
        ids[7], ids[9], ids[11], ids[13] = by_class[:4]
        flags = 0
        if kind == "punct":
            flags = (_PERIOD if text == "." else _COLON if text == ":"
                     else _OPEN if text in "([" else _CLOSE if text in ")]" else 0)
        elif kind == "word" and len(text) <= 2 and text[:1].isupper():
            flags = _INITIAL
        ids += (by_class[4], flags)
        row = len(self._rows)
        self._rows[text] = row
        self._new.append(ids)
        return row

    def encode(self, sequences: list[list[Token]], spans: list[list[int]]) -> np.ndarray:
        """(tokens of all sequences, SLOTS) attribute ids; every sequence has a token, `spans`
        are their journal_spans."""
        if len(self._rows) > MAX_ROWS:
            self._reset()
        flat = [t for tokens in sequences for t in tokens]
        rows_of = self._rows.get
        rows = [rows_of(t[0]) for t in flat]
        for k, row in enumerate(rows):
            if row is None:  # a text not seen before (or earlier in this batch)
                text, kind = flat[k][0], flat[k][3]
                found = rows_of(text)
                rows[k] = self._row(text, kind) if found is None else found
        offsets = np.array([(t[1], t[2]) for t in flat], dtype=np.int64).reshape(-1, 2)
        begin_at, end_at = offsets[:, 0], offsets[:, 1]
        if self._new:
            self._table = np.concatenate([self._table, np.array(self._new, dtype=np.int64)])
            self._new = []
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        total = int(lengths.sum())
        first = np.zeros(len(sequences), dtype=np.int64)
        np.cumsum(lengths[:-1], out=first[1:])
        seq_first = np.repeat(first, lengths)
        n = np.repeat(lengths, lengths)
        i = np.arange(total, dtype=np.int64) - seq_first  # position in its sequence
        R = self._table[np.array(rows, dtype=np.int64)]
        flags = R[:, _FLAGS]
        not_first, not_last = i > 0, i < n - 1
        before = np.ones(total, dtype=bool)
        before[1:] = end_at[:-1] < begin_at[1:]
        before |= ~not_first
        after = np.ones(total, dtype=bool)
        after[:-1] = begin_at[1:] > end_at[:-1]
        after |= ~not_last
        prev_initial = np.zeros(total, dtype=bool)
        prev_initial[1:] = (flags[:-1] & _INITIAL) > 0
        prev_initial &= not_first
        periods = ((flags & _PERIOD) > 0) & after & ~prev_initial
        colons = (flags & _COLON) > 0
        seg = _before_in_sequence(periods.astype(np.int64), first, lengths, seq_first)
        col = _before_in_sequence(colons.astype(np.int64), first, lengths, seq_first)
        step = ((flags & _OPEN) > 0).astype(np.int64) - ((flags & _CLOSE) > 0)
        par = _depth(step, first, lengths, seq_first)
        jspan = np.minimum(np.array([x for s in spans for x in s], dtype=np.int64), 4)

        none = self.model.none
        ids = np.full((total, SLOTS), none, dtype=np.int32)
        ids[:, 0] = self._bias
        ids[:, 1:5] = R[:, _W:_LEN + 1]
        ids[:, 5] = self._pos[np.minimum(9, 10 * i // n)]
        ids[:, 6] = self._sb[2 * before + after]
        ids[:, 7] = self._seg[np.minimum(seg, 6)]
        ids[:, 8] = self._col[np.minimum(col, 2)]
        ids[:, 9] = self._par[np.minimum(par, 2)]
        ids[:, 10] = self._j[jspan]
        ids[:, 11] = self._i[np.minimum(i, 3)]
        ids[:, 12] = self._e[np.minimum(n - 1 - i, 3)]
        ids[:, 13] = R[:, _SUF]
        ids[:, 14] = R[:, _PRE]
        for k, d in enumerate(_SIDES):
            there = (i + d >= 0) & (i + d < n)
            other = np.clip(np.arange(total) + d, 0, total - 1)
            col_ = 15 + 3 * k
            ids[:, col_] = np.where(there, R[other, _SIDE[d]], self._edge[d])
            ids[:, col_ + 1] = np.where(there, R[other, _SIDE[d] + 1], none)
            ids[:, col_ + 2] = np.where(there, self._dj[d][jspan[other]], none)
        inner = np.flatnonzero(not_first & not_last)
        if len(inner):
            cls = R[:, _CLASS]
            keys = ((cls[inner - 1] << _CLASS_BITS | cls[inner]) << _CLASS_BITS) | cls[inner + 1]
            distinct, where = np.unique(keys, return_inverse=True)
            ids[inner, 27] = np.array([self._ctx_id(int(k)) for k in distinct],
                                      dtype=np.int64)[where]
        return ids

    def _ctx_id(self, key: int) -> int:
        found = self._ctx.get(key)
        if found is None:
            mask = (1 << _CLASS_BITS) - 1
            names = self._class_names
            a, b, c = key >> 2 * _CLASS_BITS, key >> _CLASS_BITS & mask, key & mask
            found = self._ctx[key] = self.model.attribute(
                f"ctx={names[a]}|{names[b]}|{names[c]}")
        return found


def _before_in_sequence(counts: np.ndarray, first: np.ndarray, lengths: np.ndarray,
                        seq_first: np.ndarray) -> np.ndarray:
    """Per token, how many of `counts` came before it in its own sequence."""
    total = np.cumsum(counts) - counts  # before it, over all sequences
    return total - total[seq_first]


def _depth(step: np.ndarray, first: np.ndarray, lengths: np.ndarray,
           seq_first: np.ndarray) -> np.ndarray:
    """Per token, the bracket depth before it: +1 at an opening one, -1 at a closing one,
    never below 0 (features()'s max(0, depth - 1))."""
    depth = _before_in_sequence(step, first, lengths, seq_first)
    low = np.minimum.reduceat(depth, first) if len(first) else depth
    for s in np.flatnonzero(low < 0):  # a closing bracket before any opening: count as it does
        a, b = int(first[s]), int(first[s] + lengths[s])
        d = 0
        for k in range(a, b):
            depth[k] = d
            d = max(0, d + int(step[k]))
    return depth
