"""Conversion between the value objects and table rows (plain dicts), both ways.

No SQLAlchemy here: the Store and the light read path (reads.py) build Articles with the same
build_articles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pnet_pubmed.values import (
    AbstractSection,
    Article,
    Author,
    Chemical,
    Citation,
    CommentCorrection,
    Keyword,
    Match,
    MeshHeading,
    PublicationType,
    Qualifier,
)

# MeSH descriptors and qualifiers are keyed by their UI. The rare heading without a UI gets this
# prefix plus its name as key; real UIs ("D009369", "Q000188") never contain a colon.
SURROGATE_PREFIX = "name:"


def mesh_key(ui: str | None, name: str) -> str:
    """The key a descriptor or qualifier is stored under: its UI, or a name-based surrogate."""
    return ui if ui else SURROGATE_PREFIX + name


def mesh_ui(key: str) -> str | None:
    """The UI an article shows for a stored key; None for a surrogate."""
    return None if key.startswith(SURROGATE_PREFIX) else key


@dataclass
class ArticleRows:
    """All rows that represent a batch of articles, one list per table."""

    articles: list[dict] = field(default_factory=list)
    abstract_sections: list[dict] = field(default_factory=list)
    authors: list[dict] = field(default_factory=list)
    affiliations: list[dict] = field(default_factory=list)
    mesh_descriptors: dict[str, str] = field(default_factory=dict)  # key -> name
    mesh_qualifiers: dict[str, str] = field(default_factory=dict)
    article_mesh_headings: list[dict] = field(default_factory=list)
    article_mesh_qualifiers: list[dict] = field(default_factory=list)
    publication_types: list[dict] = field(default_factory=list)
    keywords: list[dict] = field(default_factory=list)
    chemicals: list[dict] = field(default_factory=list)
    comments_corrections: list[dict] = field(default_factory=list)


def article_rows(
    articles: Iterable[Article], fetched_at: datetime | Mapping[str, datetime]
) -> ArticleRows:
    """Rows for articles; positions are 1-based and keep the order of every tuple.

    fetched_at is one time for all, or a time per PMID (when NCBI gave that copy of the record).
    """
    out = ArticleRows()
    for a in articles:
        p = a.pmid
        out.articles.append(
            {
                "pmid": p,
                "title": a.title,
                "abstract": a.abstract_text if a.abstract else None,
                "journal_title": a.journal_title,
                "iso_abbreviation": a.iso_abbreviation,
                "medline_ta": a.medline_ta,
                "nlm_unique_id": a.nlm_unique_id,
                "issn": a.issn,
                "issn_linking": a.issn_linking,
                "year": a.year,
                "pub_date": a.pub_date,
                "volume": a.volume,
                "issue": a.issue,
                "pages": a.pages,
                "start_page": a.start_page,
                "end_page": a.end_page,
                "elocation": a.elocation,
                "doi": a.doi,
                "pmcid": a.pmcid,
                "languages": list(a.languages),
                "status": a.status,
                "publication_status": a.publication_status,
                "is_book": a.is_book,
                "fetched_at": fetched_at if isinstance(fetched_at, datetime) else fetched_at[p],
                "date_revised": a.date_revised,
            }
        )
        for i, s in enumerate(a.abstract, 1):
            out.abstract_sections.append(
                {
                    "pmid": p,
                    "position": i,
                    "label": s.label,
                    "nlm_category": s.nlm_category,
                    "text": s.text,
                }
            )
        for i, au in enumerate(a.authors, 1):
            out.authors.append(
                {
                    "pmid": p,
                    "position": i,
                    "last_name": au.last_name,
                    "fore_name": au.fore_name,
                    "initials": au.initials,
                    "collective_name": au.collective_name,
                    "orcid": au.orcid,
                }
            )
            for j, text in enumerate(au.affiliations, 1):
                out.affiliations.append(
                    {"pmid": p, "author_position": i, "position": j, "text": text}
                )
        for i, h in enumerate(a.mesh, 1):
            d_key = mesh_key(h.ui, h.descriptor)
            out.mesh_descriptors[d_key] = h.descriptor
            out.article_mesh_headings.append(
                {"pmid": p, "position": i, "descriptor_ui": d_key, "major": h.major}
            )
            for j, q in enumerate(h.qualifiers, 1):
                q_key = mesh_key(q.ui, q.name)
                out.mesh_qualifiers[q_key] = q.name
                out.article_mesh_qualifiers.append(
                    {
                        "pmid": p,
                        "heading_position": i,
                        "position": j,
                        "descriptor_ui": d_key,
                        "qualifier_ui": q_key,
                        "major": q.major,
                    }
                )
        for i, t in enumerate(a.publication_types, 1):
            out.publication_types.append({"pmid": p, "position": i, "name": t.name, "ui": t.ui})
        for i, k in enumerate(a.keywords, 1):
            out.keywords.append({"pmid": p, "position": i, "text": k.text, "major": k.major})
        for i, c in enumerate(a.chemicals, 1):
            out.chemicals.append(
                {
                    "pmid": p,
                    "position": i,
                    "name": c.name,
                    "ui": c.ui,
                    "registry_number": c.registry_number,
                }
            )
        for i, cc in enumerate(a.comments_corrections, 1):
            out.comments_corrections.append(
                {
                    "pmid": p,
                    "position": i,
                    "ref_type": cc.ref_type,
                    "ref_pmid": cc.pmid,
                    "source": cc.source,
                }
            )
    return out


def _group(rows: Iterable[Mapping], key: str = "pmid") -> dict[str, list[Mapping]]:
    grouped: dict[str, list[Mapping]] = defaultdict(list)
    for r in rows:
        grouped[r[key]].append(r)
    return grouped


def build_articles(
    article_rows_: Sequence[Mapping],
    children: Mapping[str, Sequence[Mapping]],
) -> dict[str, Article]:
    """Articles from their rows; children maps a table name to its rows ordered by position.

    Mesh heading and qualifier rows must carry the vocabulary name as "name".
    """
    sections = _group(children["abstract_sections"])
    authors = _group(children["authors"])
    affiliations: dict[tuple[str, int], list[str]] = defaultdict(list)
    for r in children["affiliations"]:
        affiliations[(r["pmid"], r["author_position"])].append(r["text"])
    qualifiers: dict[tuple[str, int], list[Qualifier]] = defaultdict(list)
    for r in children["article_mesh_qualifiers"]:
        qualifiers[(r["pmid"], r["heading_position"])].append(
            Qualifier(name=r["name"], ui=mesh_ui(r["qualifier_ui"]), major=bool(r["major"]))
        )
    headings = _group(children["article_mesh_headings"])
    pub_types = _group(children["publication_types"])
    keywords = _group(children["keywords"])
    chemicals = _group(children["chemicals"])
    comments = _group(children["comments_corrections"])

    out: dict[str, Article] = {}
    for r in article_rows_:
        p = r["pmid"]
        out[p] = Article(
            pmid=p,
            title=r["title"],
            abstract=tuple(
                AbstractSection(text=s["text"], label=s["label"], nlm_category=s["nlm_category"])
                for s in sections.get(p, ())
            ),
            journal_title=r["journal_title"],
            iso_abbreviation=r["iso_abbreviation"],
            medline_ta=r["medline_ta"],
            nlm_unique_id=r["nlm_unique_id"],
            issn=r["issn"],
            issn_linking=r["issn_linking"],
            year=r["year"],
            pub_date=r["pub_date"],
            volume=r["volume"],
            issue=r["issue"],
            pages=r["pages"],
            start_page=r["start_page"],
            end_page=r["end_page"],
            elocation=r["elocation"],
            authors=tuple(
                Author(
                    last_name=a["last_name"],
                    fore_name=a["fore_name"],
                    initials=a["initials"],
                    collective_name=a["collective_name"],
                    affiliations=tuple(affiliations.get((p, a["position"]), ())),
                    orcid=a["orcid"],
                )
                for a in authors.get(p, ())
            ),
            doi=r["doi"],
            pmcid=r["pmcid"],
            languages=tuple(r["languages"] or ()),
            publication_types=tuple(
                PublicationType(name=t["name"], ui=t["ui"]) for t in pub_types.get(p, ())
            ),
            mesh=tuple(
                MeshHeading(
                    descriptor=h["name"],
                    ui=mesh_ui(h["descriptor_ui"]),
                    major=bool(h["major"]),
                    qualifiers=tuple(qualifiers.get((p, h["position"]), ())),
                )
                for h in headings.get(p, ())
            ),
            keywords=tuple(
                Keyword(text=k["text"], major=bool(k["major"])) for k in keywords.get(p, ())
            ),
            chemicals=tuple(
                Chemical(name=c["name"], ui=c["ui"], registry_number=c["registry_number"])
                for c in chemicals.get(p, ())
            ),
            comments_corrections=tuple(
                CommentCorrection(ref_type=c["ref_type"], pmid=c["ref_pmid"], source=c["source"])
                for c in comments.get(p, ())
            ),
            status=r["status"],
            publication_status=r["publication_status"],
            is_book=bool(r["is_book"]),
            date_revised=r["date_revised"],
        )
    return out


def citation_row(c: Citation) -> dict:
    """The parsed fields of a citation, as columns of refs (match fields excluded)."""
    return {
        "key": c.key,
        "position": c.position,
        "raw": c.raw,
        "kind": c.kind,
        "authors": [str(n) for n in c.authors],
        "et_al": c.et_al,
        "group_name": c.group,
        "year": c.year,
        "title": c.title,
        "journal": c.journal,
        "volume": c.volume,
        "issue": c.issue,
        "pages": c.pages,
        "first_page": c.first_page,
        "doi": c.doi,
        "pmid_given": c.pmid,
        "abstract_number": c.abstract_number,
        "parse_reason": c.reason,
    }


def match_row(m: Match) -> dict:
    return {
        "status": m.status,
        "pmid": m.pmid,
        "candidates": list(m.candidates),
        "method": m.method,
        "score": m.score,
        "reason": m.reason,
        "notes": list(m.notes),
    }
