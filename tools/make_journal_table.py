"""Write pnet_pubmed/data/nlm_journals.tsv.gz from NCBI's journal list.

Usage: python tools/make_journal_table.py [../shared/journals/csl-ncbi-abbreviations.json.gz]

Source: citation-style-language/abbreviations, ncbi/json/ncbi-abbreviations.json (commit
a79af74cb48331600ac3b38cb7f4ee30abcfae02, MIT; the data is NLM's catalog: title -> MedlineTA).
The JSON repeats keys, so every pair is read. Output: one "title<TAB>MedlineTA" line per pair,
sorted, gzipped with a fixed mtime so the file is reproducible.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "journals" / "csl-ncbi-abbreviations.json.gz"
OUT = ROOT / "pnet_pubmed" / "data" / "nlm_journals.tsv.gz"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    pairs: list[tuple[str, object]] = []

    def keep(items):
        pairs.extend(items)
        return {}

    json.loads(gzip.open(source).read(), object_pairs_hook=keep)
    rows = sorted({(" ".join(t.split()), " ".join(a.split())) for t, a in pairs
                   if isinstance(a, str) and t.strip() and a.strip()
                   and "\t" not in t + a and "\n" not in t + a})
    text = "".join(f"{t}\t{a}\n" for t, a in rows).encode("utf-8")
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(text)
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} journals, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
