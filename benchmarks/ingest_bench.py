"""Ingest rate: PubMed EFetch XML parsed and stored, in articles per second, on each backend.

Usage: python benchmarks/ingest_bench.py [--articles 5000] [--batch 200] [--pg URL]

The records are the 220 verbatim NCBI records of tests/fixtures, cloned under new PMIDs until
there are --articles of them, and cut into EFetch answers of --batch records, as `link` receives
them. Each backend starts empty; the figures include the full-text index that `link` maintains.
PostgreSQL runs when --pg (or PNET_PUBMED_TEST_PG_URL) names a database; a scratch schema is
created and dropped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.pubmed import parse_articles  # noqa: E402
from pnet_pubmed.search.index import SearchIndex  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "ncbi-efetch"
HEAD = ('<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
        '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
        "<PubmedArticleSet>\n")


def record_texts() -> list[str]:
    """Each <PubmedArticle> of the corpus as text (books left out: they are rare in lists)."""
    texts = []
    for path in sorted(CORPUS.glob("*.xml")):
        body = path.read_text(encoding="utf-8")
        texts += re.findall(r"<PubmedArticle>.*?</PubmedArticle>", body, flags=re.S)
    return texts


def answers(n: int, batch: int) -> list[bytes]:
    """EFetch answers holding n records with fresh PMIDs 50000001, 50000002, …"""
    texts = record_texts()
    records = []
    for i in range(n):
        text = texts[i % len(texts)]
        old = re.search(r"<PMID[^>]*>(\d+)</PMID>", text).group(1)
        records.append(text.replace(f">{old}<", f">{50_000_001 + i}<"))
    return [(HEAD + "\n".join(records[i : i + batch]) + "\n</PubmedArticleSet>\n").encode()
            for i in range(0, n, batch)]


def measure(url: str, docs: list[bytes]) -> tuple[float, float, int]:
    store = Store(url, index=SearchIndex())
    store.upgrade()
    parse_s = store_s = 0.0
    total = 0
    for doc in docs:
        t0 = time.perf_counter()
        articles = parse_articles(doc)
        t1 = time.perf_counter()
        store.save_articles(articles)
        t2 = time.perf_counter()
        parse_s += t1 - t0
        store_s += t2 - t1
        total += len(articles)
    store.close()
    return parse_s, store_s, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--pg", default=os.environ.get("PNET_PUBMED_TEST_PG_URL"))
    args = parser.parse_args()
    docs = answers(args.articles, args.batch)
    print(f"{args.articles} articles in {len(docs)} EFetch answers of {args.batch}")
    print("backend | parse s | store s | parsed/s | stored/s | end to end/s")
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", f"sqlite:///{tmp}/ingest.sqlite")]
        schema = None
        if args.pg:
            schema = f"pnet_bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(args.pg)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            pg = sa.make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
            backends.append(("postgresql", pg.render_as_string(hide_password=False)))
        try:
            for name, url in backends:
                parse_s, store_s, n = measure(url, docs)
                print(f"{name} | {parse_s:.2f} | {store_s:.2f} | {n / parse_s:.0f} | "
                      f"{n / store_s:.0f} | {n / (parse_s + store_s):.0f}")
        finally:
            if schema:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()


if __name__ == "__main__":
    main()
