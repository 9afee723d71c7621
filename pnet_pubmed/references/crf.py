"""The labeller's CRF read from its crfsuite model file and decoded in numpy, as crfsuite decodes.

crfsuite tags one string at a time and takes its features as strings; reading a long list that
way costs more than everything else. Here the model's weights are read from the file (the
layout of crfsuite's crf1d_model.c and cqdb.c) and many strings are decoded at once, from the
attribute ids of their features. The arithmetic is crfsuite's, step for step: a token's score
for a label is 0 plus the weight of each of its attributes in the order the features list them,
and Viterbi keeps the first of equal scores; so the labels are crfsuite's, to the last one
(tests/test_labeller_fast.py holds the two side by side).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_CHUNK = 12  # chunk id, size, count
_FEATURE = np.dtype([("type", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("weight", "<f8")])
_CQDB_HEADER = struct.Struct("<4sIIIII")
_CQDB_BYTEORDER = 0x62445371
_STATE, _TRANSITION = 0, 1


class ModelFormatError(ValueError):
    """The file is not a crfsuite 1st-order CRF model laid out as this reader knows."""


@dataclass(frozen=True)
class CrfModel:
    labels: tuple[str, ...]
    # attribute name as crfsuite looks it up (UTF-8, up to its first NUL) -> id
    attributes: dict[bytes, int]
    state: np.ndarray  # (attributes + 1, labels); the last row, all zeros, stands for "none"
    transition: np.ndarray  # (labels, labels): from label i to label j
    # the same names as text, for the usual look-up (every name is UTF-8 without a NUL)
    names: dict[str, int] = field(default_factory=dict)
    # the id that adds nothing: features the model does not know, or slots left empty
    none: int = -1

    def attribute(self, name: str) -> int:
        """The id crfsuite finds for this feature (it reads the UTF-8 bytes up to a NUL), or
        `none`. A string UTF-8 cannot encode raises, as it does in crfsuite's binding."""
        found = self.names.get(name)
        if found is not None:
            return found
        key = name.encode("utf-8")
        if b"\0" in key:
            key = key.split(b"\0", 1)[0]
        return self.attributes.get(key, self.none)


def _u32(data: bytes, offset: int) -> int:
    if offset < 0 or offset + 4 > len(data):
        raise ModelFormatError("an offset points outside the file")
    return int.from_bytes(data[offset: offset + 4], "little")


_PAIR = struct.Struct("<II")


def _cqdb(data: bytes, start: int, count: int) -> list[bytes]:
    """The strings of a CQDB chunk, by id 0..count-1."""
    if start + _CQDB_HEADER.size > len(data):
        raise ModelFormatError("a string table lies outside the file")
    chunk, _, _, order, bwd_size, bwd_offset = _CQDB_HEADER.unpack_from(data, start)
    if (chunk != b"CQDB" or order != _CQDB_BYTEORDER or bwd_size < count or not bwd_offset
            or start + bwd_offset + 4 * count > len(data)):
        raise ModelFormatError("not a CQDB string table this reader knows")
    out = []
    for i, offset in enumerate(np.frombuffer(data, "<u4", count, start + bwd_offset).tolist()):
        record = start + offset
        if not offset or record + 8 > len(data):
            raise ModelFormatError(f"string {i} is missing")
        rid, size = _PAIR.unpack_from(data, record)
        if rid != i or size < 1 or record + 8 + size > len(data):
            raise ModelFormatError(f"string {i} is not where its id says")
        out.append(data[record + 8: record + 7 + size])
    return out


def _refs(data: bytes, start: int, count: int, chunk_id: bytes) -> tuple[np.ndarray, ...]:
    """(list, feature id) of each feature the first `count` lists of a LFRF (per label) or
    AFRF (per attribute) chunk refer to, in the file's order (crfsuite writes two more label
    lists than labels, and reads only these)."""
    if (data[start: start + 4] != chunk_id or start + _CHUNK + 4 * count > len(data)
            or _u32(data, start + 8) < count):
        raise ModelFormatError(f"no {chunk_id.decode()} chunk where the header says")
    at = np.frombuffer(data, "<u4", count, start + _CHUNK).astype(np.int64)
    if (at % 4).any() or (at + 4 > len(data)).any():
        raise ModelFormatError("a feature list lies outside the file")
    words = np.frombuffer(data, "<u4", len(data) // 4).astype(np.int64)  # the file, 4 by 4
    n = words[at // 4]
    if (at + 4 + 4 * n > len(data)).any():
        raise ModelFormatError("a feature list runs outside the file")
    owner = np.repeat(np.arange(count), n)
    before = np.zeros(count, dtype=np.int64)
    np.cumsum(n[:-1], out=before[1:])
    index = np.repeat(at // 4 + 1 - before, n) + np.arange(int(n.sum()))
    return owner, words[index]


def read_model(path: str | Path) -> CrfModel:
    """The model's labels, attributes and weights, as crfsuite's tagger uses them."""
    data = Path(path).read_bytes()
    if len(data) < _HEADER.size:
        raise ModelFormatError("too short for a crfsuite model")
    (magic, size, kind, version, _, n_labels, n_attrs, off_features, off_labels, off_attrs,
     off_labelrefs, off_attrrefs) = _HEADER.unpack_from(data, 0)
    if magic != b"lCRF" or kind != b"FOMC" or version != 100 or size != len(data):
        raise ModelFormatError("not a crfsuite 1st-order CRF model (version 100)")
    if data[off_features: off_features + 4] != b"FEAT":
        raise ModelFormatError("no feature chunk where the header says")
    n_features = _u32(data, off_features + 8)
    if off_features + _CHUNK + _FEATURE.itemsize * n_features > len(data):
        raise ModelFormatError("the features run outside the file")
    features = np.frombuffer(data, _FEATURE, n_features, off_features + _CHUNK)
    labels = [s.decode("utf-8") for s in _cqdb(data, off_labels, n_labels)]
    attributes = _cqdb(data, off_attrs, n_attrs)
    if len(set(attributes)) != n_attrs:
        raise ModelFormatError("two attributes share a name")

    # An attribute's weight for a label: crfsuite adds the weight of each feature the
    # attribute refers to; with one feature per label at most, that sum is the weight itself.
    owner, fids = _refs(data, off_attrrefs, n_attrs, b"AFRF")
    if (fids >= n_features).any():
        raise ModelFormatError("an attribute refers to a feature that is not there")
    f = features[fids]
    dst = f["dst"].astype(np.int64)
    pair = owner * n_labels + dst
    if ((f["type"] != _STATE).any() or (f["src"] != owner).any() or (dst >= n_labels).any()
            or len(np.unique(pair)) != len(pair)):
        raise ModelFormatError("an attribute has a feature this reader cannot use")
    state = np.zeros((n_attrs + 1, n_labels), dtype=np.float64)
    state[owner, dst] = f["weight"]
    transition = np.zeros((n_labels, n_labels), dtype=np.float64)
    owner, fids = _refs(data, off_labelrefs, n_labels, b"LFRF")
    for i, fid in zip(owner.tolist(), fids.tolist(), strict=True):
        kind_, src, to, weight = features[fid].tolist() if fid < n_features else (-1,) * 4
        if kind_ != _TRANSITION or src != i or not 0 <= to < n_labels:
            raise ModelFormatError(f"label {i} has a transition this reader cannot use")
        transition[i, to] = weight  # crfsuite sets, the last one wins
    names = {}
    for i, name in enumerate(attributes):
        try:
            if b"\0" not in name:
                names[name.decode("utf-8")] = i
        except UnicodeDecodeError:
            pass  # found through its bytes
    return CrfModel(tuple(labels), {name: i for i, name in enumerate(attributes)}, state,
                    transition, names, n_attrs)


def scores(model: CrfModel, ids: np.ndarray) -> np.ndarray:
    """Per token (a row of attribute ids, `none` for empty slots), its score for each label:
    the weights added one attribute after the other, from 0, as crfsuite adds them."""
    out = np.zeros((len(ids), len(model.labels)), dtype=np.float64)
    weights = np.empty_like(out)
    for column in np.ascontiguousarray(ids.T):
        np.take(model.state, column, axis=0, out=weights)
        out += weights
    return out


def viterbi(model: CrfModel, state: np.ndarray, lengths: list[int]) -> np.ndarray:
    """The best label ids of each sequence, its tokens' scores one after the other in `state`
    (sequences of at least one token). crfsuite's crf1dc_viterbi for many sequences at once:
    at each position the best previous label, the first of equal ones, then its state score."""
    n = len(lengths)
    if not n:
        return np.zeros(0, dtype=np.int64)
    lengths_a = np.asarray(lengths, dtype=np.int64)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths_a[:-1], out=starts[1:])
    order = np.argsort(-lengths_a, kind="stable")  # longest first: the live ones lead
    starts, lengths_a = starts[order], lengths_a[order]
    longest = int(lengths_a[0])
    # live[t]: how many sequences reach position t, the first ones of `order`
    live = np.searchsorted(-lengths_a, -np.arange(1, longest + 1), side="right").tolist()
    into = np.ascontiguousarray(model.transition.T)  # [to, from]
    backs: list[np.ndarray] = [np.zeros((0, len(into)), dtype=np.int64)]
    last = np.zeros(n, dtype=np.int64)  # the best final label, by position in `order`
    alpha = state[starts]
    for t in range(1, longest):
        k = live[t]
        if k < live[t - 1]:  # sequences that end at t - 1
            last[k: live[t - 1]] = alpha[k:].argmax(axis=1)
        both = alpha[:k, None, :] + into  # [sequence, to, from]: score from + transition
        best = both.argmax(axis=2)  # the first of equal ones, as crfsuite keeps it
        backs.append(best)
        alpha = np.take_along_axis(both, best[:, :, None], axis=2)[:, :, 0]
        alpha += state[starts[:k] + t]
    last[: live[longest - 1]] = alpha.argmax(axis=1)
    labels = np.empty(int(lengths_a.sum()), dtype=np.int64)
    current = last.copy()
    for t in range(longest - 1, -1, -1):
        k = live[t]
        if t + 1 < longest:
            k_next = live[t + 1]
            current[:k_next] = backs[t + 1][np.arange(k_next), current[:k_next]]
            current[k_next:k] = last[k_next:k]
        labels[starts[:k] + t] = current[:k]
    return labels
