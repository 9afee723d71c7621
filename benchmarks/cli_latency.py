"""How long each read command takes to answer, next to a bare Python start-up.

Usage: python benchmarks/cli_latency.py [--runs 7] [--db URL]

Links the bundled list into a fresh SQLite database (against the stand-in E-utilities server)
unless --db is given, then runs `search`, `refs`, `show`, `mesh`, `sql` and `collections` as a
user does, one new process each, and prints the best of --runs wall-clock times, and each as a
multiple of `python -c "import sqlite3"` (the goal: within 6 times).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS = [
    ["search", "everolimus"],
    ["refs"],
    ["show", "21306238"],
    ["mesh"],
    ["sql", "SELECT count(*) FROM articles"],
    ["collections"],
]


def best(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.strip()[:300]}")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", help="an existing database to read (default: a new one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if not db:
            from pnet_pubmed.config import Settings
            from pnet_pubmed.pipeline import link
            from tests.eutils_standin import StandinServer

            db = f"sqlite:///{tmp}/db.sqlite"
            with StandinServer() as server:
                link(None, None, Settings(db_url=db, cache_dir=Path(tmp) / "cache",
                                          eutils_url=server.url, email="bench@example.org"))
        bare = best([sys.executable, "-c", "import sqlite3"], args.runs)
        print(f"{'command':<12} {'best of ' + str(args.runs):>10} {'x bare':>7}")
        print(f"{'python':<12} {bare * 1000:>8.0f} ms {1.0:>6.1f}x")
        for command in COMMANDS:
            seconds = best([sys.executable, "-m", "pnet_pubmed", "--db", db, *command], args.runs)
            print(f"{command[0]:<12} {seconds * 1000:>8.0f} ms {seconds / bare:>6.1f}x")


if __name__ == "__main__":
    main()
