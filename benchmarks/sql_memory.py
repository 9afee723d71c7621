"""Memory and time of `pnet-pubmed sql` for a statement with many rows, shown --limit of them.

Usage: python benchmarks/sql_memory.py [--rows 10000000] [--limit 1000] [--pg URL] [--code DIR]

The statement yields --rows rows of about 110 bytes each (generate_series on PostgreSQL, a
recursive CTE on SQLite); run_query keeps --limit of them. Each measurement runs in a fresh
Python process and reports that process's peak resident memory above what it used before the
query, and the seconds the query took. --code DIR runs the pnet_pubmed package found in DIR
instead of this checkout's (e.g. an older version, for a before/after figure). PostgreSQL runs
when --pg (or PNET_PUBMED_TEST_PG_URL) names a database; a scratch schema is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]

STATEMENTS = {
    "postgresql": ("SELECT g, repeat('x', 100) AS pad"
                   " FROM (SELECT generate_series(1, {rows}) AS g) AS s"),
    "sqlite": ("WITH RECURSIVE r(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM r WHERE g < {rows})"
               " SELECT g, printf('%.100c', 'x') AS pad FROM r"),
}

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from pnet_pubmed.sqlquery import run_query
from pnet_pubmed.store import Store
url, statement, limit = sys.argv[2], sys.argv[3], int(sys.argv[4])
store = Store(url)
run_query(store, "SELECT 1", limit=1)  # imports and first connection out of the figure
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
result = run_query(store, statement, limit=limit)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": len(result.rows), "truncated": result.truncated,
                  "seconds": seconds, "extra_mb": (peak - before) / 1024}))
"""


def measure(code: Path, url: str, statement: str, limit: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(code), url, statement, str(limit)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get("PNET_PUBMED_TEST_PG_URL"))
    parser.add_argument("--code", type=Path, default=ROOT, help="folder holding pnet_pubmed/")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code))
    from pnet_pubmed.store import Store

    print(f"code: {args.code}; {args.rows:,} rows, --limit {args.limit}")
    print("| backend | rows shown | extra peak memory | seconds |")
    print("| --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        Store(url).upgrade()
        r = measure(args.code, url, STATEMENTS["sqlite"].format(rows=args.rows), args.limit)
        print(f"| SQLite | {r['rows']:,} | {r['extra_mb']:.1f} MB | {r['seconds']:.2f} |")
    if args.pg:
        admin = sa.create_engine(args.pg, poolclass=sa.pool.NullPool)
        schema = f"pnet_bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = sa.make_url(args.pg).update_query_dict(
                {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
            Store(url).upgrade()
            r = measure(args.code, url, STATEMENTS["postgresql"].format(rows=args.rows),
                        args.limit)
            print(f"| PostgreSQL | {r['rows']:,} | {r['extra_mb']:.1f} MB | "
                  f"{r['seconds']:.2f} |")
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


if __name__ == "__main__":
    main()
