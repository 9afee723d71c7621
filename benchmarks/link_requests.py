"""Requests and seconds of `link` on the bundled list against the stand-in E-utilities server.

Usage: python benchmarks/link_requests.py [--runs 2] [--rate-limit 3] [--fault-rate 0.3 --seed 1]

Prints, for each run, the requests the server received and the client's own count, the answers
served from the cache, retries, wall time and the match outcome. The first run starts with an
empty cache and database; later runs reuse both, as a user rerunning the command would.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.config import Settings  # noqa: E402
from pnet_pubmed.pipeline import link  # noqa: E402
from tests.eutils_standin import FaultPlan, StandinServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rate-limit", type=float, default=3.0,
                        help="requests/s the stand-in enforces, as NCBI does (0: none)")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--list", type=Path, default=None, help="reference list (default: bundled)")
    args = parser.parse_args()

    faults = FaultPlan(seed=args.seed, rate=args.fault_rate) if args.fault_rate else None
    with tempfile.TemporaryDirectory() as tmp, StandinServer(
        faults=faults, rate_limit=args.rate_limit or None
    ) as server:
        settings = Settings(
            db_url=f"sqlite:///{tmp}/bench.sqlite",
            cache_dir=Path(tmp) / "cache",
            eutils_url=server.url,
            email="benchmark@example.org",
        )
        print(f"stand-in at {server.url}; rate limit {args.rate_limit or 'none'}/s; "
              f"fault rate {args.fault_rate}")
        header = ("run", "server saw", "client sent", "from cache", "retries", "seconds",
                  "matched", "ambiguous", "not found", "by endpoint")
        print(" | ".join(header))
        for run in range(1, args.runs + 1):
            server.reset_log()
            started = time.perf_counter()
            summary = link(args.list, None, settings)
            seconds = time.perf_counter() - started
            d = summary.as_dict()
            print(" | ".join(str(x) for x in (
                run, len(server.requests), d["requests_sent"], d["from_cache"], d["retries"],
                f"{seconds:.2f}", d["matched"], d["ambiguous"], d["not_found"],
                d["by_endpoint"],
            )))


if __name__ == "__main__":
    main()
