"""How long each read command takes to answer, next to a bare Python start-up.

Usage: python benchmarks/cli_latency.py [--runs 7] [--db URL]

Links the bundled list into a fresh SQLite database (against the stand-in E-utilities server)
unless --db is given, then runs `search`, `refs`, `show`, `mesh`, `sql` and `collections` as a
user does, one new process each, and prints the best of --runs wall-clock times, and each as a
multiple of `python -c "import sqlite3"` (the goal: within 6 times), and the least CPU time
(user + system) beside them. The commands take turns within each round, so that a busy
machine slows bare Python and the commands alike.
"""

from __future__ import annotations

import argparse
import resource
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


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {result.stderr.strip()[:300]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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
        commands = {"python": [sys.executable, "-c", "import sqlite3"]}
        for command in COMMANDS:
            commands[command[0]] = [sys.executable, "-m", "pnet_pubmed", "--db", db, *command]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                runs[name].append(timed(cmd))
        best = {name: (min(w for w, _ in times), min(c for _, c in times))
                for name, times in runs.items()}
        bare_wall, bare_cpu = best["python"]
        print(f"{'command':<12} {'best of ' + str(args.runs):>10} {'x bare':>7} {'CPU':>8} "
              f"{'x bare':>7}")
        for name, (wall, cpu) in best.items():
            print(f"{name:<12} {wall * 1000:>7.0f} ms {wall / bare_wall:>6.1f}x "
                  f"{cpu * 1000:>5.0f} ms {cpu / bare_cpu:>6.1f}x")


if __name__ == "__main__":
    main()
