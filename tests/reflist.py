"""Reference lists written from real PubMed records, as authors cite them (tests, benchmarks)."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

from pnet_pubmed.pubmed import parse_articles
from pnet_pubmed.values import Article

CORPUS = Path(__file__).parent / "fixtures" / "corpus"


def real_records() -> list[Article]:
    """Every journal article of the verbatim NCBI files (books are not cited this way)."""
    seen: dict[str, Article] = {}
    for path in sorted((CORPUS / "ncbi-efetch").glob("*.xml")):
        for article in parse_articles(path.read_bytes()):
            if not article.is_book:
                seen.setdefault(article.pmid, article)
    return list(seen.values())


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _short_pages(pages: str) -> str:
    """"1014-1019" -> "1014-9", as reference lists print them."""
    m = re.fullmatch(r"(\d+)-(\d+)", pages)
    if not m or len(m.group(1)) != len(m.group(2)):
        return pages
    start, end = m.groups()
    i = 0
    while i < len(start) - 1 and start[i] == end[i]:
        i += 1
    return f"{start}-{end[i:]}"


def citable(article: Article) -> bool:
    """Enough to cite: authors, title, journal, year, and a volume with pages or a DOI."""
    return bool(article.authors and article.title and article.year
                and (article.iso_abbreviation or article.medline_ta)
                and ((article.volume and (article.start_page or article.pages)) or article.doi))


def vancouver(article: Article, rng: random.Random) -> str:
    """One reference in Vancouver style, with the variations real lists have."""
    names = []
    for a in article.authors:
        if a.collective_name:
            names.append(a.collective_name)
        else:
            name = f"{a.last_name} {a.initials or ''}".strip()
            names.append(_ascii(name) if rng.random() < 0.5 else name)
    limit = rng.choice([3, 6])
    authors = ", ".join(names[:limit]) + (", et al" if len(names) > limit else "")
    title = article.title.strip()
    if title.startswith("[") and title.endswith("]."):
        title = title[1:-2] + "."
    if not title.endswith((".", "?", "!")):
        title += "."
    journal = article.iso_abbreviation or article.medline_ta
    if rng.random() < 0.3:
        journal = journal.replace(".", "")
    where = f"{journal}. {article.year}"
    if article.volume:
        where += f";{article.volume}"
        if article.issue and rng.random() < 0.7:
            where += f"({article.issue})"
        pages = article.pages or article.start_page or ""
        if pages:
            where += ":" + (_short_pages(pages) if rng.random() < 0.7 else pages)
    else:
        where += f". doi: {article.doi}"
    return f"{authors}. {title} {where}."


def reference_list(articles: list[Article], seed: int = 0) -> tuple[str, list[str]]:
    """A numbered list and, for each line, the PMID it cites."""
    rng = random.Random(seed)
    chosen = [a for a in articles if citable(a)]
    rng.shuffle(chosen)
    lines = [f"{i}. {vancouver(a, rng)}" for i, a in enumerate(chosen, 1)]
    return "\n".join(lines) + "\n", [a.pmid for a in chosen]
