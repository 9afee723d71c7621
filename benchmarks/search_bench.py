"""Search latency on generated databases of 10k and 100k articles: p50/p95 for 20 queries.

Usage: python benchmarks/search_bench.py [--sizes 10000 100000] [--runs 30]
                                         [--pg-url postgresql+psycopg://postgres@127.0.0.1/test]
                                         [--dir /tmp/pnet-bench] [--reuse] [--no-word-lists]

Builds each database with benchmarks/make_articles.py (SQLite files in --dir; on PostgreSQL one
schema per size, vacuumed and ANALYZEd as autovacuum would), builds the frequent words' lists as
`pnet-pubmed db optimize` does (--no-word-lists: drops them, to measure without), then runs
every query once to warm up and --runs times more through pnet_pubmed.search.search(url),
which opens a new connection each time as the CLI does, and prints per query the hits and
p50/p95 latency in ms, the same over all queries, the database size and the ingest rate.
Timings include the whole search call: opening the connection, ranking, filters, cited-by keys
and snippets. Last, a rare word (a title word found in 5 to 20 articles) next to the bare
engine's top-20 query for it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from make_articles import build  # noqa: E402

from pnet_pubmed.search import search, tokens  # noqa: E402
from pnet_pubmed.search.index import build_word_lists  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402
from pnet_pubmed.store.dbapi import connect  # noqa: E402

# What a reader of a PNET review asks: drugs, phrases, prefixes, boolean logic, filters.
QUERIES: list[tuple[str, str | None, dict]] = [
    ("word", "everolimus", {}),
    ("phrase", '"somatostatin analogues"', {}),
    ("prefix", "insulin*", {}),
    ("OR", "octreotide OR lanreotide", {}),
    ("NOT", "neuroendocrine NOT carcinoid", {}),
    ("boolean + parentheses", "(sunitinib OR everolimus) AND survival", {}),
    ("hyphenated phrase", '"progression-free survival"', {}),
    ("very common word", "patients", {}),
    ("prefix + words", "pancrea* neuroendocrine tumors", {}),
    ("word + years", "treatment", {"year": (2009, 2015)}),
    ("word + type", "somatostatin", {"publication_type": "Review"}),
    ("word + MeSH", "carcinoid", {"mesh": ["Humans"]}),
    ("MeSH major only", None, {"mesh": ["Pancreatic Neoplasms"], "major": True}),
    ("MeSH/qualifier", None, {"mesh": ["Lung Neoplasms"], "qualifier": "drug therapy"}),
    ("author", None, {"author": "Wang"}),
    ("journal", None, {"journal": "J Clin Oncol"}),
    ("years + type", None, {"year": (2020, 2025), "publication_type": "Journal Article"}),
    ("collection + MeSH", None, {"collection": "bench", "mesh": ["Humans"]}),
    ("long phrase", '"peptide receptor radionuclide therapy"', {}),
    ("common words AND", "risk factors mortality", {}),
]


def _size(store: Store, url: str) -> int:
    if store.dialect == "sqlite":
        path = Path(sa.make_url(url).database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
        ).scalar() or 0)


def _pg_url(base: str, schema: str, fresh: bool) -> str:
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        if fresh:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    admin.dispose()
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def run(url: str, runs: int) -> tuple[list[dict], list[float]]:
    """Each query once to warm up, then runs times, each run as the CLI makes it: search(url)
    opens a new connection (pnet_pubmed.store.dbapi), searches, closes it."""
    rows, everything = [], []
    for label, query, filters in QUERIES:
        hits = search(url, query, **filters)  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            search(url, query, **filters)
            times.append((time.perf_counter() - started) * 1000)
        everything += times
        shown = (query or "") + "".join(f" --{k}={v}" for k, v in filters.items())
        rows.append({"label": label, "query": shown.strip(), "hits": len(hits),
                     "total": hits.total if hits.exact else f">{hits.total - 1}",
                     "p50": _percentile(times, 50), "p95": _percentile(times, 95)})
    return rows, everything


def _bare(conn, word: str) -> tuple[str, dict]:
    """The engine's own top-20 query for one word, with no filters, details or snippets."""
    if conn.dialect == "sqlite":
        return ("SELECT rowid FROM article_fts WHERE article_fts MATCH :q "
                "ORDER BY bm25(article_fts) LIMIT 20", {"q": f'"{word}"'})
    return ("SELECT pmid FROM article_search WHERE document @@ CAST(:q AS tsquery) "
            "ORDER BY ts_rank_cd(document, CAST(:q AS tsquery)) DESC LIMIT 20",
            {"q": f"'{word}'"})


def rare_word(url: str) -> tuple[str, int]:
    """A title word of the database found in about a dozen articles (5 to 20)."""
    with connect(url) as conn:
        titles = conn.rows("SELECT title FROM articles ORDER BY pmid LIMIT 300")
        seen: set[str] = set()
        best = None
        for (title,) in titles:
            for word in tokens(title):
                if len(word) < 7 or not word.isalpha() or word in seen:
                    continue
                seen.add(word)
                sql, params = _bare(conn, word)
                n = conn.scalar(f"SELECT count(*) FROM ({sql.replace('LIMIT 20', 'LIMIT 100')})"
                                " m", params)
                if 5 <= n <= 20 and (best is None or abs(n - 11) < abs(best[1] - 11)):
                    best = (word, n)
        if best is None:
            raise SystemExit("no title word found in 5 to 20 articles")
        return best


def against_bare(url: str, word: str, runs: int) -> dict:
    """A rare word: pnet-pubmed's search next to the bare engine query, on one open connection
    (and search with its own new connection, as the CLI runs it)."""
    out = {}
    with connect(url) as conn:
        sql, params = _bare(conn, word)
        for name, call in (("bare", lambda: conn.rows(sql, params)),
                           ("search", lambda: search(conn, word)),
                           ("search, new connection", lambda: search(url, word))):
            call()
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            out[name] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg-url", help="also benchmark PostgreSQL at this URL")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/pnet-bench"))
    parser.add_argument("--reuse", action="store_true", help="keep databases already built")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--word-lists", action=argparse.BooleanOptionalAction, default=True,
                        help="build the frequent words' lists first (as db optimize)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    targets = []
    for n in args.sizes:
        if args.sqlite:
            path = args.dir / f"articles-{n}.sqlite"
            if not args.reuse:
                for p in args.dir.glob(path.name + "*"):
                    p.unlink()
            targets.append(("sqlite", n, f"sqlite:///{path}", not path.exists()))
        if args.pg_url:
            schema = f"pnet_bench_{n}"
            fresh = not args.reuse
            url = _pg_url(args.pg_url, schema, fresh)
            with Store(url).engine.connect() as conn:
                exists = sa.inspect(conn).has_table("articles")
            targets.append(("postgresql", n, url, fresh or not exists))

    for backend, n, url, needs_build in targets:
        print(f"\n## {backend}, {n:,} articles", flush=True)
        if needs_build:
            stats = build(url, n, log=lambda s: print(s, file=sys.stderr, flush=True))
            print(f"ingest: {stats['articles_per_s']:.0f} articles/s "
                  f"({stats['seconds']:.0f} s, save_articles in batches of 1000, index included)")
        store = Store(url)
        store.upgrade()  # a database kept from an earlier version (--reuse)
        if args.word_lists:
            with store.engine.connect() as conn:
                listed = conn.exec_driver_sql("SELECT count(*) FROM search_words").scalar()
            if needs_build or not listed:
                started = time.perf_counter()
                with store.transaction() as conn:
                    listed = build_word_lists(conn)
                print(f"word lists (`db optimize` without the FTS5 merge): {listed:,} words "
                      f"in {time.perf_counter() - started:.0f} s", flush=True)
            else:
                print(f"word lists: {listed:,} words, built before", flush=True)
        else:
            with store.transaction() as conn:
                for table in ("search_words", "search_word_top", "search_word_log"):
                    conn.exec_driver_sql(f"DELETE FROM {table}")
            print("word lists: none (--no-word-lists)", flush=True)
        if backend == "postgresql":
            # Autovacuum would do this on a server left to itself (since PostgreSQL 13 also
            # after inserts: the visibility map that index-only scans need); this test machine
            # has it off.
            with store.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM (ANALYZE)")
        print(f"database size: {_size(store, url) / 1e6:.0f} MB")
        store.close()
        rows, everything = run(url, args.runs)
        print("\n| query | hits shown / total | p50 ms | p95 ms |\n|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['label']}: `{r['query']}` | {r['hits']} / {r['total']} "
                  f"| {r['p50']:.1f} | {r['p95']:.1f} |")
        print(f"| **all {len(rows)} queries** | | **{_percentile(everything, 50):.1f}** "
              f"| **{_percentile(everything, 95):.1f}** |", flush=True)
        word, n = rare_word(url)
        rare = against_bare(url, word, args.runs)
        print(f"\nrare word `{word}` ({n} articles), median of {args.runs}: bare engine "
              f"{rare['bare']:.2f} ms, search {rare['search']:.2f} ms "
              f"({rare['search'] / rare['bare']:.1f}x), search with its own new connection "
              f"{rare['search, new connection']:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
