"""How long the shipped MeSH vocabulary takes to load, resolve, explode and roll up.

Usage: python benchmarks/mesh_vocabulary.py [--runs 7]

Each run is a new process (the vocabulary is read once per process): it times loading
data/mesh.tsv.gz, resolving a name and an entry term, exploding Neoplasms (C04, the biggest
disease tree) and Pancreatic Neoplasms, the first roll-up (which builds the tree index), and an
unknown heading's suggestions (which build the fuzzy index). Prints the median of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE_RUN = r"""
import json, time
t = time.perf_counter
times = {}
s = t(); from pnet_pubmed.meshtree import vocabulary, MeshError; times["import"] = t() - s
s = t(); mesh = vocabulary(); times["load"] = t() - s
s = t(); mesh.resolve("Pancreatic Neoplasms"); times["resolve a name"] = t() - s
s = t(); mesh.resolve("beta-Cell Tumor"); times["resolve an entry term"] = t() - s
s = t(); n = len(mesh.narrower("D010190")); times[f"narrower Pancreatic Neoplasms ({n})"] = t() - s
s = t(); n = len(mesh.narrower("D009369")); times[f"narrower Neoplasms ({n})"] = t() - s
s = t(); mesh.ancestors_at_depth("D007340", 2); times["first roll-up (tree index)"] = t() - s
s = t(); mesh.ancestors_at_depth("D015408", 2); times["next roll-up"] = t() - s
s = t()
try:
    mesh.resolve("Insulinomaa")
except MeshError:
    pass
times["first unknown heading (fuzzy index)"] = t() - s
s = t()
try:
    mesh.resolve("Gastrinomaa")
except MeshError:
    pass
times["next unknown heading"] = t() - s
print(json.dumps(times))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = [json.loads(subprocess.run([sys.executable, "-c", ONE_RUN], cwd=ROOT, check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(args.runs)]
    data = ROOT / "pnet_pubmed" / "data" / "mesh.tsv.gz"
    print(f"data/mesh.tsv.gz: {data.stat().st_size:,} bytes; median of {args.runs} processes")
    for key in runs[0]:
        print(f"  {key:45} {statistics.median(r[key] for r in runs) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
