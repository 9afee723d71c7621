"""Writers for matched references with their PubMed records: BibTeX, RIS, CSL-JSON and CSV."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pnet_pubmed import csvout
from pnet_pubmed.flags import article_flags
from pnet_pubmed.util import one_line
from pnet_pubmed.values import Article, Author

from ..errors import InputError

FORMATS = ("bibtex", "ris", "csljson", "csv")
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
# MeSH names contain commas ("Carcinoma, Neuroendocrine"), so lists of them are joined with this.
LIST_SEPARATOR = "; "

CSV_COLUMNS = (
    "collection", "key", "pmid", "doi", "pmcid", "authors", "title", "journal",
    "journal_abbreviation", "year", "volume", "issue", "pages", "publication_types", "mesh",
    "major_mesh", "keywords", "abstract",
)


class ExportError(InputError):
    """An export that cannot be made as asked (unknown format or collection)."""


@dataclass(frozen=True)
class ExportRecord:
    """A matched reference and the PubMed record it is linked to."""

    collection: str
    key: str
    article: Article
    qualified: bool = False  # several collections: identifiers carry the collection name

    @property
    def ident(self) -> str:
        return f"{self.collection}:{self.key}" if self.qualified else self.key

    @property
    def note(self) -> str:
        """'Reference 12', and what PubMed says happened to the article since: 'RETRACTED: …'."""
        return ". ".join([f"Reference {self.ident}",
                          *(f.describe() for f in article_flags(self.article))])


def records(store, collection: str | None = None) -> list[ExportRecord]:
    """Every matched reference of a collection (all collections without one), in list order.

    A reference matched to a record that was never fetched keeps its citation's own fields.
    """
    if collection is not None and collection not in {c["name"] for c in store.collections()}:
        raise ExportError(f"no collection named {collection!r}")
    refs = store.references(collection, "matched")
    found = {a.pmid: a for a in store.articles([r["pmid"] for r in refs if r["pmid"]])}
    # Keys are unique within a collection: they name the collection only when there are several.
    several = len({r["collection"] for r in refs}) > 1
    out = []
    for r in refs:
        article = found.get(r["pmid"]) or _from_citation(r)
        out.append(ExportRecord(r["collection"], r["key"], article, qualified=several))
    return out


def _from_citation(r: dict) -> Article:
    authors = []
    for name in r.get("authors") or []:
        last, _, initials = str(name).rpartition(" ")
        authors.append(Author(last_name=last or initials, initials=initials if last else None))
    return Article(
        pmid=r["pmid"] or "", title=r.get("title") or r.get("raw") or "",
        journal_title=r.get("journal"), iso_abbreviation=r.get("journal"), year=r.get("year"),
        volume=r.get("volume"), issue=r.get("issue"), pages=r.get("pages"), doi=r.get("doi"),
        authors=tuple(authors),
    )


def export(store, fmt: str, collection: str | None = None) -> str:
    """The matched references of a collection in one of FORMATS, as text."""
    return write(records(store, collection), fmt)


def write(recs: Sequence[ExportRecord], fmt: str) -> str:
    """Records in one of FORMATS, as text."""
    writers = {"bibtex": to_bibtex, "ris": to_ris, "csljson": to_csljson, "csv": to_csv}
    if fmt not in writers:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return writers[fmt](recs)


# -- shared pieces -----------------------------------------------------------------------------


def _journal(a: Article) -> str | None:
    return a.iso_abbreviation or a.medline_ta or a.journal_title


def _pages(a: Article) -> tuple[str | None, str | None]:
    """First and last page, spelled out ("514", "523") where PubMed gives them."""
    if a.start_page:
        return a.start_page, a.end_page
    if a.pages:
        first, _, last = a.pages.partition("-")
        return first.strip() or None, last.strip() or None
    return None, None


def _page_range(a: Article, dash: str) -> str | None:
    first, last = _pages(a)
    if not first:
        return a.pages
    return f"{first}{dash}{last}" if last and last != first else first


def _title(a: Article) -> str:
    # PubMed ends every title with a period; a bibliography style adds its own.
    title = " ".join(a.title.split())
    return title[:-1] if title.endswith(".") and not title.endswith("..") else title


def _mesh(a: Article, major_only: bool = False) -> list[str]:
    return [h.descriptor for h in a.mesh if h.is_major_topic or not major_only]


def _author_name(au: Author) -> tuple[str | None, str | None, str | None]:
    """(family, given, literal) of an author; a collective name is a literal."""
    if au.collective_name:
        return None, None, au.collective_name
    return au.last_name, au.fore_name or au.initials, None


# -- BibTeX ------------------------------------------------------------------------------------

_LATEX_SPECIAL = {
    # BibTeX counts \{ as a brace when it balances a field: spell braces out instead.
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
    "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))
# A capital after the first letter: an acronym or mixed case a style must not lower-case
# ("RADIANT-3", "mTOR", "pNET"); "Everolimus" may be.
_PROTECT_RE = re.compile(r"^.+[A-Z]")
# What BibTeX and biber accept as a key unchanged (no space, comma, brace, quote, #, %, ~, \).
_BIBTEX_KEY = re.compile(r"[^\s,{}()=\"#%'\\~]+")


def _latex(text: str) -> str:
    """Text safe inside a BibTeX field: LaTeX specials escaped, UTF-8 kept as it is."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group()], " ".join(text.split()))


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _protect(text: str) -> str:
    return " ".join("{" + w + "}" if _PROTECT_RE.match(w) else w for w in text.split(" "))


def _bibtex_key(ident: str) -> str:
    if _BIBTEX_KEY.fullmatch(ident) and not ident.isdigit():
        return ident  # a key from the user's own .bib file: \cite{okamoto2020} keeps working
    key = re.sub(r"[^A-Za-z0-9_:.\-]+", "-", ident).strip("-") or "ref"
    # A numeric key is legal but easy to confuse with a page or year in \cite{...}.
    return f"ref{key}" if key[0].isdigit() else key


def to_bibtex(recs: Sequence[ExportRecord]) -> str:
    import bibtexparser
    from bibtexparser.model import Entry, Field

    library = bibtexparser.Library()
    seen: set[str] = set()
    for rec in recs:
        a = rec.article
        fields: list[tuple[str, str | None]] = []
        names = []
        for au in a.authors:
            family, given, literal = _author_name(au)
            if literal:
                names.append("{" + _latex(literal) + "}")  # braces: one name, not parsed
            elif family:
                names.append(_latex(family) + (f", {_latex(given)}" if given else ""))
        fields.append(("author", " and ".join(names) or None))
        fields.append(("title", _protect(_latex(_title(a))) if a.title else None))
        fields.append(("journal", _latex(j) if (j := _journal(a)) else None))
        fields.append(("year", str(a.year) if a.year else None))
        fields.append(("volume", _latex(a.volume) if a.volume else None))
        fields.append(("number", _latex(a.issue) if a.issue else None))
        fields.append(("pages", _latex(p) if (p := _page_range(a, "--")) else None))
        # doi and url are verbatim fields in biblatex: "\_" would break the link.
        fields.append(("doi", a.doi if a.doi and _balanced(a.doi) else None))
        fields.append(("pmid", a.pmid or None))
        fields.append(("pmcid", a.pmcid))
        fields.append(("issn", a.issn))
        fields.append(("url", PUBMED_URL.format(pmid=a.pmid) if a.pmid else None))
        fields.append(("abstract", _latex(a.abstract_text) if a.abstract else None))
        mesh = _mesh(a)
        fields.append(("keywords", _latex(LIST_SEPARATOR.join(mesh)) if mesh else None))
        fields.append(("note", _latex(rec.note)))
        key = _bibtex_key(rec.ident)
        while key in seen:
            key += "x"
        seen.add(key)
        entry_type = "book" if a.is_book else "article"
        library.add(Entry(entry_type, key, [Field(k, v) for k, v in fields if v]))
    return bibtexparser.write_string(library)


# -- RIS ---------------------------------------------------------------------------------------


def to_ris(recs: Sequence[ExportRecord]) -> str:
    import rispy

    class _Writer(rispy.RisWriter):
        # rispy numbers each record ("1."), which RIS does not define and some readers choke on.
        def set_header(self, count):
            return ""

    entries = []
    for rec in recs:
        a = rec.article
        first, last = _pages(a)
        authors = []
        for au in a.authors:
            family, given, literal = _author_name(au)
            if literal:
                authors.append(literal)
            elif family:
                authors.append(f"{family}, {given}" if given else family)
        entry = {
            "type_of_reference": "BOOK" if a.is_book else "JOUR",
            "id": rec.ident,
            "authors": authors,
            "title": _title(a),
            "secondary_title": a.journal_title,  # T2: full journal title
            "alternate_title1": _journal(a),  # J2: abbreviation
            "year": str(a.year) if a.year else None,
            "volume": a.volume,
            "number": a.issue,
            "start_page": first,
            "end_page": last,
            "doi": a.doi,
            "accession_number": a.pmid or None,  # AN: EndNote and Zotero read a PMID here
            "custom2": a.pmcid,  # C2: EndNote's PMCID field
            "issn": a.issn,
            "abstract": one_line(a.abstract_text, None) if a.abstract_text else None,
            "keywords": _mesh(a),
            "language": a.languages[0] if a.languages else None,
            "name_of_database": "PubMed" if a.pmid else None,
            "urls": [PUBMED_URL.format(pmid=a.pmid)] if a.pmid else [],
            "notes": [rec.note],
        }
        entries.append({k: v for k, v in entry.items() if v})
    return rispy.dumps(entries, implementation=_Writer)


# -- CSL-JSON ----------------------------------------------------------------------------------


def to_csljson(recs: Sequence[ExportRecord]) -> str:
    items = []
    for rec in recs:
        a = rec.article
        authors = []
        for au in a.authors:
            family, given, literal = _author_name(au)
            if literal:
                authors.append({"literal": literal})
            elif family:
                authors.append({"family": family, **({"given": given} if given else {})})
        item = {
            "id": rec.ident,
            "type": "book" if a.is_book else "article-journal",
            "title": _title(a),
            "author": authors,
            "container-title": a.journal_title,
            "container-title-short": _journal(a),
            "issued": {"date-parts": [[a.year]]} if a.year else None,
            "volume": a.volume,
            "issue": a.issue,
            "page": _page_range(a, "-"),
            "DOI": a.doi,
            "PMID": a.pmid or None,
            "PMCID": a.pmcid,
            "ISSN": a.issn,
            "URL": PUBMED_URL.format(pmid=a.pmid) if a.pmid else None,
            "abstract": a.abstract_text or None,
            "keyword": LIST_SEPARATOR.join(_mesh(a)) or None,
            "language": a.languages[0] if a.languages else None,
            "note": rec.note,
        }
        items.append({k: v for k, v in item.items() if v})
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


# -- CSV ---------------------------------------------------------------------------------------


def to_csv(recs: Sequence[ExportRecord]) -> str:
    """One line per record, through the one CSV writer (formula cells neutralised)."""
    rows = []
    for rec in recs:
        a = rec.article
        rows.append({
            "collection": rec.collection,
            "key": rec.key,
            "pmid": a.pmid,
            "doi": a.doi,
            "pmcid": a.pmcid,
            "authors": LIST_SEPARATOR.join(au.display for au in a.authors),
            "title": a.title,
            "journal": a.journal_title,
            "journal_abbreviation": _journal(a),
            "year": a.year,
            "volume": a.volume,
            "issue": a.issue,
            "pages": a.pages,
            "publication_types": LIST_SEPARATOR.join(p.name for p in a.publication_types),
            "mesh": LIST_SEPARATOR.join(_mesh(a)),
            "major_mesh": LIST_SEPARATOR.join(_mesh(a, major_only=True)),
            "keywords": LIST_SEPARATOR.join(k.text for k in a.keywords),
            "abstract": a.abstract_text,
        })
    return csvout.write_dicts(CSV_COLUMNS, rows)
