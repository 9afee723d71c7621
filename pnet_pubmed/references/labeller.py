"""A trained sequence labeller (CRF) that reads the fields of a free-text reference string.

The model (data/reference_crf.model) was trained by tools/train_reference_model.py on real
reference strings cut from PDFs (biblio-glutton's PMC sample), labelled by aligning each
string with the record it cites. It reads any house style the same way: no rule per style.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING

from ..journals import Journals
from ..values import Citation, Name
from .tokens import Token, features, index_gazetteer, journal_spans, normalise, tokenize

if TYPE_CHECKING:  # numpy is imported only when a batch is tagged that way
    from .attributes import Encoder
    from .crf import CrfModel

LABELS = {"A": "author", "AS": "surname", "T": "title", "J": "journal", "Y": "year",
          "V": "volume", "I": "issue", "P": "pages", "D": "doi", "U": "url", "O": "other"}

_NUMBER = re.compile(r"^\s*(?:\[\s*\d{1,6}\s*\]|\(\s*\d{1,6}\s*\)|\d{1,6}\s*[.):])\s+")
_INITIALS = re.compile(r"^(?:[A-Z]{1,4}|[A-Z][a-z]?)$")
_YEAR = re.compile(r"(1[89]\d\d|20[0-3]\d)")


def strip_number(text: str) -> str:
    """'12. Yao JC…', '[12] Yao…' -> 'Yao JC…'."""
    return _NUMBER.sub("", text, count=1)


@dataclass(frozen=True)
class Labelled:
    """A string's tokens with one label each."""

    text: str
    tokens: tuple[Token, ...]
    labels: tuple[str, ...]

    def spans(self, label: str) -> list[tuple[int, int]]:
        """Runs of tokens with this label, as (first, last) token indexes."""
        return list(self._runs.get(label, ()))

    @cached_property
    def _runs(self) -> dict[str, list[tuple[int, int]]]:
        """Every label's runs, found in one pass (spans is asked for each label in turn)."""
        runs: dict[str, list[tuple[int, int]]] = {}
        labels = self.labels
        start = 0
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[start]:
                runs.setdefault(labels[start], []).append((start, i - 1))
                start = i
        return runs

    def text_of(self, first: int, last: int) -> str:
        return self.text[self.tokens[first].start: self.tokens[last].end]


# A batch this long first indexes the journal gazetteer (a tenth of a second, once); the list
# reader does it for a long list read in batches.
INDEX_GAZETTEER_FROM = 1000
# From this many strings in one batch, a thread tags in numpy (reading the model and importing
# numpy take a fifth of a second, once; crfsuite tags a string in under a millisecond).
FAST_FROM = 100


class Labeller:
    """Loads the model once per process; tagging is thread-safe (one tagger per thread).

    A batch of FAST_FROM strings or more (and every batch after it in the thread) is tagged
    by reading the model's weights and decoding in numpy, many strings at once (crf.py, the
    labels crfsuite gives); a smaller one by crfsuite itself, one string at a time, as the
    model was trained. reference=True always tags with crfsuite, as does a model file crf.py
    cannot read.
    """

    def __init__(self, model_path: str | None = None, reference: bool = False) -> None:
        self._path = model_path or str(resources.files("pnet_pubmed") / "data"
                                       / "reference_crf.model")
        self._reference = reference
        self._local = threading.local()
        self._lock = threading.Lock()
        self._model: CrfModel | None = None
        self._unreadable = False  # the model file is not laid out as crf.py reads

    def _tagger(self):
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            import pycrfsuite

            tagger = pycrfsuite.Tagger()
            tagger.open(self._path)
            self._local.tagger = tagger
        return tagger

    def _encoder(self, load: bool = True) -> Encoder | None:
        """This thread's attribute encoder (made now when load), or None to tag with crfsuite."""
        if self._reference:
            return None
        encoder = getattr(self._local, "encoder", None)
        if encoder is None and load:
            from . import crf
            from .attributes import Encoder

            with self._lock:
                if self._model is None and not self._unreadable:
                    try:
                        self._model = crf.read_model(self._path)
                    except (crf.ModelFormatError, OSError, UnicodeDecodeError):
                        self._unreadable = True
            if self._model is None:
                return None
            encoder = self._local.encoder = Encoder(self._model)
        return encoder

    def prepare(self) -> None:
        """Load what tagging a long list needs (before worker processes are forked)."""
        self._encoder()

    def label(self, raw: str, journals: Journals | None = None) -> Labelled:
        """The string's tokens labelled; journals gives the journal names the model's gazetteer
        feature looks for (the shipped table when None)."""
        return self.label_many([raw], journals)[0]

    def label_many(self, raws: list[str], journals: Journals | None = None) -> list[Labelled]:
        """label() for each string, decoded together."""
        texts = [normalise(strip_number(raw)) for raw in raws]
        tokens = [tokenize(text) for text in texts]
        gazetteer = (Journals.shipped() if journals is None else journals).gazetteer
        if len(raws) >= INDEX_GAZETTEER_FROM:
            index_gazetteer(gazetteer)
        todo = [k for k, t in enumerate(tokens) if t]
        labels: list[tuple[str, ...]] = [()] * len(raws)
        encoder = self._encoder(load=len(todo) >= FAST_FROM) if todo else None
        if encoder is not None:
            from . import crf

            spans = [journal_spans(tokens[k], gazetteer) for k in todo]
            ids = encoder.encode([tokens[k] for k in todo], spans)
            lengths = [len(tokens[k]) for k in todo]
            best = crf.viterbi(encoder.model, crf.scores(encoder.model, ids), lengths)
            named = encoder.label_names[best].tolist()
            at = 0
            for k, n in zip(todo, lengths, strict=True):
                labels[k] = tuple(named[at: at + n])
                at += n
        elif todo:
            tagger = self._tagger()
            for k in todo:
                labels[k] = tuple(tagger.tag(features(texts[k], tokens[k], gazetteer)))
        return [Labelled(text, tuple(toks), labs)
                for text, toks, labs in zip(texts, tokens, labels, strict=True)]


_default: Labeller | None = None
_default_lock = threading.Lock()


def default_labeller() -> Labeller:
    global _default
    with _default_lock:
        if _default is None:
            _default = Labeller()
        return _default


def _names(lab: Labelled, first: int, last: int) -> tuple[list[Name], bool]:
    """People of an author run: a surname token starts a person; initials go with the
    person being read ("Yao JC", "Yao, J. C.") or, when it has its surname and initials
    already and a separator came, with the next ("TM Kuukkanen, EA Malkia")."""
    people: list[dict] = []
    current: dict = {"surname": [], "initials": "", "closed": False}
    et_al = False
    previous = ""
    for i in range(first, last + 1):
        t, label = lab.tokens[i], lab.labels[i]
        word = t.text
        if word.lower() in ("et", "al") or word.lower() == "others":
            et_al = True
            continue
        if t.kind == "punct":
            if word in ",;&" and current["surname"] and current["initials"]:
                current["closed"] = True
            if word == "-" and previous == "AS" and lab.tokens[i - 1].end == t.start:
                previous = "AS-"  # "Gonzalez-Serratos", "Tessier- Lavigne": one surname
                continue
            previous = word
            continue
        if word.lower() in ("and",):
            if current["surname"]:
                current["closed"] = True
            continue
        if label == "AS":
            if previous == "AS-" and current["surname"]:
                current["surname"][-1] += "-" + word
                previous = "AS"
                continue
            if current["surname"] and (previous != "AS" or current["closed"]):
                people.append(current)
                current = {"surname": [], "initials": "", "closed": False}
            current["surname"].append(word)
            previous = "AS"
            continue
        # an initial or a given name
        if current["closed"] or (current["surname"] and current["initials"]
                                 and previous not in (".", "-")):
            people.append(current)
            current = {"surname": [], "initials": "", "closed": False}
        if _INITIALS.fullmatch(word):
            current["initials"] += word if word.isupper() else word[0]
        elif word[:1].isupper():
            current["initials"] += word[0]
        previous = word
    people.append(current)
    names = []
    for p in people:
        if p["surname"]:
            names.append(Name(" ".join(p["surname"]), p["initials"][:4]))
    return names, et_al


def _title_from_journal(lab: Labelled) -> Labelled:
    """"Toxoplasmosis. Lancet 2004": a one-word title read as part of the journal. When the
    journal run has a sentence end inside it, what comes before is the title."""
    labels = list(lab.labels)
    for a, b in lab.spans("J"):
        for i in range(a + 1, b):
            t = lab.tokens[i]
            if t.text == "." and i + 1 <= b and lab.tokens[i + 1].start > t.end and (
                    lab.tokens[i - 1].kind == "word" and len(lab.tokens[i - 1].text) > 3):
                for k in range(a, i):
                    labels[k] = "T"
                labels[i] = "O"
                return Labelled(lab.text, lab.tokens, tuple(labels))
    return lab


def _clean(text: str) -> str:
    return text.strip(" .,;:")


_RANGE_DASH = "-"
_ELOCATOR = re.compile(r"^(?:[A-Za-z]{1,4}\d{2,}[A-Za-z\d]*|\d{3,}[A-Za-z]?)$")


def repaired(lab: Labelled, journals: Journals) -> Labelled:
    """Source fields the model left unlabelled, found by their shape after the title: a year
    (in brackets first), the number after the journal as the volume, a page range or an
    e-locator ("e1234", "eadn0327") after the volume."""
    labels = list(lab.labels)
    tokens = lab.tokens
    _trim_journal(lab, labels, journals)
    titles = [i for i, x in enumerate(labels) if x == "T"]
    start = titles[-1] + 1 if titles else 0
    n = len(tokens)

    def free(i: int) -> bool:
        return labels[i] == "O" and tokens[i].kind == "word"

    if "Y" not in labels:
        years = [i for i in range(n) if free(i) and _YEAR.fullmatch(tokens[i].text)]
        bracketed = [i for i in years if i > 0 and tokens[i - 1].text == "("]
        pick = (bracketed or [i for i in years if i >= start] or years)[:1]
        for i in pick:
            labels[i] = "Y"
    journal = [i for i, x in enumerate(labels) if x == "J"]
    if "V" not in labels and journal:
        for i in range(journal[-1] + 1, min(n, journal[-1] + 4)):
            if free(i) and tokens[i].text.isdigit() and not _YEAR.fullmatch(tokens[i].text):
                labels[i] = "V"
                break
            if tokens[i].kind == "word" and labels[i] != "O":
                break
    if "P" not in labels and "V" in labels:
        v = labels.index("V")
        for i in range(v + 1, n):
            if not free(i):
                continue
            if _ELOCATOR.fullmatch(tokens[i].text) or tokens[i].text.isdigit():
                if tokens[i].text.isdigit() and _YEAR.fullmatch(tokens[i].text) and (
                        i > 0 and tokens[i - 1].text == "("):
                    continue
                labels[i] = "P"
                if i + 2 < n and tokens[i + 1].text == _RANGE_DASH and free(i + 2):
                    labels[i + 1] = labels[i + 2] = "P"
                break
    if labels == list(lab.labels):
        return lab
    return Labelled(lab.text, lab.tokens, tuple(labels))


def _trim_journal(lab: Labelled, labels: list[str], journals: Journals) -> None:
    """"… fate of NO x in the Arctic atmosphere. Science 2008": a journal run with a sentence
    end inside, where only what follows the last one is a known journal, ends the title there."""
    tokens = lab.tokens
    runs, start = [], None
    for i, x in enumerate([*labels, "O"]):
        if x == "J" and start is None:
            start = i
        elif x != "J" and start is not None:
            runs.append((start, i - 1))
            start = None
    for a, b in runs:
        ends = [i for i in range(a + 1, b) if tokens[i].text == "." and
                tokens[i + 1].start > tokens[i].end and tokens[i - 1].kind == "word"
                and len(tokens[i - 1].text) > 3]
        if not ends:
            continue
        cut = ends[-1]
        after = lab.text[tokens[cut + 1].start: tokens[b].end]
        before = lab.text[tokens[a].start: tokens[cut - 1].end]
        if journals.known(after) and not journals.known(before):
            for k in range(a, cut):
                labels[k] = "T"
            labels[cut] = "O"


def citation_from_labels(lab: Labelled, key: str, raw: str, position: int,
                         journals: Journals | None = None) -> Citation | None:
    """The fields the labels give, or None when there is no title to go on."""
    lab = repaired(lab, Journals.shipped() if journals is None else journals)
    titles = lab.spans("T")
    if not titles:
        lab = _title_from_journal(lab)
        titles = lab.spans("T")
        if not titles:
            return None
    first, last = max(titles, key=lambda s: lab.tokens[s[1]].end - lab.tokens[s[0]].start)
    title = _clean(lab.text_of(first, last))
    # Authors: surname and author tokens before the title.
    author_idx = [i for i, x in enumerate(lab.labels) if x in ("A", "AS") and i < first]
    names: list[Name] = []
    et_al = False
    if author_idx:
        names, et_al = _names(lab, author_idx[0], author_idx[-1])

    def first_text(label: str) -> str | None:
        spans = lab.spans(label)
        return _clean(lab.text_of(*spans[0])) if spans else None

    journal = first_text("J")
    year = None
    for a, b in lab.spans("Y"):
        m = _YEAR.search(lab.text_of(a, b))
        if m:
            year = int(m.group(1))
            break
    volume = first_text("V")
    issue = first_text("I")
    pages = first_text("P")
    found = re.match(r"[A-Za-z]*\d+[A-Za-z]*", pages) if pages else None
    first_page = found.group() if found else None
    doi = first_text("D")
    if len(title) < 4 or (year is None and not journal):
        return None
    return Citation(key=key, raw=raw, position=position, kind="article", authors=tuple(names),
                    et_al=et_al, year=year, title=title, journal=journal, volume=volume,
                    issue=issue, pages=pages, first_page=first_page, doi=doi)
