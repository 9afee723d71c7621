"""Parse rate of PubMed XML: the lxml reader (pnet_pubmed.pubmed) against Bio.Entrez.

Usage: python benchmarks/parse_bench.py [--records 30000] [--bio-records 2000] [--out DIR]

Writes a baseline-format file of --records real records (every PubmedArticle and
PubmedBookArticle of tests/fixtures/corpus/ncbi-efetch in turn, cloned under new PMIDs, with a
DeleteCitation list at the end), plain and gzipped, plus the same records without their
PubmedData/ReferenceList (69% of these records' bytes; older PubMed records have none). Each
measurement runs in a fresh process, so its peak memory (ru_maxrss) is its own:

- lxml reader: pnet_pubmed.pubmed.iter_records on the file, to Article values;
- bare lxml: iterparse over the same file with the records cleared and nothing converted, the
  floor libxml2 itself sets;
- Bio.Entrez: Entrez.read(validate=True) and the reference conversion (tests/pubmed_reference.py)
  on the first --bio-records records, as one document (Entrez.read holds the whole document).

Prints records/s, MB/s and peak memory for each.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "fixtures" / "corpus" / "ncbi-efetch"
HEAD = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    b'1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    b"<PubmedArticleSet>\n"
)
FIRST_PMID = 60_000_001
_RECORD = re.compile(rb"<(PubmedArticle|PubmedBookArticle)>.*?</\1>", re.S)
_PMID = re.compile(rb"<PMID[^>]*>(\d+)</PMID>")
_REFERENCES = re.compile(rb"\s*<ReferenceList>.*</ReferenceList>", re.S)


def real_records() -> list[bytes]:
    records = []
    for path in sorted(CORPUS.glob("*.xml")):
        records += [m[0] for m in _RECORD.finditer(path.read_bytes())]
    return records


def cloned(n: int, lean: bool = False):
    """n real records in turn, each under a new PMID (its own and its pubmed ArticleId)."""
    records = real_records()
    if lean:
        records = [_REFERENCES.sub(b"", r) for r in records]
    for i in range(n):
        text = records[i % len(records)]
        old = _PMID.search(text)[1]
        new = str(FIRST_PMID + i).encode()
        text = text.replace(b">" + old + b"</PMID>", b">" + new + b"</PMID>", 1)
        text = text.replace(b'"pubmed">' + old + b"<", b'"pubmed">' + new + b"<")
        yield text


def write_file(path: Path, n: int, lean: bool) -> None:
    deleted = "".join(f"<PMID Version='1'>{FIRST_PMID + n + i}</PMID>" for i in range(10))
    with open(path, "wb") as f:
        f.write(HEAD)
        for text in cloned(n, lean):
            f.write(text + b"\n")
        f.write(f"<DeleteCitation>{deleted}</DeleteCitation>\n</PubmedArticleSet>\n".encode())
    with open(path, "rb") as src, gzip.open(str(path) + ".gz", "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


# --------------------------------------------------------------------------- one measurement


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, path: Path, limit: int) -> dict:
    if kind == "lxml":
        from pnet_pubmed.pubmed import Article, iter_records

        base = _rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        records = sum(1 for item in iter_records(path) if isinstance(item, Article))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = path.stat().st_size
    elif kind == "bare":
        from lxml import etree

        base = _rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        opener = gzip.open if path.suffix == ".gz" else open
        records = 0
        with opener(path, "rb") as f:
            for _, el in etree.iterparse(f, tag=("PubmedArticle", "PubmedBookArticle")):
                records += 1
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = path.stat().st_size
    else:  # bio
        from Bio import Entrez

        from tests.pubmed_reference import book_to_article, to_article

        doc = HEAD + b"\n".join(cloned(limit)) + b"\n</PubmedArticleSet>\n"
        base = _rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        record = Entrez.read(io.BytesIO(doc), validate=True, escape=True)
        articles = [to_article(r) for r in record.get("PubmedArticle", [])]
        articles += [book_to_article(r) for r in record.get("PubmedBookArticle", [])]
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        records, size = len(articles), len(doc)
    return {
        "records": records,
        "seconds": seconds,
        "cpu": cpu,
        "bytes": size,
        "rss": _rss_mb(),
        "base": base,
    }


def run(kind: str, path: Path, limit: int = 0) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path), "--bio-records", str(limit)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--bio-records", type=int, default=2000)
    parser.add_argument("--out", type=Path, help="folder for the files (default: a temporary one)")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.bio_records)))
        return

    folder = args.out or Path(tempfile.mkdtemp(prefix="parse-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        rows = []
        for lean in (False, True):
            name = "pubmed-bench-lean.xml" if lean else "pubmed-bench.xml"
            plain, packed = folder / name, folder / (name + ".gz")
            t0 = time.perf_counter()
            write_file(plain, args.records, lean)
            mb = plain.stat().st_size / 1e6
            print(
                f"wrote {plain.name}: {args.records:,} records, {mb:,.0f} MB "
                f"({packed.stat().st_size / 1e6:,.0f} MB gzipped) in "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )
            label = "without ReferenceList" if lean else "as NCBI sends them"
            for kind, path in (("lxml", plain), ("lxml", packed), ("bare", plain)):
                rows.append((label, kind, path.name, run(kind, path)))
                print("  measured", kind, path.name, flush=True)
            if not lean:
                rows.append((label, "bio", f"first {args.bio_records:,} records", None))
                rows[-1] = (*rows[-1][:3], run("bio", plain, args.bio_records))
                print("  measured bio", flush=True)
    finally:
        if args.out is None:
            shutil.rmtree(folder, ignore_errors=True)

    names = {"lxml": "lxml reader", "bare": "bare lxml iterparse", "bio": "Bio.Entrez"}
    print(f"\nload average now: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)\n")
    print("| records | parser | input | records/s | per CPU second | MB/s | peak memory |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for label, kind, source, m in rows:
        rate = m["records"] / m["seconds"]
        mbs = m["bytes"] / 1e6 / m["seconds"]
        print(
            f"| {label} | {names[kind]} | {source} | {rate:,.0f} | "
            f"{m['records'] / m['cpu']:,.0f} | {mbs:,.1f} | "
            f"{m['rss']:,.0f} MB ({m['rss'] - m['base']:+,.0f}) |"
        )
    print(
        "\n(records/s: wall clock; per CPU second: the same over the process's CPU time, what"
        " an idle core would give; MB/s: of the file as stored, compressed for .gz; peak memory:"
        " the process's maximum resident size, in brackets what the parse added to it)"
    )


if __name__ == "__main__":
    main()
