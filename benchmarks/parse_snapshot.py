"""Every reading of a set of reference lists, written to JSON: to check a change reads the same.

Usage: python benchmarks/parse_snapshot.py OUT.json [--data ../shared/corpus/glutton-dev]
           [--generated 10000] [--compare BEFORE.json]

Reads, with the shipped model and journal table: glutton-dev's references.txt as one list (read
by worker processes, as `link` reads it) and each of its lines alone (citations_from_texts, in
this process), every file of tests/fixtures/styles, the bundled list, each text style of
tests/reflist.py over seeds 0-2, and a generated numbered list of --generated entries (10%
broken over lines, benchmarks/long_list.py's writer). Writes every field of every Citation and
of its alternative readings (the reader included). --compare: says which entries differ from an
earlier snapshot (exit status 1 when any does).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.long_list import write_list  # noqa: E402
from pnet_pubmed.pipeline import bundled_list  # noqa: E402
from pnet_pubmed.references import (  # noqa: E402
    citations_from_texts,
    parse_references,
    read_references,
)
from tests import reflist  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "corpus" / "glutton-dev"


def dump(citation) -> dict:
    d = dataclasses.asdict(citation)
    d["reader"] = citation.reader
    d["alternatives"] = [dump(a) for a in citation.alternatives]
    return d


def snapshot(data: Path, generated: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    glutton = data / "references.txt"
    if glutton.is_file():
        out["glutton-dev list"] = [dump(c) for c in read_references(glutton)]
        lines = glutton.read_text(encoding="utf-8").splitlines()
        out["glutton-dev strings"] = [dump(c) for c in citations_from_texts(lines)]
    for path in sorted((ROOT / "tests" / "fixtures" / "styles").iterdir()):
        if path.suffix in (".txt", ".bib", ".ris") or path.name == "refs.json":
            out[f"styles/{path.name}"] = [dump(c) for c in read_references(path)]
    out["bundled list"] = [dump(c) for c in read_references(bundled_list())]
    records = reflist.real_records()
    for style in reflist.TEXT_STYLES:
        for seed in (0, 1, 2):
            text, _ = reflist.style_list(records, style, seed)
            out[f"reflist {style} seed {seed}"] = [dump(c) for c in parse_references(text)]
    if generated:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "generated.txt"
            write_list(path, generated, "dot", 0.1, 0, data)
            out[f"generated {generated}"] = [dump(c) for c in read_references(path)]
    return out


def compare(before: dict, after: dict) -> int:
    differ = 0
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is None or b is None:
            print(f"{name}: only in {'after' if a is None else 'before'}")
            differ += 1
            continue
        bad = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
        if len(a) != len(b) or bad:
            differ += 1
            print(f"{name}: {len(a)} / {len(b)} entries, {len(bad)} differ "
                  f"(first: {bad[:5]})")
            for i in bad[:3]:
                for k in a[i]:
                    if a[i][k] != b[i].get(k):
                        print(f"  [{i}] {k}: {a[i][k]!r}\n  {'':>{len(str(i)) + 2}} "
                              f"now {b[i].get(k)!r}")
    print("identical" if not differ else f"{differ} lists differ")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--generated", type=int, default=10_000)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    snap = snapshot(args.data, args.generated)
    text = json.dumps(snap, ensure_ascii=False)
    args.out.write_text(text, encoding="utf-8")
    n = sum(len(v) for v in snap.values())
    print(f"{n:,} entries in {len(snap)} lists, {time.perf_counter() - started:.1f} s")
    if args.compare:
        sys.exit(compare(json.loads(args.compare.read_text(encoding="utf-8")), json.loads(text)))


if __name__ == "__main__":
    main()
