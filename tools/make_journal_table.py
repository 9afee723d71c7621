"""Write pnet_pubmed/data/journal_index.tsv.gz from NCBI's journal list.

Usage: python tools/make_journal_table.py [../shared/journals/csl-ncbi-abbreviations.json.gz]

Source: citation-style-language/abbreviations, ncbi/json/ncbi-abbreviations.json (commit
a79af74cb48331600ac3b38cb7f4ee30abcfae02, MIT; the data is NLM's catalog: title -> MedlineTA).
The JSON repeats keys, so every pair is read. Output: the folded names, shortened names,
abbreviation words and gazetteer names of pnet_pubmed.journals.index_rows, gzipped with a fixed
mtime so the file is reproducible. Run it again whenever journals.fold changes.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "journals" / "csl-ncbi-abbreviations.json.gz"
sys.path.insert(0, str(ROOT))

from pnet_pubmed.journals import INDEX_FILE, index_rows  # noqa: E402

OUT = ROOT / "pnet_pubmed" / "data" / INDEX_FILE


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
    text = "".join(f"{row}\n" for row in index_rows(rows)).encode("utf-8")
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(text)
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} journals, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
