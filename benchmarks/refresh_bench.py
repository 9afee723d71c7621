"""How long `refresh` takes for the bundled collection against the stand-in, and how many of
the bundled list's records carry a flag (retracted, expression of concern, erratum, updated).

Usage: python benchmarks/refresh_bench.py [--runs 3] [--rate-limit 3]

Links the bundled list once (empty cache and database), then runs `pnet-pubmed refresh
--collection pnet-review-2015` as a user would, a new process each time, each on the database
as the link run left it:
  * unchanged: the stand-in serves the same records, nothing to store;
  * revised: the stand-in serves every record with a new DateRevised and one MeSH heading more,
    so all 65 are stored again (rows and search index) and their changes printed.
Prints wall time of each process (start-up included) and of the refresh itself (from the
store's upgrade check to the last commit, as the command's --json reports it), the requests
the server saw, and the
flag figures: for the bundled list, and for every record of the stand-in's corpus and of
tests/fixtures/corpus/modelled/update-file.xml.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.config import Settings  # noqa: E402
from pnet_pubmed.flags import FLAGS, article_flags  # noqa: E402
from pnet_pubmed.pipeline import BUNDLED_COLLECTION, link  # noqa: E402
from pnet_pubmed.pubmed import parse_records  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402
from tests.eutils_standin import StandinServer, default_corpus_files  # noqa: E402
from tests.eutils_standin.corpus import MODELLED  # noqa: E402

UPDATE = ROOT / "tests" / "fixtures" / "corpus" / "modelled" / "update-file.xml"
HEADING = ('<MeshHeading><DescriptorName UI="D018358" MajorTopicYN="N">Neuroendocrine Tumors'
           "</DescriptorName></MeshHeading>")


def revised_copy(folder: Path) -> Path:
    """The modelled records as NLM might send them again: a new DateRevised, one heading more."""
    xml = MODELLED.read_text(encoding="utf-8")
    xml = re.sub(r"(<MedlineCitation[^>]*>\s*<PMID[^>]*>\d+</PMID>)",
                 r"\1<DateRevised><Year>2026</Year><Month>01</Month><Day>15</Day></DateRevised>",
                 xml)
    xml = xml.replace("</MeshHeadingList>", HEADING + "</MeshHeadingList>")
    path = folder / "revised.xml"
    path.write_text(xml, encoding="utf-8")
    return path


def cli(env: dict, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pnet_pubmed", *args], env=env, check=True,
                          capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def flag_share(articles) -> str:
    flagged = [a for a in articles if article_flags(a)]
    kinds = Counter(k for a in flagged for k in {f.flag for f in article_flags(a)})
    detail = ", ".join(f"{k} {kinds[k]}" for k in FLAGS if kinds[k]) or "none"
    share = 100 * len(flagged) / len(articles) if articles else 0
    return f"{len(flagged)} of {len(articles)} ({share:.1f}%): {detail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate-limit", type=float, default=3.0,
                        help="requests/s the stand-in enforces, as NCBI does (0: none)")
    args = parser.parse_args()
    rate = args.rate_limit or None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = f"sqlite:///{folder}/bench.sqlite"
        with StandinServer(rate_limit=rate) as server:
            settings = Settings(db_url=db, cache_dir=folder / "cache", eutils_url=server.url,
                                email="benchmark@example.org")
            summary = link(None, None, settings)
            port = server.port
        store = Store(db)
        pmids = [r["pmid"] for r in store.references(BUNDLED_COLLECTION) if r["pmid"]]
        print(f"bundled list: {summary.references} references, {len(pmids)} linked records")
        print(f"  records with a flag: {flag_share(store.articles(pmids))}")
        corpus = {}
        for path in default_corpus_files():
            for a in parse_records(path.read_bytes()).articles:
                corpus.setdefault(a.pmid, a)
        print(f"stand-in corpus: records with a flag: {flag_share(list(corpus.values()))}")
        update = parse_records(UPDATE.read_bytes()).articles
        print(f"update-file.xml: records with a flag: {flag_share(update)}")
        store.close()
        snapshot = folder / "after-link.sqlite"
        shutil.copyfile(folder / "bench.sqlite", snapshot)

        env = {**os.environ, "PNET_PUBMED_DB": db, "PNET_PUBMED_CACHE": str(folder / "cache"),
               "NCBI_EMAIL": "benchmark@example.org", "PYTHONPATH": str(ROOT)}
        env.pop("NCBI_API_KEY", None)
        print(f"refresh --collection {BUNDLED_COLLECTION}, one process each, rate limit "
              f"{args.rate_limit or 'none'}/s")
        startup, _ = cli(env, "--version")
        print(f"process start-up alone (pnet-pubmed --version): {startup:.2f} s")
        print("scenario | run | process seconds | refresh seconds | server saw | updated | "
              "unchanged")
        scenarios = (("unchanged", default_corpus_files()),
                     ("revised", [revised_copy(folder), *default_corpus_files()]))
        for name, files in scenarios:
            for run in range(1, args.runs + 1):
                shutil.copyfile(snapshot, folder / "bench.sqlite")  # as the link run left it
                for extra in ("bench.sqlite-wal", "bench.sqlite-shm"):
                    (folder / extra).unlink(missing_ok=True)
                # The same address each time: the cached answers of the link run still apply.
                with StandinServer(files, rate_limit=rate, port=port) as server:
                    env["PNET_PUBMED_EUTILS_URL"] = server.url
                    seconds, out = cli(env, "refresh", "-c", BUNDLED_COLLECTION, "--json")
                    seen = len(server.requests)
                data = json.loads(out)
                print(f"{name} | {run} | {seconds:.2f} | {data['seconds']:.2f} | {seen} | "
                      f"{data['updated']} | {data['unchanged']}")


if __name__ == "__main__":
    main()
