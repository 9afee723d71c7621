"""Article -> table rows as tuples, for bulk writing; the reader process builds them.

The values are those store/rows.py's article_rows gives (a test compares the two on every
corpus record), as tuples in the column order of the tables, which is what executemany and
COPY take. Besides the article tables, a chunk carries the mirror's own rows: the lookup keys
(mirror_records), the journal forms and the title words; and, when the store's index is the
search index, the index's rows (article_search, article_author_keys), made by the functions
search.index makes them with, from the values the article tables will hold (Chunk.finish).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pnet_pubmed.search.documents import document
from pnet_pubmed.search.index import author_key_rows, search_row
from pnet_pubmed.store import schema as t
from pnet_pubmed.store.rows import mesh_key
from pnet_pubmed.values import Article

from .keys import NO_YEAR, record_keys

# The article tables in an order that inserts what is referred to first.
ARTICLE_TABLES = (t.articles, *reversed(t.ARTICLE_CHILD_TABLES))
COLUMNS: dict[str, tuple[str, ...]] = {
    str(table.name): tuple(str(c.name) for c in table.columns)
    for table in (*ARTICLE_TABLES, t.mirror_records, t.mirror_title_words, t.mirror_journals,
                  t.mirror_deletions)
}

_EXPECTED = {
    "articles": ("pmid", "title", "abstract", "journal_title", "iso_abbreviation", "medline_ta",
                 "nlm_unique_id", "issn", "issn_linking", "year", "pub_date", "volume", "issue",
                 "pages", "start_page", "end_page", "elocation", "doi", "pmcid", "languages",
                 "status", "publication_status", "is_book", "fetched_at", "date_revised"),
    "abstract_sections": ("pmid", "position", "label", "nlm_category", "text"),
    "authors": ("pmid", "position", "last_name", "fore_name", "initials", "collective_name",
                "orcid"),
    "affiliations": ("pmid", "author_position", "position", "text"),
    "article_mesh_headings": ("pmid", "position", "descriptor_ui", "major"),
    "article_mesh_qualifiers": ("pmid", "heading_position", "position", "descriptor_ui",
                                "qualifier_ui", "major"),
    "publication_types": ("pmid", "position", "name", "ui"),
    "keywords": ("pmid", "position", "text", "major"),
    "chemicals": ("pmid", "position", "name", "ui", "registry_number"),
    "comments_corrections": ("pmid", "position", "ref_type", "ref_pmid", "source"),
    "mirror_records": ("pmid", "file_id", "year", "volume", "page", "author", "initial",
                       "journal", "doi"),
    "mirror_title_words": ("word", "year", "pmid"),
    "mirror_journals": ("form", "journal"),
    "mirror_deletions": ("pmid", "file_id"),
}
# The builders below write these orders; a changed table must change them too.
for _name, _cols in _EXPECTED.items():
    if COLUMNS[_name] != _cols:
        raise RuntimeError(f"mirror/rows.py does not know the columns of {_name}: {COLUMNS[_name]}")


@dataclass
class Chunk:
    """Rows of consecutive records of one file, then the deletions that follow them."""

    pmids: list[str] = field(default_factory=list)
    date_revised: list[str | None] = field(default_factory=list)
    rows: dict[str, list[tuple]] = field(
        default_factory=lambda: {str(table.name): [] for table in ARTICLE_TABLES})
    descriptors: dict[str, str] = field(default_factory=dict)
    qualifiers: dict[str, str] = field(default_factory=dict)
    records: list[tuple] = field(default_factory=list)  # mirror_records without file_id
    journals: set[tuple[str, str]] = field(default_factory=set)
    title_words: list[tuple[str, int, str]] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # messages of records not read
    items: int = 0  # records, deletions and unreadable records read from the file so far
    # The search index's rows, for the dialect given to add_article (see finish): article_search
    # in search.index.SEARCH_COLUMNS' order, article_author_keys as (pmid, key).
    search: list[tuple] = field(default_factory=list)
    author_keys: list[tuple[str, str]] = field(default_factory=list)
    index: str | None = None  # the dialect of the search rows; None: no search rows
    seen: set[str] = field(default_factory=set, repr=False)  # pmids, for add_article
    # What each record's search rows are made of, until finish
    parts: list[tuple] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.pmids) + len(self.deletions)

    def as_tuple(self) -> tuple:
        """Plain values only, for marshal (much faster than pickling the dataclass)."""
        return (self.pmids, self.date_revised, self.rows, self.descriptors, self.qualifiers,
                self.records, self.journals, self.title_words, self.deletions, self.unreadable,
                self.items, self.search, self.author_keys, self.index)

    @classmethod
    def from_tuple(cls, data: tuple) -> Chunk:
        return cls(*data)

    def finish(self) -> Chunk:
        """Make the search rows of the chunk's records, once it holds all of them.

        The MeSH text is made of the names the chunk writes into mesh_descriptors (the last one
        of each UI), which is what index_articles would read back after the write."""
        if self.index is not None:
            names = self.descriptors
            for pmid, title, abstract, headings, chemicals, keywords, authors in self.parts:
                doc = document(title, abstract, [names[k] for k in headings], chemicals,
                               keywords)
                row = search_row(pmid, doc, self.index)
                if row is not None:
                    self.search.append(row)
                self.author_keys.extend(author_key_rows(pmid, authors))
            # In the order of the primary key (key, pmid): the inserts then walk its b-tree
            # once instead of jumping about (a third less work on SQLite).
            self.author_keys.sort(key=_by_key)
        self.title_words.sort()  # likewise, (word, year, pmid)
        self.parts = []
        return self

    def keep_only(self, keep: set[str]) -> None:
        """Drop the rows of records not in keep (a newer version of them is stored)."""
        for name, rows in self.rows.items():
            self.rows[name] = [r for r in rows if r[0] in keep]
        self.records = [r for r in self.records if r[0] in keep]
        self.title_words = [r for r in self.title_words if r[2] in keep]
        self.search = [r for r in self.search if r[0] in keep]
        self.author_keys = [r for r in self.author_keys if r[0] in keep]
        self.parts = [r for r in self.parts if r[0] in keep]
        pairs = [(p, d) for p, d in zip(self.pmids, self.date_revised, strict=True) if p in keep]
        self.pmids = [p for p, _ in pairs]
        self.date_revised = [d for _, d in pairs]
        self.seen = set(self.pmids)


def _by_key(row: tuple[str, str]) -> tuple[str, str]:
    return (row[1], row[0])


def add_article(chunk: Chunk, a: Article, fetched_at) -> None:
    """Append the rows of one record; a PMID already in the chunk is replaced (later wins).

    With chunk.index set, also what its search rows are made of (Chunk.finish makes them)."""
    p = a.pmid
    if p in chunk.seen:
        chunk.keep_only(chunk.seen - {p})
    chunk.seen.add(p)
    rows = chunk.rows
    rows["articles"].append((
        p, a.title, a.abstract_text if a.abstract else None, a.journal_title,
        a.iso_abbreviation, a.medline_ta, a.nlm_unique_id, a.issn, a.issn_linking, a.year,
        a.pub_date, a.volume, a.issue, a.pages, a.start_page, a.end_page, a.elocation, a.doi,
        a.pmcid, json.dumps(list(a.languages)), a.status, a.publication_status, a.is_book,
        fetched_at, a.date_revised,
    ))
    if a.abstract:
        rows["abstract_sections"].extend(
            (p, i, s.label, s.nlm_category, s.text) for i, s in enumerate(a.abstract, 1))
    if a.authors:
        out_authors, out_affiliations = rows["authors"], rows["affiliations"]
        for i, au in enumerate(a.authors, 1):
            out_authors.append((p, i, au.last_name, au.fore_name, au.initials,
                                au.collective_name, au.orcid))
            if au.affiliations:
                out_affiliations.extend((p, i, j, text)
                                        for j, text in enumerate(au.affiliations, 1))
    if a.mesh:
        headings, quals = rows["article_mesh_headings"], rows["article_mesh_qualifiers"]
        for i, h in enumerate(a.mesh, 1):
            d_key = mesh_key(h.ui, h.descriptor)
            chunk.descriptors[d_key] = h.descriptor
            headings.append((p, i, d_key, h.major))
            for j, q in enumerate(h.qualifiers, 1):
                q_key = mesh_key(q.ui, q.name)
                chunk.qualifiers[q_key] = q.name
                quals.append((p, i, j, d_key, q_key, q.major))
    if a.publication_types:
        rows["publication_types"].extend(
            (p, i, x.name, x.ui) for i, x in enumerate(a.publication_types, 1))
    if a.keywords:
        rows["keywords"].extend((p, i, k.text, k.major) for i, k in enumerate(a.keywords, 1))
    if a.chemicals:
        rows["chemicals"].extend((p, i, c.name, c.ui, c.registry_number)
                                 for i, c in enumerate(a.chemicals, 1))
    if a.comments_corrections:
        rows["comments_corrections"].extend(
            (p, i, c.ref_type, c.pmid, c.source)
            for i, c in enumerate(a.comments_corrections, 1))

    if chunk.index is not None:
        # As search.documents reads them back: section texts, the headings' keys (named at
        # finish), substance names and keywords in the record's order; authors' names.
        chunk.parts.append((
            p, a.title, [s.text for s in a.abstract],
            [mesh_key(h.ui, h.descriptor) for h in a.mesh], [c.name for c in a.chemicals],
            [k.text for k in a.keywords],
            [(au.last_name, au.initials, au.collective_name) for au in a.authors]))

    k = record_keys(a)
    chunk.pmids.append(p)
    chunk.date_revised.append(a.date_revised)
    chunk.records.append((p, k.year, k.volume, k.page, k.author, k.initial, k.journal, k.doi))
    if k.journal:
        chunk.journals.update((form, k.journal) for form in k.journals)
    year = k.year if k.year is not None else NO_YEAR
    chunk.title_words.extend((w, year, p) for w in sorted(k.title_words))
