"""docs/schema.md, generated from the table definitions, a migrated database and the notes here.

Usage: python tools/schema_doc.py [--check] [--out PATH]. A developer tool, not part of the
package; tests/test_views.py fails when docs/schema.md is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pnet_pubmed.store import Store  # noqa: E402
from pnet_pubmed.store import schema as t  # noqa: E402

DOC_PATH = ROOT / "docs" / "schema.md"
REGENERATE = "python tools/schema_doc.py"

TABLES = {
    "collections": "One row per reference list that was linked (a review's bibliography).",
    "refs": "One row per reference of a collection: the text as given, the fields parsed from "
    "it, and the outcome of matching it against PubMed.",
    "articles": "One row per PubMed record fetched with EFetch (the records references link to).",
    "abstract_sections": "The abstract of an article, one row per section (one unlabelled "
    "section for an unstructured abstract).",
    "authors": "The authors of an article, in the order of the record.",
    "affiliations": "The affiliations of each author, in the order of the record.",
    "mesh_descriptors": "MeSH descriptors seen in stored records (the vocabulary, shared by all "
    "articles).",
    "mesh_qualifiers": "MeSH qualifiers (subheadings) seen in stored records.",
    "article_mesh_headings": "The MeSH headings of an article: one row per descriptor, in the "
    "order of the record. The view article_mesh is easier to query.",
    "article_mesh_qualifiers": "The qualifiers attached to each MeSH heading of an article.",
    "publication_types": "PubMed publication types of an article (Journal Article, Review, "
    "Randomized Controlled Trial, ...).",
    "keywords": "Author keywords of an article (KeywordList).",
    "chemicals": "Substances indexed for an article (ChemicalList).",
    "comments_corrections": "Links from an article to others: errata, retractions, comments, "
    "updates (CommentsCorrectionsList).",
    "mirror_files": "The ledger of `pnet-pubmed mirror load`: one row per NLM baseline or "
    "update file it has met, loaded or not.",
    "mirror_records": "The articles that came from mirror files (an article linked through "
    "E-utilities alone has no row here), with the keys `link` looks citations up by.",
    "mirror_journals": "Every folded form of a mirror journal's names, to its key "
    "(mirror_records.journal).",
    "mirror_title_words": "The words of each mirror record's title that a title look-up "
    "can ask for, by year.",
    "mirror_deletions": "PMIDs that NLM's DeleteCitation lists removed, so an older file "
    "loaded later cannot bring them back.",
}

VIEWS = {
    "reference_links": "Every reference with its match and, when linked, the main fields of the "
    "PubMed record. One row per reference; the first stop for most questions.",
    "article_mesh": "MeSH indexing of stored articles, one row per descriptor and qualifier "
    "pair (a descriptor without qualifiers gives one row with an empty qualifier).",
    "article_flags": "What PubMed says happened to an article since: one row per flag "
    "(`retracted`, `expression_of_concern`, `erratum`, `updated`) with the PMID of the notice, "
    "from comments_corrections (RetractionIn, ExpressionOfConcernIn, ErratumIn, UpdateIn) and "
    'the publication type "Retracted Publication" (D016441). Unflagged articles have no row.',
}

# Tables the migrations create for full-text and author search. They are derived from
# `articles` and rebuilt on save, so analysts should not rely on their layout.
INTERNAL_TABLES = {
    "alembic_version": "The schema revision (Alembic); `pnet-pubmed db upgrade` moves it on.",
    "article_search": "Text indexed for `pnet-pubmed search`, one row per article (SQLite: "
    "title, abstract, MeSH and keyword text; PostgreSQL: a weighted tsvector).",
    "article_fts": "SQLite only: the FTS5 index over article_search.",
    "article_author_keys": "Author names folded to lower case without accents "
    '("oberg", "oberg k"), for `search --author`.',
    "search_words": "The words found in many articles that have a score-ordered list "
    "(`pnet-pubmed db optimize`), with their article count and the floor no article left out "
    "of the list exceeds (SQLite: also the mean length their keys were computed at).",
    "search_word_top": "Each listed word's best articles: SQLite, by their bm25 weight (key), "
    "with the word's weighted count (x) and the article's length in tokens (d); PostgreSQL, "
    "by their ts_rank_cd (rank), with the PMID.",
    "search_word_log": "Changes of article_search not yet carried into the word lists (the "
    "old text or document, and the new); empty once a write commits.",
}
# FTS5 keeps its index in shadow tables named after the virtual table.
INTERNAL_PREFIXES = ("article_fts_",)

COLUMNS = {
    # collections
    "collections.id": "Surrogate key; refs.collection_id points here.",
    "collections.name": "Collection name, unique. Defaults to the list's file name; the "
    "bundled list is `pnet-review-2015`.",
    "collections.source": "Path of the reference list the collection was last linked from.",
    "collections.created_at": "When the collection was created (UTC).",
    "collections.updated_at": "When its references or matches last changed (UTC).",
    # refs
    "refs.id": "Surrogate key.",
    "refs.collection_id": "The collection (collections.id).",
    "refs.key": "The reference's number in the list, or its 1-based position when the list "
    "is unnumbered; unique within a collection. A repeated number gets `#position` appended.",
    "refs.position": "1-based position of the reference in the input.",
    "refs.raw": "The reference text exactly as given.",
    "refs.kind": "What the parser recognised: `article`, `meeting_abstract`, `epub_ahead`, "
    "`pmid`, `doi` or `unparsed`.",
    "refs.authors": 'Cited authors as a JSON list of "Surname Initials" strings.',
    "refs.et_al": 'True when the list cut the authors short with "et al".',
    "refs.group_name": 'Collective author as cited ("RADIANT-3 study group").',
    "refs.year": "Publication year as cited.",
    "refs.title": "Title as cited.",
    "refs.journal": 'Journal as cited, usually an abbreviation ("Eur J Cancer").',
    "refs.volume": "Volume as cited.",
    "refs.issue": "Issue as cited.",
    "refs.pages": 'Pages as printed ("1014-9").',
    "refs.first_page": "First page, taken from pages.",
    "refs.doi": "DOI printed in the reference, if any.",
    "refs.pmid_given": "PMID printed in the reference, if any.",
    "refs.abstract_number": 'For meeting abstracts: the abstract number ("abstract 4030").',
    "refs.parse_reason": "Why the text could not be parsed (kind `unparsed`).",
    "refs.status": "Match outcome: `matched` (linked to one record), `ambiguous` (several "
    "records fit equally well), `not_found`, or `pending` (not matched yet, e.g. offline).",
    "refs.pmid": "PMID of the linked record when status is `matched`, else NULL. No foreign "
    "key: the link is stored before the record is fetched.",
    "refs.candidates": "JSON list of the PMIDs that fit an `ambiguous` reference.",
    "refs.method": "How the match was decided: `ecitmatch`, `esearch`, `pmid` (a printed "
    "PMID), or `parse` (the text could not be parsed).",
    "refs.score": "How well the chosen record fits the citation, 0 to 1.",
    "refs.notes": "JSON list of where a matched reference differs from its record (year, "
    "volume, pages, journal, title, first author, DOI), for correcting the list.",
    "refs.reason": 'Why a reference is not matched, in words ("meeting abstract: PubMed does '
    'not index conference abstracts").',
    "refs.updated_at": "When the row last changed (UTC).",
    # articles
    "articles.pmid": "PubMed identifier.",
    "articles.title": "Article title (ArticleTitle; the book title for books).",
    "articles.abstract": "The whole abstract as one text; sections of a structured abstract "
    'start with their label ("BACKGROUND: ...").',
    "articles.journal_title": 'Full journal title ("European journal of cancer (Oxford, '
    'England : 1990)").',
    "articles.iso_abbreviation": 'ISO journal abbreviation ("Eur J Cancer").',
    "articles.medline_ta": "NLM title abbreviation (MedlineTA).",
    "articles.nlm_unique_id": "NLM catalogue identifier of the journal.",
    "articles.issn": "ISSN of the journal (print or electronic, as the record gives it).",
    "articles.issn_linking": "Linking ISSN, the same for every medium of a journal.",
    "articles.year": "Publication year: of the issue, else of the electronic article, else "
    "the year PubMed received it.",
    "articles.pub_date": 'Publication date as printed ("2011 Feb 10", "2008 Summer").',
    "articles.volume": "Journal volume.",
    "articles.issue": "Journal issue.",
    "articles.pages": 'Pages as MEDLINE prints them ("514-23").',
    "articles.start_page": "First page.",
    "articles.end_page": "Last page, when known.",
    "articles.elocation": "Electronic location (e.g. an article number or a DOI) of "
    "online-only articles.",
    "articles.doi": "DOI of the article.",
    "articles.pmcid": 'PubMed Central identifier ("PMC1234567"), when the full text is there.',
    "articles.languages": 'JSON list of language codes ("eng").',
    "articles.status": 'MEDLINE indexing status ("MEDLINE", "PubMed-not-MEDLINE", '
    '"In-Process", ...).',
    "articles.publication_status": '"ppublish", "epublish" or "aheadofprint".',
    "articles.is_book": "True for a book or book chapter (PubmedBookArticle).",
    "articles.fetched_at": "When NCBI gave the stored copy of the record (UTC): when it was "
    "fetched, or when the cached answer it came from was; `refresh` sets it when it checks the "
    "record. An older copy never replaces a newer one.",
    "articles.date_revised": 'When NLM last revised the record (MedlineCitation/DateRevised, '
    '"YYYY-MM-DD"); NULL for records stored before schema revision 0007_records_current until '
    "they are fetched again.",
    # abstract_sections
    "abstract_sections.pmid": "The article (articles.pmid).",
    "abstract_sections.position": "1-based order within the abstract.",
    "abstract_sections.label": 'Section label as printed ("METHODS"), NULL if unlabelled.',
    "abstract_sections.nlm_category": "NLM's normalised category (BACKGROUND, OBJECTIVE, "
    "METHODS, RESULTS, CONCLUSIONS, UNASSIGNED).",
    "abstract_sections.text": "Section text.",
    # authors
    "authors.pmid": "The article (articles.pmid).",
    "authors.position": "1-based author order.",
    "authors.last_name": "Surname.",
    "authors.fore_name": "Given names.",
    "authors.initials": 'Initials ("JC").',
    "authors.collective_name": "Group author, for which the name columns are NULL.",
    "authors.orcid": "ORCID identifier, when the record gives one.",
    # affiliations
    "affiliations.pmid": "The article (articles.pmid).",
    "affiliations.author_position": "The author (authors.position of the same article).",
    "affiliations.position": "1-based order of the author's affiliations.",
    "affiliations.text": "Affiliation as printed.",
    # MeSH vocabulary
    "mesh_descriptors.ui": 'Descriptor UI ("D009369"); `name:` plus the name for the rare '
    "heading without a UI.",
    "mesh_descriptors.name": 'Descriptor name ("Neoplasms").',
    "mesh_qualifiers.ui": 'Qualifier UI ("Q000188"); `name:` plus the name when missing.',
    "mesh_qualifiers.name": 'Qualifier name ("drug therapy").',
    # article_mesh_headings
    "article_mesh_headings.pmid": "The article (articles.pmid).",
    "article_mesh_headings.position": "1-based order of the heading in the record.",
    "article_mesh_headings.descriptor_ui": "The descriptor (mesh_descriptors.ui).",
    "article_mesh_headings.major": "True when the descriptor itself is starred as a major "
    "topic (a qualifier may be starred instead; see article_mesh.major_topic).",
    # article_mesh_qualifiers
    "article_mesh_qualifiers.pmid": "The article (articles.pmid).",
    "article_mesh_qualifiers.heading_position": "The heading "
    "(article_mesh_headings.position of the same article).",
    "article_mesh_qualifiers.position": "1-based order of the qualifier within its heading.",
    "article_mesh_qualifiers.descriptor_ui": "The heading's descriptor, repeated to query "
    "qualifiers without a join.",
    "article_mesh_qualifiers.qualifier_ui": "The qualifier (mesh_qualifiers.ui).",
    "article_mesh_qualifiers.major": "True when this descriptor/qualifier pair is starred as "
    "a major topic.",
    # publication_types
    "publication_types.pmid": "The article (articles.pmid).",
    "publication_types.position": "1-based order in the record.",
    "publication_types.name": 'Publication type ("Randomized Controlled Trial").',
    "publication_types.ui": 'Its MeSH UI ("D016449").',
    # keywords
    "keywords.pmid": "The article (articles.pmid).",
    "keywords.position": "1-based order in the record.",
    "keywords.text": "The keyword.",
    "keywords.major": "True when the keyword is marked as a major topic.",
    # chemicals
    "chemicals.pmid": "The article (articles.pmid).",
    "chemicals.position": "1-based order in the record.",
    "chemicals.name": 'Substance name ("Everolimus").',
    "chemicals.ui": "Its MeSH UI.",
    "chemicals.registry_number": "CAS or other registry number, NULL when MEDLINE gives none.",
    # comments_corrections
    "comments_corrections.pmid": "The article (articles.pmid).",
    "comments_corrections.position": "1-based order in the record.",
    "comments_corrections.ref_type": "Kind of link: ErratumIn, RetractionIn, CommentIn, "
    "CommentOn, UpdateOf, ...",
    "comments_corrections.ref_pmid": "PMID of the other record, when it has one (usually not "
    "stored here, so no foreign key).",
    "comments_corrections.source": "Citation of the other record as printed.",
    # mirror_files
    "mirror_files.id": "Surrogate key.",
    "mirror_files.name": "File name (`pubmed25n0001.xml.gz`); files load in name order.",
    "mirror_files.path": "Where the file was last loaded from.",
    "mirror_files.md5": "MD5 of the file's bytes (checked against its .md5 file when there "
    "is one); a file with the same name and MD5 is not loaded again.",
    "mirror_files.size": "Size of the file in bytes.",
    "mirror_files.status": "`loaded`, `failed` (see message) or `loading` (a load stopped "
    "inside it: the next load takes it again from its start).",
    "mirror_files.records": "Records the file wrote (new records and newer versions).",
    "mirror_files.superseded": "Records of the file not written: a newer version was stored, "
    "or a later file deleted them.",
    "mirror_files.deleted": "Articles its DeleteCitation list removed.",
    "mirror_files.unreadable": "Records of the file that could not be read.",
    "mirror_files.message": "Why the file failed, or the first unreadable record.",
    "mirror_files.keys_version": "Version of the look-up keys the file was loaded with.",
    "mirror_files.started_at": "When its last load started (UTC).",
    "mirror_files.finished_at": "When its last load ended (UTC).",
    # mirror_records
    "mirror_records.pmid": "The article (articles.pmid).",
    "mirror_records.file_id": "The file its stored version came from (mirror_files.id).",
    "mirror_records.year": "Publication year.",
    "mirror_records.volume": 'Volume number as the matcher compares it ("82" for "82 '
    'Suppl 3").',
    "mirror_records.page": "First page (or e-locator) as the matcher compares it.",
    "mirror_records.author": "First author's surname, folded, without spaces.",
    "mirror_records.initial": "First letter of the first author's initials, folded.",
    "mirror_records.journal": "The journal's key: its MedlineTA folded (else ISO abbreviation "
    "or title).",
    "mirror_records.doi": "DOI in lower case.",
    # mirror_journals
    "mirror_journals.form": 'A journal name folded ("j clin oncol", "journal of clinical '
    'oncology").',
    "mirror_journals.journal": "The journal's key (mirror_records.journal).",
    # mirror_title_words
    "mirror_title_words.word": "A folded title word of four letters or more, not a stopword.",
    "mirror_title_words.year": "The record's publication year (0 when it has none).",
    "mirror_title_words.pmid": "The record (mirror_records.pmid).",
    # mirror_deletions
    "mirror_deletions.pmid": "The deleted PMID.",
    "mirror_deletions.file_id": "The file whose DeleteCitation list named it "
    "(mirror_files.id).",
    # view reference_links
    "reference_links.collection": "Collection name (collections.name).",
    "reference_links.key": "Reference key (refs.key).",
    "reference_links.position": "Position in the list (refs.position); order by it.",
    "reference_links.raw": "Reference text as given.",
    "reference_links.status": "`matched`, `ambiguous`, `not_found` or `pending`.",
    "reference_links.reason": "Why the reference is not matched, in words.",
    "reference_links.pmid": "PMID of the linked record (NULL unless `matched`).",
    "reference_links.title": "Title of the linked record.",
    "reference_links.year": "Publication year of the linked record (refs.year has the "
    "year as cited).",
    "reference_links.journal": "Full journal title of the linked record.",
    "reference_links.doi": "DOI of the linked record.",
    # view article_mesh
    "article_mesh.pmid": "The article (articles.pmid).",
    "article_mesh.descriptor": "Descriptor name.",
    "article_mesh.descriptor_ui": "Descriptor UI; NULL for the rare heading without one.",
    "article_mesh.major_topic": "True when the descriptor or this qualifier is starred, as "
    "PubMed's [majr] means it. 1/0 on SQLite, true/false on PostgreSQL.",
    "article_mesh.qualifier": "Qualifier name, NULL for a descriptor without qualifiers.",
    "article_mesh.qualifier_ui": "Qualifier UI, NULL when there is no qualifier.",
    "article_flags.pmid": "The flagged article (articles.pmid).",
    "article_flags.flag": "`retracted`, `expression_of_concern`, `erratum` or `updated`.",
    "article_flags.notice_pmid": "PMID of the retraction notice, expression of concern, "
    "erratum or updated version; NULL when the record names none (a Retracted Publication "
    "without its notice, an erratum cited only by its source).",
    "article_flags.source": 'The notice as the record cites it ("J Clin Oncol. 2016 Mar '
    '1;34(7):771").',
}

INTRO = f"""\
# Database schema

<!-- Generated by `{REGENERATE}` from pnet_pubmed/store/schema.py, the
migrations and the notes in tools/schema_doc.py. Do not edit by hand: tests/test_views.py
fails when this file is stale. -->

The database is created and migrated by `pnet-pubmed db upgrade` (SQLite by default,
PostgreSQL with `--db postgresql://...`). Tables and views have the same names and columns on
both. Query it with your own tools or with `pnet-pubmed sql "SELECT ..."`, which opens a
read-only connection.

On SQLite, booleans are stored as 1/0, JSON lists as JSON text (use `json_each`), and
timestamps as ISO 8601 text in UTC. On PostgreSQL they are `boolean`, `jsonb` (use
`jsonb_array_elements_text`) and `timestamp with time zone`.

Start with the two views; the tables hold the full detail.
"""


def _migrated_objects(url: str = "sqlite://") -> tuple[list[str], dict[str, list[str]]]:
    """Table names and view columns of a database migrated to the newest revision."""
    store = Store(url)
    try:
        store.upgrade()
        inspector = sa.inspect(store.engine)
        tables = sorted(inspector.get_table_names())
        views = {
            v: [c["name"] for c in inspector.get_columns(v)]
            for v in sorted(inspector.get_view_names())
        }
        return tables, views
    finally:
        store.close()


def problems(url: str = "sqlite://") -> list[str]:
    """What the notes miss or no longer match, one line each; empty when all is documented."""
    tables, views = _migrated_objects(url)
    out = []
    expected = set(COLUMNS)
    for table in t.metadata.sorted_tables:
        if table.name not in TABLES:
            out.append(f"table {table.name} has no description in TABLES")
        out += [
            f"column {table.name}.{c.name} has no description in COLUMNS"
            for c in table.columns
            if f"{table.name}.{c.name}" not in COLUMNS
        ]
        expected -= {f"{table.name}.{c.name}" for c in table.columns}
    for view, columns in views.items():
        if view not in VIEWS:
            out.append(f"view {view} has no description in VIEWS")
        out += [
            f"column {view}.{c} has no description in COLUMNS"
            for c in columns
            if f"{view}.{c}" not in COLUMNS
        ]
        expected -= {f"{view}.{c}" for c in columns}
    out += [
        f"view {v} is described but the database has no such view"
        for v in sorted(set(VIEWS) - set(views))
    ]
    out += [f"COLUMNS describes {k}, which the schema does not have" for k in sorted(expected)]
    known = set(t.metadata.tables) | set(INTERNAL_TABLES)
    out += [
        f"table {name} (created by a migration) has no description in INTERNAL_TABLES"
        for name in tables
        if name not in known and not name.startswith(INTERNAL_PREFIXES)
    ]
    out += [
        f"table {name} is in metadata but not in the migrated database"
        for name in sorted(set(t.metadata.tables) - set(tables))
    ]
    return out


def _type(column: sa.Column) -> str:
    lite = column.type.compile(dialect=sqlite.dialect())
    pg = column.type.compile(dialect=postgresql.dialect())
    return lite if lite == pg else f"{lite} / {pg}"


def _notes(column: sa.Column) -> str:
    notes = []
    if column.primary_key:
        notes.append("PK")
    for fk in column.foreign_keys:
        notes.append(f"→ {fk.target_fullname}")
    if not column.nullable and not column.primary_key:
        notes.append("not null")
    if column.unique:
        notes.append("unique")
    return ", ".join(notes)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(url: str = "sqlite://") -> str:
    """The text of docs/schema.md; ValueError when a table, view or column is undocumented."""
    found = problems(url)
    if found:
        raise ValueError("schema notes out of date: " + "; ".join(found))
    _tables, views = _migrated_objects(url)
    out = [INTRO]
    out.append("## Views\n")
    for view in VIEWS:  # the order of the notes: most useful first
        columns = views[view]
        out.append(f"### {view}\n\n{VIEWS[view]}\n")
        out.append("| column | meaning |\n|---|---|")
        out += [f"| `{c}` | {_cell(COLUMNS[f'{view}.{c}'])} |" for c in columns]
        out.append("")
    out.append("## Tables\n")
    out.append(
        "Types read SQLite / PostgreSQL where they differ. PK: primary key; →: foreign key.\n"
    )
    for table in (t.metadata.tables[name] for name in TABLES):
        out.append(f"### {table.name}\n\n{TABLES[table.name]}\n")
        uniques = [
            ", ".join(c.name for c in con.columns)
            for con in table.constraints
            if isinstance(con, sa.UniqueConstraint) and len(con.columns) > 1
        ]
        pk = [c.name for c in table.primary_key.columns]
        if len(pk) > 1:
            out.append(f"Primary key: ({', '.join(pk)}).\n")
        for u in uniques:
            out.append(f"Unique: ({u}).\n")
        out.append("| column | type | keys | meaning |\n|---|---|---|---|")
        out += [
            f"| `{c.name}` | {_type(c)} | {_notes(c)} | "
            f"{_cell(COLUMNS[f'{table.name}.{c.name}'])} |"
            for c in table.columns
        ]
        out.append("")
    out.append("## Internal tables\n")
    out.append(
        "Created by the migrations for `pnet-pubmed search`; derived from the tables "
        "above and rebuilt when records are saved. Their layout may change.\n"
    )
    out += [f"- `{name}`: {text}" for name, text in INTERNAL_TABLES.items()]
    out.append(f"- `{INTERNAL_PREFIXES[0]}*`: SQLite only, FTS5's own storage for article_fts.")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file is stale instead of writing it"
    )
    parser.add_argument("--out", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    try:
        text = render()
    except ValueError as e:
        print(e, file=sys.stderr)
        return 1
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
