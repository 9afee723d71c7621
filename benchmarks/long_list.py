"""Reading a very long numbered list: `link --offline` on 100,000 references, phase by phase.

Usage: python benchmarks/long_list.py [--references 100000] [--marker dot|paren|bracket|bare]
           [--wrap 0.0] [--data ../shared/corpus/glutton-dev] [--seed 0]

Writes a numbered Vancouver list of --references entries (tests/reflist.py's writer with its
real-world variations; the records are glutton-dev's when --data holds its records.xml, else
the verbatim NCBI records of tests/fixtures, each cited many times), numbered "1." (dot), "1)"
(paren), "[1]" (bracket) or "1 " (bare), with --wrap of the entries broken over lines as a PDF
breaks them. Then links it with `link --offline` from an empty cache folder into a new SQLite
database (nothing can be decided: every reference is stored `pending`) and prints the seconds
of each phase, the longest wait between two progress reports (what the `link` progress bar
shows), the peak memory, and whether every entry came out as its own reference, keys 1..N;
then the same command again (a rerun: the list comes from the parse cache).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.config import Settings  # noqa: E402
from pnet_pubmed.pipeline import link  # noqa: E402
from pnet_pubmed.pubmed import parse_articles  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402
from tests.reflist import citable, real_records, vancouver  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "corpus" / "glutton-dev"
MARKERS = {"dot": "{}. ", "paren": "{}) ", "bracket": "[{}] ", "bare": "{} "}


def records(data: Path) -> tuple[list, str]:
    xml = data / "records.xml"
    if xml.is_file():
        return [a for a in parse_articles(xml.read_bytes()) if citable(a)], str(xml)
    return [a for a in real_records() if citable(a)], "tests/fixtures (verbatim NCBI records)"


def write_list(path: Path, n: int, marker: str, wrap: float, seed: int, data: Path) -> str:
    pool, origin = records(data)
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, n + 1):
            entry = MARKERS[marker].format(i) + vancouver(pool[(i - 1) % len(pool)], rng)
            if rng.random() < wrap:
                entry = textwrap.fill(entry, width=rng.randint(40, 95))
            out.write(entry + "\n")
    return f"{len(pool)} distinct records from {origin}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--references", type=int, default=100_000)
    parser.add_argument("--marker", choices=sorted(MARKERS), default="dot")
    parser.add_argument("--wrap", type=float, default=0.0,
                        help="share of entries broken over lines (0 to 1)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "long-list.txt"
        started = time.perf_counter()
        origin = write_list(source, args.references, args.marker, args.wrap, args.seed,
                            args.data)
        size = source.stat().st_size
        print(f"{args.references:,} references ({size / 1e6:.1f} MB, marker "
              f"{MARKERS[args.marker].format(1)!r}, {args.wrap:.0%} wrapped; {origin}) "
              f"written in {time.perf_counter() - started:.1f} s")
        settings = Settings(db_url=f"sqlite:///{tmp}/db.sqlite", cache_dir=tmp / "cache",
                            offline=True, email=None)
        events: list[tuple[float, str, int]] = []

        def progress(stage: str, n: int) -> None:
            events.append((time.perf_counter(), stage, n))

        def cpu_seconds() -> float:  # this process and its reader processes
            return sum(getattr(resource.getrusage(who), f) for who in (
                resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))

        cpu = cpu_seconds()
        started = time.perf_counter()
        summary = link(source, "long", settings, progress=progress)
        ended = time.perf_counter()
        cpu = cpu_seconds() - cpu

        def first(stage: str) -> float:
            return next(t for t, s, _ in events if s == stage)

        read_start, link_start = first("read_start"), first("start")
        read_end = max(t for t, s, _ in events if s == "read")
        times = [started, *(t for t, _, _ in events), ended]
        gap = max(b - a for a, b in zip(times, times[1:], strict=False))
        keys = [r["key"] for r in Store(settings.db_url).references("long")]
        apart = keys == [str(i) for i in range(1, args.references + 1)]
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        print(f"splitting the list into entries: {read_start - started:6.1f} s")
        print(f"reading the entries:             {read_end - read_start:6.1f} s "
              f"({sum(n for _, s, n in events if s == 'read'):,} entries, "
              f"{sum(s == 'read' for _, s, _ in events)} progress reports)")
        print(f"storing the list:                {link_start - read_end:6.1f} s")
        print(f"linking offline (all pending):   {ended - link_start:6.1f} s")
        print(f"total: {ended - started:.1f} s ({cpu:.1f} s CPU, reader processes included), "
              f"longest wait between progress reports {gap:.1f} s, peak memory {peak:,.0f} MB")
        print(f"references stored: {summary.references:,}, keys 1..N each its own entry: "
              f"{'yes' if apart else 'NO'}; counts {summary.counts}")
        events.clear()
        started = time.perf_counter()
        again = link(source, "long", settings, progress=progress)
        read = sum(s == "read" for _, s, _ in events)
        print(f"rerun: {time.perf_counter() - started:.1f} s ({again.references:,} references, "
              f"{'read again' if read else 'the list from the parse cache, read 0 entries'})")


if __name__ == "__main__":
    main()
