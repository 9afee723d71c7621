"""Generate N realistic PubMed-like articles from the test corpus and store them in a database.

Usage: python benchmarks/make_articles.py --n 10000 --db sqlite:///bench.sqlite [--seed 1]

Text follows the corpus: word bigrams of real titles and abstracts, mixed with a Zipf-ranked
vocabulary that continues past the corpus words with made-up ones, so that 100k articles have
a long tail of rare words as PubMed does. Lengths, MeSH headings (with qualifiers and major
flags), authors, journals, publication types, keywords and chemicals are drawn from the real
records. A collection "bench" cites 300 of the articles, as a review would.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.pubmed import parse_articles  # noqa: E402
from pnet_pubmed.values import (  # noqa: E402
    AbstractSection,
    Article,
    Citation,
    Keyword,
    Match,
    MeshHeading,
    Qualifier,
)

CORPUS = ROOT / "tests" / "fixtures" / "corpus"
COLLECTION = "bench"
CITED = 300
SYNTHETIC_WORDS = 60_000
ZIPF_S = 1.05
FOLLOW_BIGRAM = 0.7  # share of words that follow the corpus' own word pairs
LABELS = ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS")


def corpus_articles() -> list[Article]:
    files = sorted((CORPUS / "ncbi-efetch").glob("*.xml"))
    files.append(CORPUS / "modelled" / "seed-references.xml")
    out: list[Article] = []
    for f in files:
        out.extend(parse_articles(f.read_bytes()))
    return out


@dataclass
class Model:
    """What generation samples from, learnt from the corpus."""

    words: list[str]
    cum_weights: list[float]
    follows: dict[str, list[str]]
    title_lengths: list[int]
    abstract_lengths: list[int]
    mesh_counts: list[int]
    headings: list[MeshHeading]
    authors: list
    journals: list[Article]
    publication_types: list[tuple]
    keywords: list[str]
    chemicals: list
    languages: list[tuple[str, ...]]


def _pseudo_word(rng: random.Random) -> str:
    syllables = ("ab", "ac", "al", "an", "ar", "ba", "ce", "di", "el", "en", "er", "fo", "ga",
                 "he", "id", "in", "is", "ka", "le", "li", "lo", "ma", "me", "mi", "mo", "na",
                 "ne", "ni", "no", "om", "on", "or", "os", "pa", "pe", "ra", "re", "ri", "ro",
                 "sa", "se", "si", "ta", "te", "ti", "to", "tr", "um", "un", "ur", "va", "xo")
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 5)))


def learn(articles: list[Article], seed: int) -> Model:
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    follows: dict[str, list[str]] = defaultdict(list)
    title_lengths, abstract_lengths = [], []
    for a in articles:
        for text, lengths in ((a.title, title_lengths), (a.abstract_text, abstract_lengths)):
            words = text.split()
            if not words:
                continue
            lengths.append(len(words))
            counts.update(words)
            for w1, w2 in itertools.pairwise(words):
                follows[w1].append(w2)
    ranked = [w for w, _ in counts.most_common()]
    seen = set(ranked)
    target = len(ranked) + SYNTHETIC_WORDS
    while len(ranked) < target:
        w = _pseudo_word(rng)
        if w not in seen:
            seen.add(w)
            ranked.append(w)
    weights = [1.0 / (rank + 1) ** ZIPF_S for rank in range(len(ranked))]
    with_mesh = [a for a in articles if a.mesh]
    return Model(
        words=ranked,
        cum_weights=list(itertools.accumulate(weights)),
        follows=dict(follows),
        title_lengths=title_lengths,
        abstract_lengths=abstract_lengths,
        mesh_counts=[len(a.mesh) for a in with_mesh],
        headings=[h for a in with_mesh for h in a.mesh],
        authors=[au for a in articles for au in a.authors],
        journals=[a for a in articles if a.journal_title],
        publication_types=[a.publication_types for a in articles if a.publication_types],
        keywords=[k.text for a in articles for k in a.keywords],
        chemicals=[c for a in articles for c in a.chemicals],
        languages=[a.languages for a in articles if a.languages],
    )


def _text(rng: random.Random, m: Model, n: int) -> str:
    out: list[str] = []
    # Draw the Zipf words in bulk: one bisect each is the costly part at 100k articles.
    total = m.cum_weights[-1]
    draws = [m.words[bisect.bisect(m.cum_weights, rng.random() * total)] for _ in range(n)]
    prev = None
    for i in range(n):
        nxt = m.follows.get(prev) if prev is not None else None
        word = rng.choice(nxt) if nxt and rng.random() < FOLLOW_BIGRAM else draws[i]
        out.append(word)
        prev = word
    return " ".join(out)


def generate(n: int, seed: int = 1, model: Model | None = None) -> Iterator[Article]:
    """n articles with PMIDs 50000001, 50000002, ...; the same seed gives the same articles."""
    m = model or learn(corpus_articles(), seed)
    rng = random.Random(seed)
    for i in range(n):
        pmid = str(50_000_001 + i)
        title = _text(rng, m, rng.choice(m.title_lengths)).rstrip(".") + "."
        abstract: tuple[AbstractSection, ...] = ()
        if rng.random() < 0.85:
            words = _text(rng, m, rng.choice(m.abstract_lengths)).split()
            if rng.random() < 0.4 and len(words) > 40:
                cut = sorted(rng.sample(range(5, len(words) - 5), 3))
                bounds = [0, *cut, len(words)]
                abstract = tuple(
                    AbstractSection(" ".join(words[bounds[k]: bounds[k + 1]]), label, label)
                    for k, label in enumerate(LABELS)
                )
            else:
                abstract = (AbstractSection(" ".join(words)),)
        mesh: tuple[MeshHeading, ...] = ()
        if rng.random() < 0.8:
            picked: dict[str, MeshHeading] = {}
            for h in rng.sample(m.headings, min(len(m.headings), rng.choice(m.mesh_counts))):
                major = rng.random() < 0.2
                quals = tuple(Qualifier(q.name, q.ui, major=not major and rng.random() < 0.15)
                              for q in h.qualifiers)
                picked.setdefault(h.descriptor, MeshHeading(h.descriptor, h.ui, major, quals))
            mesh = tuple(picked.values())
        journal = rng.choice(m.journals)
        year = min(2025, int(2026 - rng.expovariate(1 / 12)))
        first = rng.randint(1, 2000)
        authors = tuple(rng.choice(m.authors) for _ in range(rng.choice((1, 2, 3, 4, 5, 6, 6,
                                                                           7, 8, 10, 12, 15))))
        yield Article(
            pmid=pmid,
            title=title,
            abstract=abstract,
            journal_title=journal.journal_title,
            iso_abbreviation=journal.iso_abbreviation,
            medline_ta=journal.medline_ta,
            issn=journal.issn,
            year=max(1950, year),
            pub_date=str(max(1950, year)),
            volume=str(rng.randint(1, 120)),
            issue=str(rng.randint(1, 12)),
            pages=f"{first}-{first + rng.randint(2, 14)}",
            start_page=str(first),
            end_page=str(first + rng.randint(2, 14)),
            authors=authors,
            doi=f"10.5555/bench.{pmid}",
            languages=rng.choice(m.languages),
            publication_types=rng.choice(m.publication_types),
            mesh=mesh,
            keywords=tuple(Keyword(k) for k in rng.sample(m.keywords, rng.randint(3, 6)))
            if m.keywords and rng.random() < 0.4 else (),
            chemicals=tuple(rng.sample(m.chemicals, min(len(m.chemicals), rng.randint(0, 4)))),
            status="MEDLINE" if mesh else "PubMed-not-MEDLINE",
        )


def build(url: str, n: int, seed: int = 1, batch: int = 1000, log=print) -> dict:
    """Create the database at url and fill it with n articles and the "bench" collection."""
    from pnet_pubmed.search.index import SearchIndex
    from pnet_pubmed.store import Store

    store = Store(url, index=SearchIndex())
    store.upgrade()
    started = time.perf_counter()
    rows = 0
    buf: list[Article] = []
    for article in generate(n, seed):
        buf.append(replace(article))
        if len(buf) == batch:
            rows += store.save_articles(buf)
            buf = []
            if rows % (batch * 10) == 0:
                log(f"  {rows} articles, {rows / (time.perf_counter() - started):.0f}/s")
    if buf:
        rows += store.save_articles(buf)
    seconds = time.perf_counter() - started
    rng = random.Random(seed)
    cited = sorted(rng.sample(range(n), min(CITED, n)))
    citations = [Citation(key=str(k + 1), raw=f"Reference {k + 1}", position=k + 1)
                 for k in range(len(cited))]
    store.save_citations(COLLECTION, citations)
    store.save_matches(COLLECTION, [
        Match(key=c.key, status="matched", pmid=str(50_000_001 + i), method="pmid")
        for c, i in zip(citations, cited, strict=True)
    ])
    store.close()
    return {"articles": rows, "seconds": seconds, "articles_per_s": rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of a new database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    stats = build(args.db, args.n, args.seed, args.batch)
    print(f"{stats['articles']} articles in {stats['seconds']:.1f} s "
          f"({stats['articles_per_s']:.0f} articles/s)")


if __name__ == "__main__":
    main()
