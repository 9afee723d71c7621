"""Run the stand-in in the foreground: python -m tests.eutils_standin --port 8765."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .faults import ALL_KINDS, KNOWN_KINDS, FaultPlan
from .server import StandinServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.eutils_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--rate-limit", type=float, default=None,
                        help="requests per second before 429 (NCBI: 3, or 10 with api_key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument("--fault-seed", type=int, default=None, help="enable faults with this seed")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--fault-kinds", default=",".join(ALL_KINDS),
                        help=f"comma-separated subset of {','.join(KNOWN_KINDS)} "
                             f"(default: {','.join(ALL_KINDS)})")
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    parser.add_argument("--fault-endpoints", default=None,
                        help="comma-separated endpoints that get faults (default: all)")
    parser.add_argument("--redirect-to", default=None, help="base URL of the redirect fault")
    parser.add_argument("--trickle-interval", type=float, default=1.0,
                        help="seconds between two bytes of the trickle fault")
    parser.add_argument("--corpus", nargs="+", type=Path, default=None,
                        help="PubmedArticleSet files (default: the test corpus)")
    args = parser.parse_args(argv)

    faults = None
    if args.fault_seed is not None:
        kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
        endpoints = None
        if args.fault_endpoints:
            endpoints = tuple(e.strip() for e in args.fault_endpoints.split(",") if e.strip())
        faults = FaultPlan(seed=args.fault_seed, rate=args.fault_rate, kinds=kinds,
                           slow_seconds=args.slow_seconds, endpoints=endpoints,
                           redirect_to=args.redirect_to, trickle_interval=args.trickle_interval)
    server = StandinServer(args.corpus, faults=faults, rate_limit=args.rate_limit,
                           latency=args.latency, host=args.host, port=args.port)
    server.start()
    print(server.url, flush=True)
    print(f"{len(server.corpus.records)} records; Ctrl-C to stop", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
