"""Field accuracy of the reference parser per style: the seed-style table and the real-record one.

Run: .venv/bin/python benchmarks/citation_accuracy.py [-v] [--seeds 0 1 2]   (-v: every wrong field)
Seed styles: each file in tests/fixtures/styles holds the 72 seed references; expected.json says
what each must yield. Real records: tests/reflist.py writes the 219 citable records of the
verbatim NCBI files in every style, with seeded real-world variations, and says what each entry
prints. A field counts as right when it equals the expectation after folding case, accents,
quotes, dashes and punctuation; a journal is also right when its NLM abbreviation (via
pnet_pubmed.journals) is the expected one, as the matcher will use it that way.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pnet_pubmed.journals import Journals  # noqa: E402
from pnet_pubmed.references import parse_references, read_references  # noqa: E402
from tests import reflist  # noqa: E402

STYLES_DIR = ROOT / "tests" / "fixtures" / "styles"
STYLES = {
    "seed": ROOT / "pnet_pubmed" / "data" / "references.txt",
    "vancouver": STYLES_DIR / "vancouver.txt",
    "ama": STYLES_DIR / "ama.txt",
    "apa": STYLES_DIR / "apa.txt",
    "harvard": STYLES_DIR / "harvard.txt",
    "bibtex": STYLES_DIR / "refs.bib",
    "ris": STYLES_DIR / "refs.ris",
    "csl-json": STYLES_DIR / "refs.json",
}
FIELDS = ("kind", "first_author", "year", "title", "journal", "volume", "first_page")
REAL_STYLES = reflist.STYLES
REAL_FIELDS = reflist.FIELDS
REAL_SEEDS = (0, 1, 2)
TARGET = 0.97
JOURNALS = Journals.shipped()


def norm(value) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", text.replace("&", "and"))


def field_ok(field: str, got, want) -> bool:
    if field == "journal" and got and want:
        return norm(got) == norm(want) or JOURNALS.to_nlm_abbreviation(got) == want
    return norm(got) == norm(want)


def evaluate(style: str) -> dict:
    """{'count': (parsed, expected), field: (right, total), 'errors': [(key, field, got, want)]}"""
    expected = json.loads((STYLES_DIR / "expected.json").read_text(encoding="utf-8"))
    citations = read_references(STYLES[style])
    # A "References" heading is kept as an unparsed entry; it is not one of the 72. The rest are
    # paired with the expectations by order, so a split or merged entry costs every later one.
    citations = [c for c in citations if not (c.kind == "unparsed" and not re.search(r"\d", c.raw))]
    by_key = {key: c for key, c in zip(expected, citations, strict=False)}
    result: dict = {"count": (len(citations), len(expected)), "errors": []}
    for field in FIELDS:
        right = 0
        for key, want in expected.items():
            c = by_key.get(key)
            if c is None:
                got = None
            elif field == "first_author":
                got = c.first_author.last if c.first_author else None
            else:
                got = getattr(c, field)
            if field_ok(field, got, want[field]):
                right += 1
            else:
                result["errors"].append((key, field, got, want[field]))
        result[field] = (right, len(expected))
    return result


_SUPPLEMENT_TAIL = re.compile(r"^\s*(?:suppl(?:ement)?\.?|sup|s|pt|part)\s*\w*$", re.I)


def _volume_ok(got, want) -> bool:
    """"38" is right for a printed "38Suppl 2" (the supplement is the issue), and the reverse."""
    if norm(got) == norm(want):
        return True
    if not got or not want:
        return False
    got, want = str(got), str(want)
    short, long = sorted((got, want), key=len)
    return (short.isdigit() and long.startswith(short)
            and bool(_SUPPLEMENT_TAIL.match(long[len(short):])))


def real_field_ok(field: str, got, truth: dict) -> bool:
    want = truth[field]
    if field == "journal" and got:
        printed = {norm(j) for j in truth["journal_printed"]} | {norm(want)}
        return norm(got) in printed or JOURNALS.to_nlm_abbreviation(got) == want
    if field == "volume":
        return _volume_ok(got, want)
    if field == "doi":
        return (got or "").lower() == (want or "").lower()
    if field == "year":
        return got == want
    return norm(got) == norm(want)


def real_value(citation, field: str):
    if citation is None:
        return None
    if field == "first_author":
        return citation.first_author.last if citation.first_author else citation.group
    return getattr(citation, field)


def evaluate_real(style: str, seeds=REAL_SEEDS, records=None) -> dict:
    """Like evaluate, on lists written from the real NCBI records, summed over seeds."""
    records = records if records is not None else reflist.real_records()
    result: dict = {"count": (0, 0), "errors": [], "skipped": 0,
                    **{f: (0, 0) for f in REAL_FIELDS}}
    for seed in seeds:
        text, truth = reflist.style_list(records, style, seed)
        result["skipped"] = len(records) - len(truth)
        citations = [c for c in parse_references(text)
                     if not (c.kind == "unparsed" and not re.search(r"\d", c.raw))]
        parsed, expected = result["count"]
        result["count"] = (parsed + len(citations), expected + len(truth))
        for i, want in enumerate(truth):
            c = citations[i] if i < len(citations) else None
            for field in REAL_FIELDS:
                got = real_value(c, field)
                right, total = result[field]
                ok = real_field_ok(field, got, want)
                result[field] = (right + ok, total + 1)
                if not ok:
                    result["errors"].append((seed, i + 1, field, got, want[field],
                                             c.raw if c else None))
    return result


def table(results: dict[str, dict], fields=FIELDS) -> str:
    head = ["style", "refs"] + list(fields)
    rows = [head]
    for style, r in results.items():
        row = [style, f"{r['count'][0]}/{r['count'][1]}"]
        row += [f"{100 * r[f][0] / r[f][1]:.1f}%" for f in fields]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    seeds = tuple(int(a) for a in argv[argv.index("--seeds") + 1:] if a.isdigit()) if (
        "--seeds" in argv) else REAL_SEEDS
    results = {style: evaluate(style) for style in STYLES}
    print("Seed references (72, tests/fixtures/styles)")
    print(table(results))
    records = reflist.real_records()
    real = {style: evaluate_real(style, seeds, records) for style in REAL_STYLES}
    skipped = next(iter(real.values()))["skipped"]
    no_author = sum(not a.authors for a in records)
    print(f"\nReal NCBI records ({len(records) - skipped} citable of {len(records)}; skipped: "
          f"{no_author} with no author, {skipped - no_author} with neither a volume and pages "
          f"nor a DOI; seeds {', '.join(map(str, seeds))})")
    print(table(real, REAL_FIELDS))
    worst = min(r[f][0] / r[f][1] for r in results.values() for f in FIELDS)
    worst_real = min(r[f][0] / r[f][1] for r in real.values() for f in REAL_FIELDS)
    if verbose:
        for style, r in results.items():
            for key, field, got, want in r["errors"]:
                print(f"{style} #{key} {field}: got {got!r}, want {want!r}")
        for style, r in real.items():
            for seed, n, field, got, want, raw in r["errors"]:
                print(f"real {style} seed {seed} #{n} {field}: got {got!r}, want {want!r}\n"
                      f"    {raw!r}")
    print(f"\nlowest field accuracy: seed styles {100 * worst:.1f}%, real records "
          f"{100 * worst_real:.1f}% (target {100 * TARGET:.0f}%)")
    return 0 if min(worst, worst_real) >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
