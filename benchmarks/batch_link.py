"""A batch run through E-utilities: a long generated Vancouver list, linked, then linked again.

Usage: python benchmarks/batch_link.py [--rate-limit 3] [--limit N] [--missing 300]
           [--damaged 0.1] [--seed 0]

The list is written (numbered, one reference a line, by tests/reflist.py's Vancouver writer
with its real-world variations) from every citable record of glutton-dev's
records.xml and the real NCBI records (about 9,600; `--limit` for fewer), with one field damaged in
`--damaged` of the references (year one off, a page or volume typo, the volume left out, the
first author misspelt), and `--missing` records withheld from the stand-in, so that their
references have no record ("not in PubMed"). The stand-in holds to `--rate-limit` requests/s
(NCBI's 3). Prints, for the first run (empty cache and database) and the rerun: requests by
endpoint, seconds, right / wrong / not found, and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.config import Settings  # noqa: E402
from pnet_pubmed.pipeline import link  # noqa: E402
from pnet_pubmed.pubmed import parse_articles  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402
from tests.eutils_standin import StandinServer  # noqa: E402
from tests.eutils_standin.corpus import NCBI_EFETCH  # noqa: E402
from tests.reflist import citable, vancouver  # noqa: E402

GLUTTON = ROOT.parent / "shared" / "corpus" / "glutton-dev" / "records.xml"
WRONG: list | None = None  # set to a list to collect the wrong links


def damage(article, rng: random.Random):
    """One field of the citation wrong, as lists have them; the record stays as it is."""
    kind = rng.choice(["year", "page", "volume_typo", "no_volume", "author"])
    if kind == "year" and article.year:
        return replace(article, year=article.year + rng.choice([-1, 1]))
    if kind == "page" and article.pages and article.pages[:1].isdigit():
        first, _, rest = article.pages.partition("-")
        return replace(article, pages=first + "-" + (rest[:-1] + str((int(rest[-1]) + 1) % 10)
                                                       if rest[-1:].isdigit() else rest))
    if kind == "volume_typo" and article.volume and article.volume.isdigit():
        return replace(article, volume=str(int(article.volume) + 1))
    if kind == "no_volume":
        return replace(article, volume=None)
    if kind == "author" and article.authors and article.authors[0].last_name:
        first = article.authors[0]
        name = first.last_name
        i = rng.randrange(1, max(2, len(name)))
        misspelt = name[:i] + name[i:][::-1][:1] + name[i + 1:] if len(name) > 3 else name
        return replace(article, authors=(replace(first, last_name=misspelt),
                                         *article.authors[1:]))
    return article


def withheld_corpus(path: Path, withheld: set[str], out: Path) -> Path:
    """records.xml without the withheld PMIDs."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition("<PubmedArticle>")
    kept = []
    for chunk in rest.split("<PubmedArticle>"):
        pmid = chunk.split("<PMID", 1)[1].split(">", 1)[1].split("<", 1)[0]
        if pmid not in withheld:
            kept.append("<PubmedArticle>" + chunk)
    body = "".join(kept)
    if "</PubmedArticleSet>" not in body[-40:]:
        body += "\n</PubmedArticleSet>\n"
    out.write_text(head + body, encoding="utf-8")
    return out


def run(settings: Settings, source: Path, truth: list[str], withheld: set[str]) -> dict:
    started = time.perf_counter()
    summary = link(source, "batch", settings)
    seconds = time.perf_counter() - started
    outcome: Counter = Counter()
    rows = Store(settings.db_url).references("batch")
    for row, pmid in zip(rows, truth, strict=True):
        expected = None if pmid in withheld else pmid
        if row["status"] == "matched":
            outcome["right" if row["pmid"] == expected else "wrong"] += 1
            if row["pmid"] != expected and WRONG is not None:
                WRONG.append((row["key"], row["pmid"], expected, row["raw"], row["notes"]))
        else:
            outcome["not_found" if expected is None else f"missed_{row['status']}"] += 1
    d = summary.as_dict()
    return {"seconds": seconds, "sent": d["requests_sent"], "by": d["by_endpoint"],
            "cached": d["from_cache"], **outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate-limit", type=float, default=3.0)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--missing", type=int, default=300)
    parser.add_argument("--damaged", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    articles = parse_articles(GLUTTON.read_bytes())
    real = [a for f in sorted(NCBI_EFETCH.glob("*.xml")) for a in parse_articles(f.read_bytes())]
    served_elsewhere = {a.pmid for a in real}  # only glutton-dev's records can be withheld
    articles += real
    seen: set[str] = set()
    articles = [a for a in articles if citable(a) and not (a.pmid in seen or seen.add(a.pmid))]
    rng.shuffle(articles)
    if args.limit:
        articles = articles[: args.limit]
    can_withhold = [a for a in articles if a.pmid not in served_elsewhere]
    withheld = {a.pmid for a in rng.sample(can_withhold, min(args.missing, len(can_withhold)))}
    cited = [damage(a, rng) if rng.random() < args.damaged else a for a in articles]
    # A numbered Vancouver list, one reference a line, as such lists are usually written.
    truth = [a.pmid for a in cited]
    text = "".join(f"{i}. {vancouver(a, rng)}\n" for i, a in enumerate(cited, 1))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = [withheld_corpus(GLUTTON, withheld, tmp / "corpus.xml"),
                  *sorted(NCBI_EFETCH.glob("*.xml"))]
        source = tmp / "list.txt"
        source.write_text(text, encoding="utf-8")
        with StandinServer(corpus, rate_limit=args.rate_limit or None) as server:
            settings = Settings(db_url=f"sqlite:///{tmp}/db.sqlite", cache_dir=tmp / "cache",
                                eutils_url=server.url, email="benchmark@example.org",
                                requests_per_second=args.rate_limit or 1000.0)
            damaged = sum(a is not b for a, b in zip(articles, cited, strict=True))
            print(f"{len(truth)} references ({damaged} "
                  f"with a damaged field, {len(withheld)} without a record), stand-in at "
                  f"{args.rate_limit or 'no'} requests/s")
            for label in ("first run", "rerun"):
                r = run(settings, source, truth, withheld)
                print(f"{label}: {r['sent']} requests {r['by']}, {r['cached']} from the cache, "
                      f"{r['seconds']:.1f} s; right {r.get('right', 0)}, wrong "
                      f"{r.get('wrong', 0)}, not found (no record) {r.get('not_found', 0)}, "
                      f"missed {sum(v for k, v in r.items() if k.startswith('missed_'))}")
            if server.rate_limited:
                print(f"refused by the rate limit: {server.rate_limited}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
