"""Link a list written from the 220 real NCBI records: requests, seconds, right and wrong links.

Usage: python benchmarks/link_real.py [--seeds 0 1 2] [--rate-limit 3]

Each seed writes the citable records as a Vancouver-style list with different real-world
variations (tests/reflist.py), links it against the stand-in E-utilities server with an empty
cache and database, and compares every link with the record the line was written from.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.config import Settings  # noqa: E402
from pnet_pubmed.pipeline import link  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402
from tests.eutils_standin import StandinServer  # noqa: E402
from tests.reflist import real_records, reference_list  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rate-limit", type=float, default=3.0)
    args = parser.parse_args()
    records = real_records()
    print("seed | references | requests (by endpoint) | seconds | right | wrong | not found "
          "| ambiguous")
    for seed in args.seeds:
        text, truth = reference_list(records, seed)
        with tempfile.TemporaryDirectory() as tmp, StandinServer(
            rate_limit=args.rate_limit or None
        ) as server:
            source = Path(tmp) / "list.txt"
            source.write_text(text)
            settings = Settings(db_url=f"sqlite:///{tmp}/db.sqlite", cache_dir=Path(tmp) / "c",
                                eutils_url=server.url, email="benchmark@example.org")
            started = time.perf_counter()
            summary = link(source, "real", settings)
            seconds = time.perf_counter() - started
            outcome = Counter()
            for row, pmid in zip(Store(settings.db_url).references("real"), truth, strict=True):
                if row["status"] == "matched":
                    outcome["right" if row["pmid"] == pmid else "wrong"] += 1
                else:
                    outcome[row["status"]] += 1
            d = summary.as_dict()
            print(f"{seed} | {len(truth)} | {d['requests_sent']} {d['by_endpoint']} | "
                  f"{seconds:.2f} | {outcome['right']} | {outcome['wrong']} | "
                  f"{outcome['not_found']} | {outcome['ambiguous']}")


if __name__ == "__main__":
    main()
