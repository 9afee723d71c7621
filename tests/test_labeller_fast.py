"""The labeller's fast path (model read from its file, numpy decoding) gives crfsuite's labels."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pnet_pubmed.journals import Journals
from pnet_pubmed.references import labeller, tokens
from pnet_pubmed.references.crf import ModelFormatError, read_model
from pnet_pubmed.references.freetext import entries
from tests import reflist

FIXTURES = Path(__file__).parent / "fixtures" / "styles"
ODD = [
    "", "x", ".", "(", ") a ( b ) c ] [", "((((a)))) b. J. 2001;1:1",
    "Smith J, a\x00b. A title. J Test. 2001;1:1-2.",  # crfsuite reads a feature up to its NUL
    "Ab. " * 300,  # past MAX_TOKENS
    "Ünïcödé Ærø, Ø. Title—with «quotes» ‘and’ ½ dashes… Jøurnal. 2001;1:1",
    "١٢٣ ٤٥ numbers in Arabic-Indic digits. J Test. 2020;3:4.",
    "Yao JC, Hassan M, Phan A, et al. One hundred years after \"carcinoid\": epidemiology of "
    "and prognostic factors for neuroendocrine tumors in 35,825 cases in the United States. "
    "J Clin Oncol. 2008;26(18):3063-3072. doi:10.1200/JCO.2007.15.4377",
    "https://www.who.int/news-room/fact-sheets/detail/cancer (accessed 1 May 2020)",
    "A. B. C. D: E: F: G. (H) [I] {J} 2001a 2001 e1234 S12 iii 12345678",
]


def _strings() -> list[str]:
    journals = Journals.shipped()
    out = list(ODD)
    for name in ("vancouver.txt", "ama.txt", "apa.txt", "harvard.txt"):
        text = (FIXTURES / name).read_text(encoding="utf-8")
        out += [entries.join_lines(body) for _, _, body in entries.split_entries(text, journals)]
    for style in reflist.TEXT_STYLES:
        text, _ = reflist.style_list(reflist.real_records(), style, 1)
        out += [entries.join_lines(body) for _, _, body in entries.split_entries(text, journals)]
    return out


def test_the_fast_labels_are_crfsuites_label_for_label():
    strings = _strings()
    assert len(strings) > 1000
    journals = Journals.shipped()
    fast = labeller.Labeller()
    assert fast._encoder() is not None  # the shipped model is read, not handed to crfsuite
    reference = labeller.Labeller(reference=True)
    expected = [reference.label(s, journals) for s in strings]
    # In batches of every size and order, as the list reader and the workers call it.
    rng = random.Random(0)
    order = list(range(len(strings)))
    rng.shuffle(order)
    got: dict[int, labeller.Labelled] = {}
    at = 0
    for size in (1, 2, 7, 50, 500, len(order)):
        batch = order[at: at + size]
        at += size
        got.update(zip(batch, fast.label_many([strings[k] for k in batch], journals),
                       strict=True))
    assert set(got) == set(range(len(strings)))
    differ = [k for k in range(len(strings)) if got[k] != expected[k]]
    assert differ == []
    assert {lab for x in expected for lab in x.labels} >= {"AS", "T", "J", "Y", "V", "P"}


def test_a_model_file_the_reader_does_not_know_is_tagged_by_crfsuite(tmp_path, monkeypatch):
    bad = tmp_path / "not-a-model"
    bad.write_bytes(b"lCRF" + b"\0" * 60)
    with pytest.raises(ModelFormatError):
        read_model(bad)
    text = ODD[10]

    def refuse(path):
        raise ModelFormatError("unknown")

    monkeypatch.setattr("pnet_pubmed.references.crf.read_model", refuse)
    fallback = labeller.Labeller()
    assert fallback._encoder() is None
    assert fallback.label(text) == labeller.Labeller(reference=True).label(text)


def test_the_model_weights_are_the_ones_crfsuite_dumps():
    model = read_model(Path(labeller.Labeller()._path))
    info = labeller.Labeller(reference=True)._tagger().info()
    assert list(model.labels) == sorted(info.labels, key=lambda k: int(info.labels[k]))
    assert len(model.attributes) == len(info.attributes)
    for (attribute, label), weight in info.state_features.items():
        a, lab = model.attribute(attribute), model.labels.index(label)
        assert abs(model.state[a, lab] - weight) <= 5e-7  # the dump prints 6 decimals
    for (a, b), weight in info.transitions.items():
        assert abs(model.transition[model.labels.index(a), model.labels.index(b)]
                   - weight) <= 5e-7
    assert not model.state[model.none].any()


def test_the_gazetteer_index_changes_no_span():
    journals = Journals.shipped()
    strings = _strings()[:400]
    toks = [tokens.tokenize(tokens.normalise(s)) for s in strings]
    before = tokens._prefixes
    try:
        tokens._prefixes = None
        plain = [tokens.journal_spans(t, journals.gazetteer) for t in toks]
        tokens.index_gazetteer(journals.gazetteer)
        assert [tokens.journal_spans(t, journals.gazetteer) for t in toks] == plain
        assert any(any(s) for s in plain)
    finally:
        tokens._prefixes = before


def test_the_token_shape_is_the_regular_expressions_one():
    rng = random.Random(0)
    points = [c for c in range(0x3400) if not 0xD800 <= c <= 0xDFFF]
    points += [rng.randrange(0x3400, 0x110000) for _ in range(5000)]
    chars = [chr(c) for c in points if not 0xD800 <= c <= 0xDFFF]
    for c in chars:
        assert tokens._shape.__wrapped__(c * 3) == tokens._shape_by_rules(c * 3), repr(c)
    for _ in range(3000):
        text = "".join(rng.choice(chars[:300]) for _ in range(rng.randint(1, 10)))
        assert tokens._shape.__wrapped__(text) == tokens._shape_by_rules(text), repr(text)


def test_a_small_batch_is_tagged_by_crfsuite_and_a_long_one_in_numpy():
    strings = _strings()[len(ODD): len(ODD) + labeller.FAST_FROM]  # each with tokens
    reference = [labeller.Labeller(reference=True).label(s) for s in strings]
    lab = labeller.Labeller()
    assert lab.label_many(strings[:5]) == reference[:5]
    assert lab._encoder(load=False) is None  # five strings: no model read, no numpy
    assert lab.label_many(strings) == reference
    assert lab._encoder(load=False) is not None  # a batch of FAST_FROM: tagged in numpy
    assert lab.label_many(strings[:5]) == reference[:5]  # and so is all that follows
    ready = labeller.Labeller()
    ready.prepare()
    assert ready._encoder(load=False) is not None
