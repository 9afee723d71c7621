"""Field accuracy of the reference parser per style, printed as a table.

Run: .venv/bin/python benchmarks/citation_accuracy.py [-v]   (-v lists every wrong field)
Each style file in tests/fixtures/styles holds the 72 seed references; expected.json says what
each must yield. A field counts as right when it equals the expectation after folding case,
accents, quotes, dashes and punctuation; a journal is also right when its NLM abbreviation (via
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

from pnet_pubmed.citations import read_references  # noqa: E402
from pnet_pubmed.journals import to_nlm_abbreviation  # noqa: E402

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


def norm(value) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", text.replace("&", "and"))


def field_ok(field: str, got, want) -> bool:
    if field == "journal" and got and want:
        return norm(got) == norm(want) or to_nlm_abbreviation(got) == want
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


def table(results: dict[str, dict]) -> str:
    head = ["style", "refs"] + list(FIELDS)
    rows = [head]
    for style, r in results.items():
        row = [style, f"{r['count'][0]}/{r['count'][1]}"]
        row += [f"{100 * r[f][0] / r[f][1]:.1f}%" for f in FIELDS]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
             for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    results = {style: evaluate(style) for style in STYLES}
    print(table(results))
    worst = min(r[f][0] / r[f][1] for r in results.values() for f in FIELDS)
    if verbose:
        for style, r in results.items():
            for key, field, got, want in r["errors"]:
                print(f"{style} #{key} {field}: got {got!r}, want {want!r}")
    print(f"\nlowest field accuracy: {100 * worst:.1f}% (target 97%)")
    return 0 if worst >= 0.97 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
