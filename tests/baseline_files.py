"""NLM baseline and update files for tests and benchmarks, written from records we have.

No machine here reaches NLM, so the mirror is tested on files in NLM's format (EFetch's
PubmedArticleSet, with a DeleteCitation list in update files, gzipped, with an .md5 file that
reads "MD5(name)= hex") written from two sources:

- corpus_records(): the verbatim XML of every record of tests/fixtures/corpus, in the order
  and with the first-PMID-wins rule of the stand-in E-utilities server, so that a mirror of
  them holds exactly the records the stand-in serves;
- article_xml(): any Article written as a PubmedArticle, e.g. the generated articles of
  benchmarks/make_articles.py, optionally with a ReferenceList of a given length so that files
  have the record sizes of real baseline files.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from pnet_pubmed.values import Article
from tests.eutils_standin.corpus import default_corpus_files

HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD '
    b'PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
)
TAIL = b"</PubmedArticleSet>\n"
_RECORD = re.compile(rb"<(PubmedArticle|PubmedBookArticle)>.*?</\1>", re.S)
_PMID = re.compile(rb"<PMID[^>]*>(\d+)</PMID>")
_DATE_REVISED = re.compile(rb"<DateRevised>.*?</DateRevised>", re.S)
_TITLE = re.compile(rb"<ArticleTitle>.*?</ArticleTitle>", re.S)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- records ------------------------------------------------------------------------------------


def corpus_records() -> list[tuple[str, bytes]]:
    """(PMID, XML) of every corpus record as the stand-in serves them: first file wins."""
    out: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for path in default_corpus_files():
        for m in _RECORD.finditer(path.read_bytes()):
            pmid = _PMID.search(m[0])[1].decode()
            if pmid not in seen:
                seen.add(pmid)
                out.append((pmid, m[0]))
    return out


def pmid_of(record: bytes) -> str:
    return _PMID.search(record)[1].decode()


def with_pmid(record: bytes, pmid: str) -> bytes:
    """The record under another PMID (its own and its ArticleId of type pubmed)."""
    old = _PMID.search(record)[1]
    new = pmid.encode()
    record = record.replace(b">" + old + b"</PMID>", b">" + new + b"</PMID>", 1)
    return record.replace(b'"pubmed">' + old + b"<", b'"pubmed">' + new + b"<")


def with_revision(record: bytes, date_revised: str, title: str | None = None) -> bytes:
    """A revised version: another DateRevised ("YYYY-MM-DD"), and a new title if given."""
    y, m, d = date_revised.split("-")
    date = f"<DateRevised><Year>{y}</Year><Month>{m}</Month><Day>{d}</Day></DateRevised>"
    if _DATE_REVISED.search(record):
        record = _DATE_REVISED.sub(date.encode(), record, count=1)
    else:
        record = re.sub(rb"(<PMID[^>]*>\d+</PMID>)", lambda x: x[1] + date.encode(), record,
                        count=1)
    if title is not None:
        record = _TITLE.sub(f"<ArticleTitle>{escape(title)}</ArticleTitle>".encode(), record,
                            count=1)
    return record


def _el(tag: str, text: str | None, **attrs: str | None) -> str:
    if text is None:
        return ""
    attr = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items() if v is not None)
    return f"<{tag}{attr}>{escape(text)}</{tag}>"


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _pub_date(article: Article) -> str:
    printed = (article.pub_date or (str(article.year) if article.year else "")).split()
    if not printed:
        return "<PubDate><MedlineDate>n.d.</MedlineDate></PubDate>"
    if len(printed) <= 3 and printed[0].isdigit() and len(printed[0]) == 4 and (
            len(printed) == 1 or printed[1] in _MONTHS):
        parts = [_el("Year", printed[0])]
        if len(printed) > 1:
            parts.append(_el("Month", printed[1]))
        if len(printed) > 2:
            parts.append(_el("Day", printed[2]))
        return "<PubDate>" + "".join(parts) + "</PubDate>"
    if len(printed) == 2 and printed[0].isdigit():
        return f"<PubDate>{_el('Year', printed[0])}{_el('Season', printed[1])}</PubDate>"
    return f"<PubDate>{_el('MedlineDate', ' '.join(printed))}</PubDate>"


def _reference_list(rng: random.Random, n: int) -> str:
    if n <= 0:
        return ""
    refs = []
    for _ in range(n):
        surname = rng.choice(("Smith", "Wang", "Müller", "Garcia", "Kim", "Rossi", "Öberg"))
        journal = rng.choice(("J Clin Oncol", "N Engl J Med", "Lancet Oncol", "Ann Oncol",
                              "Endocr Relat Cancer", "Neuroendocrinology"))
        pmid = rng.randint(1_000_000, 39_000_000)
        refs.append(
            f"<Reference><Citation>{surname} A, Other B, Third C, et al. A study of "
            f"{rng.randint(10, 900)} patients treated for neuroendocrine tumours. {journal}. "
            f"{rng.randint(1990, 2024)};{rng.randint(1, 99)}({rng.randint(1, 12)}):"
            f"{rng.randint(1, 999)}-{rng.randint(1, 99)}.</Citation><ArticleIdList>"
            f'<ArticleId IdType="pubmed">{pmid}</ArticleId></ArticleIdList></Reference>')
    return "<ReferenceList>" + "".join(refs) + "</ReferenceList>"


def article_xml(article: Article, date_revised: str | None = None, references: int = 0,
                rng: random.Random | None = None) -> bytes:
    """The Article as NLM writes a PubmedArticle; the lxml reader reads back an equal Article.

    date_revised ("YYYY-MM-DD") replaces the Article's own; with neither there is none."""
    if article.is_book:
        raise ValueError("books are not written by article_xml")
    date_revised = date_revised or article.date_revised
    revised = ""
    if date_revised:
        parts = date_revised.split("-")
        revised = "<DateRevised>" + "".join(
            f"<{tag}>{value}</{tag}>" for tag, value in zip(("Year", "Month", "Day"), parts,
                                                           strict=False)) + "</DateRevised>"
    journal = [_el("ISSN", article.issn, IssnType="Print"),
               "<JournalIssue CitedMedium=\"Internet\">", _el("Volume", article.volume),
               _el("Issue", article.issue), _pub_date(article), "</JournalIssue>",
               _el("Title", article.journal_title),
               _el("ISOAbbreviation", article.iso_abbreviation)]
    pagination = ""
    if article.pages or article.start_page:
        pagination = ("<Pagination>" + _el("StartPage", article.start_page)
                      + _el("EndPage", article.end_page) + _el("MedlinePgn", article.pages)
                      + "</Pagination>")
    elocation = _el("ELocationID", article.elocation,
                    EIdType="doi" if (article.elocation or "").startswith("10.") else "pii",
                    ValidYN="Y")
    abstract = ""
    if article.abstract:
        abstract = "<Abstract>" + "".join(
            _el("AbstractText", s.text, Label=s.label, NlmCategory=s.nlm_category)
            for s in article.abstract) + "</Abstract>"
    authors = []
    for a in article.authors:
        parts = [_el("LastName", a.last_name), _el("ForeName", a.fore_name),
                 _el("Initials", a.initials), _el("CollectiveName", a.collective_name),
                 _el("Identifier", a.orcid, Source="ORCID")]
        parts += [f"<AffiliationInfo>{_el('Affiliation', x)}</AffiliationInfo>"
                  for x in a.affiliations]
        authors.append('<Author ValidYN="Y">' + "".join(parts) + "</Author>")
    author_list = f'<AuthorList CompleteYN="Y">{"".join(authors)}</AuthorList>' if authors else ""
    languages = "".join(_el("Language", x) for x in article.languages)
    types = "".join(_el("PublicationType", p.name, UI=p.ui) for p in article.publication_types)
    info = ("<MedlineJournalInfo><Country>United States</Country>"
            + _el("MedlineTA", article.medline_ta) + _el("NlmUniqueID", article.nlm_unique_id)
            + _el("ISSNLinking", article.issn_linking) + "</MedlineJournalInfo>")
    chemicals = ""
    if article.chemicals:
        chemicals = "<ChemicalList>" + "".join(
            "<Chemical>" + _el("RegistryNumber", c.registry_number or "0")
            + _el("NameOfSubstance", c.name, UI=c.ui) + "</Chemical>"
            for c in article.chemicals) + "</ChemicalList>"
    comments = ""
    if article.comments_corrections:
        comments = "<CommentsCorrectionsList>" + "".join(
            f"<CommentsCorrections RefType={quoteattr(c.ref_type)}>"
            + _el("RefSource", c.source) + _el("PMID", c.pmid, Version="1")
            + "</CommentsCorrections>" for c in article.comments_corrections
        ) + "</CommentsCorrectionsList>"
    mesh = ""
    if article.mesh:
        mesh = "<MeshHeadingList>" + "".join(
            "<MeshHeading>" + _el("DescriptorName", h.descriptor, UI=h.ui,
                                  MajorTopicYN=_yn(h.major))
            + "".join(_el("QualifierName", q.name, UI=q.ui, MajorTopicYN=_yn(q.major))
                      for q in h.qualifiers) + "</MeshHeading>"
            for h in article.mesh) + "</MeshHeadingList>"
    keywords = ""
    if article.keywords:
        keywords = '<KeywordList Owner="NOTNLM">' + "".join(
            _el("Keyword", k.text, MajorTopicYN=_yn(k.major)) for k in article.keywords
        ) + "</KeywordList>"
    year = article.year or 2000
    history = ("<History>" + "".join(
        f'<PubMedPubDate PubStatus="{status}"><Year>{year}</Year><Month>{month}</Month>'
        f"<Day>{day}</Day><Hour>{hour}</Hour><Minute>0</Minute></PubMedPubDate>"
        for status, month, day, hour in (("received", 1, 10, 0), ("accepted", 3, 2, 0),
                                         ("pubmed", 4, 1, 6), ("medline", 4, 1, 6),
                                         ("entrez", 4, 1, 6))) + "</History>")
    ids = [_el("ArticleId", article.pmid, IdType="pubmed"),
           _el("ArticleId", article.doi, IdType="doi"),
           _el("ArticleId", article.pmcid, IdType="pmc")]
    status = quoteattr(article.status or "MEDLINE")
    text = (
        f'<PubmedArticle><MedlineCitation Status={status} Owner="NLM">'
        f'<PMID Version="1">{article.pmid}</PMID>'
        f"{revised}"
        f'<Article PubModel="Print-Electronic"><Journal>{"".join(journal)}</Journal>'
        f"{_el('ArticleTitle', article.title)}{pagination}{elocation}{abstract}{author_list}"
        f"{languages}<PublicationTypeList>{types}</PublicationTypeList></Article>"
        f"{info}{chemicals}{comments}{mesh}{keywords}</MedlineCitation>"
        f"<PubmedData>{history}{_el('PublicationStatus', article.publication_status)}"
        f"<ArticleIdList>{''.join(ids)}</ArticleIdList>"
        f"{_reference_list(rng or random.Random(int(article.pmid)), references)}"
        "</PubmedData></PubmedArticle>"
    )
    return text.encode("utf-8")


# -- files --------------------------------------------------------------------------------------


def md5_line(path: Path) -> str:
    """What NLM's .md5 file beside a file says."""
    return f"MD5({path.name})= {hashlib.md5(path.read_bytes()).hexdigest()}\n"


def write_file(path: Path, records: Iterable[bytes], deletions: Iterable[str] = (), *,
               md5: bool = True, level: int = 6) -> Path:
    """A baseline or update file: gzipped when the name ends in .gz, with an .md5 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    kwargs = {"compresslevel": level} if path.name.endswith(".gz") else {}
    with opener(path, "wb", **kwargs) as f:
        f.write(HEAD)
        for record in records:
            f.write(record + b"\n")
        deleted = [f'<PMID Version="1">{p}</PMID>' for p in deletions]
        if deleted:
            f.write(b"<DeleteCitation>" + "".join(deleted).encode() + b"</DeleteCitation>\n")
        f.write(TAIL)
    if md5:
        path.with_name(path.name + ".md5").write_text(md5_line(path))
    return path


def truncate(path: Path, keep: float = 0.6) -> Path:
    """Cut the file (and keep its .md5 stale-free: the .md5 is removed) as a broken download."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    path.with_name(path.name + ".md5").unlink(missing_ok=True)
    return path
