"""Train the reference-string labeller (a CRF) on real strings labelled by their records.

Usage: python tools/train_reference_model.py [--data ../shared/corpus/glutton-dev]
           [--holdout-from KEY] [--out pnet_pubmed/data/reference_crf.model]

Labels come from aligning each string with the PubMed record it cites (glutton-dev's
records.xml and key.json): the record's title is found in the string by fuzzy alignment, its
authors' surnames, year, volume, issue and pages by exact tokens, the journal is what lies
between the title and the source. Strings whose record cannot be aligned are left out of
training (the script prints how many). With --holdout-from KEY, references from KEY on (whole
citing articles: keys are contiguous per article) are left out of training too, so that
`benchmarks/real_strings.py --from-key KEY` measures on strings the model never saw.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pycrfsuite  # noqa: E402
from rapidfuzz import fuzz  # noqa: E402

from pnet_pubmed.journals import Journals, fold_words  # noqa: E402
from pnet_pubmed.references.labeller import strip_number  # noqa: E402
from pnet_pubmed.references.tokens import Token, features, normalise, tokenize  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "corpus" / "glutton-dev"
DEFAULT_OUT = ROOT / "pnet_pubmed" / "data" / "reference_crf.model"


def read_records(path: Path) -> dict[str, dict]:
    records = {}
    for _, el in ET.iterparse(path):
        if el.tag != "PubmedArticle":
            continue
        def get(path: str, el=el) -> str:
            return (el.findtext(path) or "").strip()

        records[get("MedlineCitation/PMID")] = {
            "title": get(".//ArticleTitle"),
            "year": get(".//JournalIssue/PubDate/Year"),
            "volume": get(".//JournalIssue/Volume"),
            "issue": get(".//JournalIssue/Issue"),
            "start": get(".//Pagination/StartPage"),
            "end": get(".//Pagination/EndPage"),
            "surnames": [a.findtext("LastName") or "" for a in el.iter("Author")],
            "people": [(a.findtext("LastName") or "", a.findtext("Initials") or "")
                       for a in el.iter("Author") if a.findtext("LastName")],
            "journal": get(".//MedlineJournalInfo/MedlineTA") or get(".//ISOAbbreviation"),
        }
        el.clear()
    return records


def _lower_same_length(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _tokens_in(tokens: list[Token], start: int, end: int) -> list[int]:
    out = []
    for i, t in enumerate(tokens):
        overlap = min(t.end, end) - max(t.start, start)
        if overlap > 0 and overlap * 2 >= t.end - t.start:
            out.append(i)
    return out


def align(text: str, tokens: list[Token], rec: dict) -> list[str] | None:
    """Labels for the tokens of one string, or None when the record does not align."""
    labels = ["O"] * len(tokens)
    for i, t in enumerate(tokens):
        if t.kind == "doi":
            labels[i] = "D"
        elif t.kind == "url":
            labels[i] = "U"
    title = rec["title"].rstrip(".").strip()
    if title.startswith("[") and title.endswith("]"):
        title = title[1:-1]
    if len(title) < 8:
        return None
    al = fuzz.partial_ratio_alignment(_lower_same_length(title), _lower_same_length(text),
                                      score_cutoff=88)
    if al is None:
        return None
    t_idx = _tokens_in(tokens, al.dest_start, al.dest_end)
    while t_idx and tokens[t_idx[-1]].kind == "punct" and tokens[t_idx[-1]].text in ".,;:":
        t_idx.pop()
    if not t_idx:
        return None
    t0, t1 = t_idx[0], t_idx[-1]
    for i in range(t0, t1 + 1):
        labels[i] = "T"

    def find(value: str, lo: int, hi: int) -> int | None:
        value = value.lower()
        for i in range(lo, hi):
            if labels[i] == "O" and tokens[i].kind == "word" and (
                    tokens[i].text.lower() == value
                    or (value.isdigit() and re.fullmatch(rf"0*{value}[a-z]?", tokens[i].text))):
                return i
        return None

    n = len(tokens)
    year = rec["year"]
    y = find(year, t1 + 1, n) if year else None
    if y is None and year:
        y = find(year, 0, t0)
    if y is None:
        return None
    labels[y] = "Y"
    volume = re.match(r"\d+", rec["volume"] or "")
    v = find(volume.group(), t1 + 1, n) if volume else None
    if v is not None:
        labels[v] = "V"
        if rec["issue"]:
            issue = re.match(r"[\w-]+", rec["issue"])
            k = find(issue.group(), v + 1, min(n, v + 6)) if issue else None
            if k is not None:
                labels[k] = "I"
    start = rec["start"]
    p = find(start, (v if v is not None else t1) + 1, n) if start else None
    if p is not None:
        labels[p] = "P"
        if p + 2 < n and tokens[p + 1].text == "-" and tokens[p + 2].kind == "word" and (
                labels[p + 2] == "O"):
            labels[p + 1] = labels[p + 2] = "P"

    # Authors: before the title; their surnames from the record.
    surname_words = {w for s in rec["surnames"] for w in fold_words(s).split()}
    lead = 0
    first_field = min([i for i in range(t0) if labels[i] != "O"], default=t0)
    author_end = first_field
    while author_end > 0 and tokens[author_end - 1].kind == "punct" and (
            tokens[author_end - 1].text in ".,:;(["):
        author_end -= 1
    found_surname = False
    for i in range(lead, author_end):
        t = tokens[i]
        if t.kind == "word" and fold_words(t.text) in surname_words:
            labels[i] = "AS"
            found_surname = True
        elif labels[i] == "O":
            labels[i] = "A"
    if not found_surname and rec["surnames"]:
        return None
    # Journal: between the title and the first source field after it.
    after = [i for i in range(t1 + 1, n) if labels[i] in ("Y", "V", "I", "P")]
    j_end = min(after) if after else n
    j = [i for i in range(t1 + 1, j_end) if labels[i] == "O"]
    while j and tokens[j[0]].kind == "punct":
        j.pop(0)
    while j and tokens[j[-1]].kind == "punct" and tokens[j[-1]].text != ")":
        j.pop()
    if j and tokens[j[-1]].text == ")" and not any(tokens[k].text == "(" for k in j):
        j.pop()
    for i in j:
        labels[i] = "J"
    if not j:
        return None
    return labels


# -- synthetic strings in house styles the real set has few of ------------------------------
def _dotted(abbreviation: str, rng: random.Random) -> str:
    """"J Clin Oncol" -> "J. Clin. Oncol." (ISO 4 with dots), sometimes."""
    if rng.random() < 0.5:
        return abbreviation
    return " ".join(w + "." if len(w) <= 8 and w[:1].isupper() and not w.isupper() and len(w) > 1
                    or len(w) == 1 else w for w in abbreviation.split())


def _people(rec: dict, rng: random.Random, style: str) -> list[list[tuple[str, str]]]:
    """Each author as (text, label) pieces in the style's name order."""
    out = []
    for surname, initials in rec["people"][: rng.choice([1, 2, 3, 4, 6])]:
        dotted = ". ".join(initials) + "." if initials else ""
        if style in ("initials_first",):
            out.append([(dotted, "A"), (" ", "A"), (surname, "AS")])
        elif style == "comma_dotted":
            out.append([(surname, "AS"), (", ", "A"), (dotted, "A")])
        else:
            out.append([(surname, "AS"), (" ", "A"), (initials, "A")])
    return out


def _join_people(people: list, sep: str, last_sep: str, et_al: bool) -> list[tuple[str, str]]:
    pieces: list[tuple[str, str]] = []
    for i, person in enumerate(people):
        if i:
            pieces.append((last_sep if i == len(people) - 1 and not et_al else sep, "A"))
        pieces.extend(person)
    if et_al:
        pieces.append((" et al.", "A"))
    return pieces


def render(rec: dict, rng: random.Random) -> list[tuple[str, str]] | None:
    """One record as a reference in a random house style: (text, label) pieces."""
    if not (rec["people"] and rec["year"] and rec["volume"] and rec["start"] and rec["journal"]):
        return None
    title = rec["title"].rstrip(".")
    dash = rng.choice(["-", "\u2013"])
    pages = rec["start"] + (dash + rec["end"] if rec["end"] and rng.random() < 0.85 else "")
    journal = _dotted(rec["journal"], rng)
    et_al = len(rec["people"]) > 3 and rng.random() < 0.5
    style = rng.choice(["elsevier", "science", "nature", "acs", "cell_old", "springer",
                        "royal", "chicago"])
    y, v = rec["year"], re.match(r"\d+", rec["volume"]).group()
    if style == "elsevier":       # P. Kanwar, K.V. Kowdley, Title, J. 7 (2013) 517-530.
        who = _join_people(_people(rec, rng, "initials_first"), ", ", ", ", et_al)
        return [*who, (", ", "O"), (title, "T"), (", ", "O"), (journal, "J"), (" ", "O"),
                (v, "V"), (" (", "O"), (y, "Y"), (") ", "O"), (pages, "P"), (".", "O")]
    if style == "science":        # M. D. Park, J. Le Berichel, Title. J. 386, 123 (2024).
        who = _join_people(_people(rec, rng, "initials_first"), ", ", ", ", et_al)
        return [*who, (", ", "O"), (title, "T"), (". ", "O"), (journal, "J"), (" ", "O"),
                (v, "V"), (", ", "O"), (pages, "P"), (" (", "O"), (y, "Y"), (").", "O")]
    if style == "nature":         # Hogan, J. I. & Duerr, R. Title. J. 76, 342-345 (2023).
        who = _join_people(_people(rec, rng, "comma_dotted"), ", ", " & ", et_al)
        return [*who, (" ", "O"), (title, "T"), (". ", "O"), (journal, "J"), (" ", "O"),
                (v, "V"), (", ", "O"), (pages, "P"), (" (", "O"), (y, "Y"), (").", "O")]
    if style == "acs":            # Kanwar, P.; Kowdley, K. V. Title. J. 2013, 7, 517-530.
        who = _join_people(_people(rec, rng, "comma_dotted"), "; ", "; ", et_al)
        return [*who, (" ", "O"), (title, "T"), (". ", "O"), (journal, "J"), (" ", "O"),
                (y, "Y"), (", ", "O"), (v, "V"), (", ", "O"), (pages, "P"), (".", "O")]
    if style == "cell_old":       # Kanwar P, Kowdley KV: Title. J 7: 517-530; 2013.
        who = _join_people(_people(rec, rng, "plain"), ", ", ", ", et_al)
        return [*who, (": ", "O"), (title, "T"), (". ", "O"), (journal, "J"), (" ", "O"),
                (v, "V"), (": ", "O"), (pages, "P"), ("; ", "O"), (y, "Y"), (".", "O")]
    if style == "springer":       # Kanwar, P., Kowdley, K.V.: Title. J. 7, 517-530 (2013)
        who = _join_people(_people(rec, rng, "comma_dotted"), ", ", ", ", et_al)
        return [*who, (": ", "O"), (title, "T"), (". ", "O"), (journal, "J"), (" ", "O"),
                (v, "V"), (", ", "O"), (pages, "P"), (" (", "O"), (y, "Y"), (")", "O")]
    if style == "royal":          # Kanwar P, Kowdley KV. 2013 Title. J. 7, 517-530.
        who = _join_people(_people(rec, rng, "plain"), ", ", ", ", et_al)
        return [*who, (". ", "O"), (y, "Y"), (" ", "O"), (title, "T"), (". ", "O"),
                (journal, "J"), (" ", "O"), (v, "V"), (", ", "O"), (pages, "P"), (".", "O")]
    # chicago: Kanwar, P., and K. V. Kowdley. 2013. "Title." J 7 (6): 517-30.
    who = _join_people(_people(rec, rng, "comma_dotted"), ", ", ", and ", et_al)
    return [*who, (". ", "O"), (y, "Y"), (". \u201c", "O"), (title, "T"), (".\u201d ", "O"),
            (journal, "J"), (" ", "O"), (v, "V"), (": ", "O"), (pages, "P"), (".", "O")]


def synthetic(records: dict[str, dict], count: int, seed: int = 0):
    """`count` strings from the set's records in house styles, labelled by construction."""
    rng = random.Random(seed)
    pmids = sorted(records)
    rng.shuffle(pmids)
    out = []
    for pmid in pmids:
        pieces = render(records[pmid], rng)
        if not pieces:
            continue
        text, spans = "", []
        for piece, label in pieces:
            spans.append((len(text), len(text) + len(piece), label))
            text += piece
        text = normalise(text)
        tokens = tokenize(text)
        labels = []
        for t in tokens:
            label = next((lab for a, b, lab in spans if a <= t.start < b), "O")
            labels.append(label)
        out.append((f"s{pmid}", text, tokens, labels))
        if len(out) >= count:
            break
    return out


def examples(data: Path) -> tuple[list[tuple[str, list[Token], list[str]]], Counter]:
    answer = json.loads((data / "key.json").read_text())["answer"]
    records = read_records(data / "records.xml")
    out, skipped = [], Counter()
    for line in (data / "references.txt").read_text(encoding="utf-8").splitlines():
        key, _, raw = line.partition(". ")
        pmid = answer.get(key)
        if not pmid or pmid not in records:
            skipped["no record"] += 1
            continue
        text = normalise(strip_number(raw))
        tokens = tokenize(text)
        labels = align(text, tokens, records[pmid])
        if labels is None:
            skipped["does not align"] += 1
            continue
        out.append((key, text, tokens, labels))
    return out, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--holdout-from", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--c1", type=float, default=0.05)
    parser.add_argument("--c2", type=float, default=0.01)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--show", type=int, default=0, help="print N labelled examples")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="add N strings rendered in house styles from the set's records "
                        "(only from records of the training keys)")
    args = parser.parse_args()

    started = time.perf_counter()
    data, skipped = examples(args.data)
    if args.holdout_from:
        data = [d for d in data if int(d[0]) < args.holdout_from]
    if args.synthetic:
        answer = json.loads((args.data / "key.json").read_text())["answer"]
        records = read_records(args.data / "records.xml")
        allowed = {answer[k] for k in answer if answer[k]
                   and (not args.holdout_from or int(k) < args.holdout_from)}
        data += synthetic({p: r for p, r in records.items() if p in allowed}, args.synthetic)
    print(f"{len(data)} labelled strings; left out: {dict(skipped)}")
    for key, _text, tokens, labels in random.Random(1).sample(data[-args.show * 3:], args.show):
        print(key, " ".join(f"{t.text}/{lab}" for t, lab in zip(tokens, labels, strict=True)))
    trainer = pycrfsuite.Trainer(verbose=False)
    gazetteer = Journals.shipped().gazetteer
    for _, text, tokens, labels in data:
        trainer.append(features(text, tokens, gazetteer), labels)
    trainer.set_params({"c1": args.c1, "c2": args.c2, "max_iterations": args.iterations,
                        "feature.possible_transitions": True, "feature.minfreq": 2})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(args.out))
    print(f"model {args.out} ({args.out.stat().st_size // 1024} KB), "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
