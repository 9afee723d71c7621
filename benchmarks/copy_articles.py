"""Multiply a benchmark database: every article copied k times under new PMIDs, index included.

Usage: python benchmarks/copy_articles.py --from sqlite:///a-100k.sqlite --to sqlite:///a-1m.sqlite
                                          --copies 10
       python benchmarks/copy_articles.py --from URL --to URL --copies 10   (PostgreSQL schemas)

How the issue measured search at 1,000,000 articles: the 100,000 of benchmarks/make_articles.py
copied ten times, copy i under PMID + i * 1,000,000, with every child row, the MeSH headings
and the search rows (SQLite: article_search, whose triggers index each copy into FTS5;
PostgreSQL: the tsvector copied, the GIN index built once at the end). Much faster than
generating and indexing a million articles again. SQLite copies the file first; PostgreSQL
copies the schema table by table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from pnet_pubmed.search.index import SearchIndex  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402

STEP = 1_000_000
# Tables keyed by an article's PMID, in an order that inserts what others refer to first.
TABLES = ("articles", "abstract_sections", "authors", "affiliations", "article_mesh_headings",
          "article_mesh_qualifiers", "publication_types", "keywords", "chemicals",
          "comments_corrections", "article_search", "article_author_keys")


def _columns(conn: sa.Connection, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(conn).get_columns(table)]


def copy(source: str, target: str, copies: int) -> float:
    started = time.perf_counter()
    dst = Store(target, index=SearchIndex())
    if dst.dialect == "sqlite":
        src_path = Path(sa.make_url(source).database)
        dst_path = Path(sa.make_url(target).database)
        shutil.copyfile(src_path, dst_path)
    else:
        dst.upgrade()
    with dst.transaction() as conn:
        # The frequent words' lists are built again on the copy (search_bench.py does it):
        # without them, no trigger logs the copied rows.
        for table in ("search_words", "search_word_top", "search_word_log"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        if dst.dialect == "postgresql":
            src_schema = sa.make_url(source).query["options"].split("=")[-1]
            conn.exec_driver_sql("DROP INDEX IF EXISTS ix_article_search_document")
            for table in ("mesh_descriptors", "mesh_qualifiers", "collections", "refs", *TABLES):
                conn.exec_driver_sql(f'INSERT INTO {table} SELECT * FROM "{src_schema}".{table}')
        conn.exec_driver_sql("CREATE TEMP TABLE originals AS SELECT pmid FROM articles")
        for i in range(1, copies):
            for table in TABLES:
                cols = _columns(conn, table)
                values = []
                for c in cols:
                    if c == "pmid":
                        values.append(f"CAST(CAST(t.pmid AS BIGINT) + {i * STEP} AS TEXT)")
                    elif c == "id" and table == "article_search":
                        values.append(f"t.id + {i * STEP}")
                    else:
                        values.append(f"t.{c}")
                conn.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} "
                    f"FROM {table} t JOIN originals o ON o.pmid = t.pmid")
            print(f"  copy {i} of {copies - 1} done, {time.perf_counter() - started:.0f} s",
                  flush=True)
        if dst.dialect == "postgresql":
            conn.exec_driver_sql("CREATE INDEX ix_article_search_document ON article_search "
                                 "USING GIN (document) WITH (fastupdate = off)")
        else:
            conn.exec_driver_sql("INSERT INTO article_fts(article_fts) VALUES ('optimize')")
    if dst.dialect == "postgresql":
        with dst.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    dst.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True)
    parser.add_argument("--to", dest="target", required=True)
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    print(f"{copy(args.source, args.target, args.copies):.0f} s")


if __name__ == "__main__":
    main()
