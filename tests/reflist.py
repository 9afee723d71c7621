"""Reference lists written from real PubMed records in every style authors use, with the truth."""

from __future__ import annotations

import functools
import json
import random
import re
import textwrap
import unicodedata
from pathlib import Path

from pnet_pubmed.pubmed import parse_articles
from pnet_pubmed.values import Article, Author

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
TEXT_STYLES = ("vancouver", "ama", "apa", "harvard")
STRUCTURED_STYLES = ("bibtex", "ris", "csl-json")
STYLES = TEXT_STYLES + STRUCTURED_STYLES
# What a parser should read from each reference (the truth dicts of style_list carry these).
FIELDS = ("kind", "first_author", "year", "title", "journal", "volume", "issue", "first_page",
          "doi", "pmid")


def real_records() -> list[Article]:
    """Every journal article of the verbatim NCBI files (books are not cited this way)."""
    return list(_real_records())


@functools.lru_cache(maxsize=1)
def _real_records() -> tuple[Article, ...]:
    # Parsing the 222 files validates each against its DTD (seconds): once per process.
    seen: dict[str, Article] = {}
    for path in sorted((CORPUS / "ncbi-efetch").glob("*.xml")):
        for article in parse_articles(path.read_bytes()):
            if not article.is_book:
                seen.setdefault(article.pmid, article)
    return tuple(seen.values())


# -- pieces of a reference -----------------------------------------------------------------------
# Letters NFKD does not decompose, as people type them on an English keyboard.
_ASCII_EXTRA = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "ł": "l", "Ł": "L", "ı": "i",
                              "đ": "d", "æ": "ae", "œ": "oe"})


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_EXTRA))
    return "".join(c for c in text if not unicodedata.combining(c))


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


def _full_pages(pages: str) -> str:
    """"739-48" -> "739-748" and "67-8, 73" -> "67-68, 73": MEDLINE's short ranges spelt out."""
    def expand(m: re.Match[str]) -> str:
        prefix, start, prefix2, end = m.groups()
        if len(end) < len(start) and not prefix2:
            end = start[: len(start) - len(end)] + end
        return f"{prefix}{start}-{prefix2 or prefix}{end}"
    return re.sub(r"\b([A-Za-z]*)(\d+)-([A-Za-z]*)(\d+)\b", expand, pages)


def _page_text(article: Article) -> str | None:
    """Pages as MEDLINE gives them, or the e-locator ("e1666", "ooae099") when there are none."""
    if article.pages:
        return article.pages
    if article.elocation and not article.elocation.startswith("10."):
        return article.elocation
    return None


def citable(article: Article) -> bool:
    """Enough to cite: authors, title, journal, year, and a volume with pages or a DOI."""
    return bool(article.authors and article.title and article.year
                and (article.iso_abbreviation or article.medline_ta)
                and ((article.volume and _page_text(article)) or article.doi))


_SUPPLEMENT = re.compile(r"^(?:suppl(?:ement)?\.?\s*(\w*)|sup(\d+)|S(\d+))$", re.I)
_MERGED_SUPPLEMENT = re.compile(r"^(\d+)\s*(Suppl(?:ement)?\.?\s*\w*)$", re.I)


def _volume_issue(article: Article) -> tuple[str | None, str | None, str | None]:
    """(volume number, issue, supplement number or "") with "38Suppl 2"/"82 Suppl 3" taken apart.

    The supplement is None for a plain issue.
    """
    volume, issue = article.volume, article.issue
    supplement = None
    m = _MERGED_SUPPLEMENT.match(volume or "")
    if m:
        volume = m.group(1)
        supplement = re.sub(r"(?i)^suppl(?:ement)?\.?\s*", "", m.group(2))
        issue = None if issue and _SUPPLEMENT.match(issue) else issue
    elif issue and _SUPPLEMENT.match(issue):
        s = _SUPPLEMENT.match(issue)
        supplement = s.group(1) or s.group(2) or s.group(3) or ""
        issue = None
    return volume, issue, supplement


def _pick_supplement(supplement: str, rng: random.Random, dotted: bool) -> str:
    """"Suppl 2", "Suppl. 2", "S2", "Suppl": how lists spell a supplement issue."""
    forms = [f"Suppl {supplement}".strip(), f"Suppl. {supplement}".strip() if dotted else None,
             f"S{supplement}" if supplement else None]
    return rng.choice([f for f in forms if f])


def _title(article: Article, rng: random.Random, brackets: float = 0.5) -> str:
    """The record's title; translated titles keep or lose their "[...]" as writers do."""
    title = article.title.strip()
    if title.startswith("[") and title.endswith(("].", "]")) and rng.random() >= brackets:
        title = title[1:].rstrip(".")[:-1] + "."
    return title


def _ends_sentence(title: str) -> str:
    return title if title.endswith((".", "?", "!")) else title + "."


def _bare(title: str) -> str:
    return title[:-1] if title.endswith(".") else title


_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "de", "for", "from", "in", "into", "of", "on",
                "or", "the", "to", "with", "und", "et", "la", "le", "der", "die", "di", "da",
                "do", "du", "des", "en", "y", "e", "&"}


def _title_case(text: str) -> str:
    """'The New England journal of medicine' -> 'The New England Journal of Medicine'."""
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        sentence_start = i == 0 or out[-1].endswith((".", ":"))
        if any(c.isupper() for c in word[1:]) or not word[:1].isalpha():
            out.append(word)  # "JAMIA", "mSystems", "(Oxford,": as printed
        elif word.lower() in _SMALL_WORDS and not sentence_start:
            out.append(word.lower())
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in word.split("-")))
    return " ".join(out)


def _journal_name(article: Article) -> str:
    """The full journal title as a writer prints it: title case, no NLM place or subtitle."""
    title = article.journal_title or article.iso_abbreviation or article.medline_ta or ""
    title = re.sub(r"\s*\([^()]*\)", "", title)
    for sep in (" : ", " = ", "; "):
        title = title.split(sep)[0]
    return _title_case(title.strip())


def _dotted_abbreviation(article: Article) -> str:
    """'N Engl J Med' -> 'N. Engl. J. Med.': a period after every word the full title spells out."""
    abbreviation = article.iso_abbreviation or article.medline_ta or ""
    full = {w.casefold() for w in re.findall(r"[^\W\d_]+", article.journal_title or "")}
    out = []
    for word in abbreviation.split(" "):
        if word[:1].isalpha() and word.isalpha() and word.casefold() not in full:
            word += "."
        out.append(word)
    return " ".join(out)


def _abbreviation(article: Article, rng: random.Random, dotted: float = 0.0) -> str:
    if rng.random() < dotted:
        return _dotted_abbreviation(article)
    journal = article.iso_abbreviation or article.medline_ta or ""
    return journal.replace(".", "") if rng.random() < 0.3 else journal


def _persons_and_groups(article: Article) -> tuple[list[Author], list[str]]:
    persons = [a for a in article.authors if not a.collective_name]
    groups = [a.collective_name for a in article.authors if a.collective_name]
    return persons, groups


def _first_author(article: Article, plain: bool) -> str:
    first = article.authors[0]
    name = first.collective_name or first.last_name or ""
    return _ascii(name) if plain else name


def _initials(author: Author, dotted: bool, spaced: bool) -> str:
    """'J. C.' / 'J.C.' / 'JC' from the fore name ("Jean-Luc" gives "J.-L.") or the initials."""
    if author.fore_name and dotted:
        parts = []
        for word in author.fore_name.replace(".", " ").split():
            parts.append("-".join(f"{p[0]}." for p in word.split("-") if p))
        return (" " if spaced else "").join(parts)
    letters = author.initials or ""
    if dotted:
        return (" " if spaced else "").join(f"{c}." for c in letters)
    return letters


def _doi_text(doi: str, rng: random.Random, forms: tuple[str, ...]) -> str:
    form = rng.choice(forms)
    return {"doi: ": f"doi: {doi}", "doi:": f"doi:{doi}", "DOI: ": f"DOI: {doi}",
            "url": f"https://doi.org/{doi}", "dx": f"http://dx.doi.org/{doi}"}[form]


class _Ref:
    """The printed values of one reference, shared by the writers and the truth they report."""

    def __init__(self, article: Article, rng: random.Random):
        self.article = article
        self.rng = rng
        self.plain = rng.random() < 0.4  # diacritics dropped, as typed by hand
        self.given = rng.random()  # how a structured export spells given names
        self.volume, self.issue, self.supplement = _volume_issue(article)
        self.pages = _page_text(article) if article.volume else None
        self.truth = {
            "record": article.pmid, "kind": "article",
            "first_author": _first_author(article, self.plain), "year": article.year,
            "title": None, "journal": article.medline_ta or article.iso_abbreviation,
            "journal_printed": [], "volume": None, "issue": None, "first_page": None,
            "doi": None, "pmid": None,
        }

    def name(self, text: str) -> str:
        return _ascii(text) if self.plain else text

    def printed(self, **fields) -> None:
        for key, value in fields.items():
            if key == "journal":
                self.truth["journal_printed"].append(value)
            elif key == "pages":
                first = re.split(r"\s*[-\u2013,]\s*", value)[0] if value else None
                self.truth["first_page"] = first
            else:
                self.truth[key] = value


# -- text styles ---------------------------------------------------------------------------------
def _vancouver_names(ref: _Ref, limit: int | None, et_al: str, group_after: float) -> str:
    persons, groups = _persons_and_groups(ref.article)
    names = [ref.name(f"{a.last_name} {a.initials or ''}".strip()) for a in persons]
    if not persons:
        return ref.name("; ".join(groups))
    shown = names if limit is None or len(names) <= limit else names[:limit]
    text = ", ".join(shown) + (et_al if len(shown) < len(names) else "")
    if groups and ref.rng.random() < group_after:
        text += "; " + ref.name("; ".join(groups))
    return text


def _vancouver_source(ref: _Ref, *, month: float, issue_kept: float, short: float) -> str:
    """'2011 Feb 10;364(6):514-23' and its variations; sets the truth of what it prints."""
    a, rng = ref.article, ref.rng
    date = a.pub_date if a.pub_date and rng.random() < month else str(a.year)
    if not re.match(r"\d{4}", date):
        date = str(a.year)
    ref.printed(year=int(date[:4]))
    if not ref.volume:
        return date
    text = f"{date};{ref.volume}"
    ref.printed(volume=ref.volume)
    if ref.supplement is not None:
        supplement = _pick_supplement(ref.supplement, rng, dotted=False)
        verbatim = a.volume != ref.volume and rng.random() < 0.5
        if verbatim:  # PubMed's own "38Suppl 2(Suppl 2)": the supplement fused to the volume
            text = f"{date};{a.volume}({a.issue or supplement})"
            supplement = a.issue or supplement
        elif rng.random() < 0.5:
            text += f" {supplement}"
        else:
            text += f"({supplement})"
        ref.printed(issue=supplement)
    elif ref.issue and rng.random() < issue_kept:
        text += f"({ref.issue})"
        ref.printed(issue=ref.issue)
    if ref.pages:
        pages = _short_pages(ref.pages) if rng.random() < short else _full_pages(ref.pages)
        text += f":{pages}"
        ref.printed(pages=pages)
    return text


def _tail_ids(ref: _Ref, doi_p: float, pmid_p: float, doi_forms: tuple[str, ...]) -> str:
    a, rng = ref.article, ref.rng
    parts = []
    if a.doi and (rng.random() < doi_p or not ref.pages):
        parts.append(_doi_text(a.doi, rng, doi_forms) + ".")
        ref.printed(doi=a.doi)
    if rng.random() < pmid_p:
        pmid = f"PMID: {a.pmid}"
        if a.pmcid and rng.random() < 0.5:
            pmid += f"; PMCID: {a.pmcid}"
        parts.append(pmid + ".")
        ref.printed(pmid=a.pmid)
    return " ".join(parts)


def vancouver(article: Article, rng: random.Random) -> str:
    """One reference in Vancouver (NLM) style, with the variations real lists have."""
    return _vancouver(_Ref(article, rng))


def _vancouver(ref: _Ref) -> str:
    a, rng = ref.article, ref.rng
    et_al = rng.choice([", et al", ", et al.", " et al"])
    authors = _vancouver_names(ref, rng.choice([3, 6, 6, None]), et_al, 0.6)
    title = _ends_sentence(_title(a, rng))
    ref.printed(title=_bare(title))
    journal = _abbreviation(a, rng, dotted=0.1)
    ref.printed(journal=journal)
    source = _vancouver_source(ref, month=0.3, issue_kept=0.75, short=0.7)
    epub = ""
    if a.publication_status == "epublish" and a.pub_date and rng.random() < 0.15:
        epub = f" Epub {a.pub_date}."
    ids = _tail_ids(ref, 0.3, 0.12, ("doi: ", "doi:", "url"))
    journal_sep = " " if journal.endswith(".") else ". "
    style = rng.random()
    if style < 0.1:  # older Vancouver: "Cancer 2003; 97: 934-959." (no period, spaced)
        journal_sep = " "
        source = re.sub(r"([;:])", r"\1 ", source)
    elif style < 0.15:  # a word processor's en dashes
        source = source.replace("-", "\u2013")
    authors += "" if authors.endswith(".") else "."
    text = f"{authors} {title} {journal}{journal_sep}{source}.{epub}"
    return f"{text} {ids}".strip()


def _ama(ref: _Ref) -> str:
    a, rng = ref.article, ref.rng
    # AMA: up to 6 authors; more than 6: the first 3 and "et al".
    persons, _ = _persons_and_groups(a)
    limit = 6 if len(persons) <= 6 else 3
    authors = _vancouver_names(ref, limit, ", et al", 0.8)
    title = _ends_sentence(_title(a, rng, brackets=0.3))
    ref.printed(title=_bare(title))
    journal = (a.iso_abbreviation or a.medline_ta or "").replace(".", "")
    ref.printed(journal=journal)
    source = _vancouver_source(ref, month=0.0, issue_kept=0.85, short=0.0)
    ids = _tail_ids(ref, 0.6, 0.05, ("doi:",))
    authors += "" if authors.endswith(".") else "."
    text = f"{authors} {title} {journal}. {source}."
    return f"{text} {ids}".strip().rstrip(".") if ids else text


def _apa_names(ref: _Ref, harvard: bool) -> str:
    a, rng = ref.article, ref.rng
    dotted_spaced = not harvard
    names = []
    for author in a.authors:
        if author.collective_name:
            names.append(ref.name(author.collective_name))
            continue
        initials = _initials(author, dotted=True, spaced=dotted_spaced)
        last = ref.name(author.last_name or "")
        names.append(f"{last}, {ref.name(initials)}" if initials else last)
    if harvard:
        if len(names) >= 4 and rng.random() < 0.6:
            return f"{names[0]} et al."
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    style = rng.random()
    if style < 0.1 and len(names) > 3:
        return f"{names[0]}, et al."  # the informal form some writers use
    limit, keep = (20, 19) if style < 0.8 else (7, 6)  # APA 7, or APA 6's "six, ..., last"
    if len(names) > limit:
        return ", ".join(names[:keep]) + ", . . . " + names[-1]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _apa_numbers(ref: _Ref, dotted_supplement: bool) -> str:
    """'364(6), 514–523' / '7(3), Article ooae099' / '82(Suppl. 3), 67–70', truth included."""
    rng = ref.rng
    if not ref.volume:
        return ""
    text = ref.volume
    ref.printed(volume=ref.volume)
    if ref.supplement is not None:
        supplement = _pick_supplement(ref.supplement, rng, dotted=dotted_supplement)
        text += f"({supplement})"
        ref.printed(issue=supplement)
    elif ref.issue and rng.random() < 0.9:
        text += f"({ref.issue})"
        ref.printed(issue=ref.issue)
    if ref.pages:
        pages = _full_pages(ref.pages).replace("-", "\u2013")
        if re.fullmatch(r"[A-Za-z]*\d+[A-Za-z\d]*", pages) and rng.random() < 0.5:
            text += f", Article {pages}"
        else:
            text += f", {pages}"
        ref.printed(pages=pages)
    return text


def _apa(ref: _Ref) -> str:
    a, rng = ref.article, ref.rng
    authors = _apa_names(ref, harvard=False)
    if not authors.endswith("."):
        authors += "."
    title = _ends_sentence(_title(a, rng, brackets=0.7))
    ref.printed(title=_bare(title), year=a.year)
    journal = _journal_name(a)
    ref.printed(journal=journal)
    numbers = _apa_numbers(ref, dotted_supplement=True)
    text = f"{authors} ({a.year}). {title} {journal}" + (f", {numbers}." if numbers else ".")
    if a.doi and (rng.random() < 0.85 or not ref.pages):
        text += " " + _doi_text(a.doi, rng, ("url", "url", "url", "dx", "doi:"))
        ref.printed(doi=a.doi)
    return text


def _harvard(ref: _Ref) -> str:
    a, rng = ref.article, ref.rng
    authors = _apa_names(ref, harvard=True)
    title = _title(a, rng, brackets=0.5)
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1]
    ref.printed(title=title, year=a.year)
    open_q, close_q = rng.choice([("\u2018", "\u2019"), ("'", "'"), ("\u201c", "\u201d"),
                                  ("", ". ")])  # the last: an italic-journal variant, no quotes
    journal = _dotted_abbreviation(a) if rng.random() < 0.15 else _journal_name(a)
    ref.printed(journal=journal)
    numbers = ""
    labelled = rng.random() < 0.15  # "vol. 364, no. 6, pp. 514-523"
    if ref.volume:
        numbers = f"vol. {ref.volume}" if labelled else ref.volume
        ref.printed(volume=ref.volume)
        if ref.supplement is not None:
            supplement = _pick_supplement(ref.supplement, rng, dotted=True)
            numbers += f"({supplement})"
            ref.printed(issue=supplement)
        elif ref.issue and rng.random() < 0.85:
            numbers += f", no. {ref.issue}" if labelled else f"({ref.issue})"
            ref.printed(issue=ref.issue)
        if ref.pages:
            pages = _full_pages(ref.pages).replace("-", "\u2013")
            single = not re.search(r"[-\u2013,]", pages)
            prefix = ("p. " if single else "pp. ") if re.match(r"\d", pages) else ""
            numbers += f", {prefix}{pages}"
            ref.printed(pages=pages)
    if close_q == ". ":
        text = f"{authors} ({a.year}) {_ends_sentence(title)} {journal}"
    else:
        text = f"{authors} ({a.year}) {open_q}{title}{close_q}, {journal}"
    text += f", {numbers}." if numbers else "."
    if a.doi and (rng.random() < 0.6 or not ref.pages):
        if rng.random() < 0.5:
            text += f" doi: {a.doi}."
        else:
            text += f" Available at: https://doi.org/{a.doi}"
            if rng.random() < 0.5:
                text += f" (Accessed: {rng.randint(1, 28)} March 2025)"
            text += "."
        ref.printed(doi=a.doi)
    return text


_TEXT_WRITERS = {"vancouver": _vancouver, "ama": _ama, "apa": _apa, "harvard": _harvard}


def _wrap(text: str, rng: random.Random) -> str:
    """A reference broken over lines, as copied from a PDF (hanging indent or none)."""
    width = rng.randint(35, 95)
    indent = rng.choice(["", "", "   ", "\t"])
    # PDF text breaks URLs and DOIs anywhere ("htt" + "ps://doi.org/10.11" + "17/…")
    return textwrap.fill(text, width=width, subsequent_indent=indent,
                         break_long_words=rng.random() < 0.5)


def _text_list(chosen: list[Article], style: str, rng: random.Random) -> tuple[str, list[dict]]:
    refs = [_Ref(a, rng) for a in chosen]
    entries = [_TEXT_WRITERS[style](ref) for ref in refs]
    if style in ("apa", "harvard"):  # author-date lists run in alphabetical order, unnumbered
        order = sorted(range(len(refs)), key=lambda i: _ascii(entries[i]).casefold())
        refs, entries = [refs[i] for i in order], [entries[i] for i in order]
        numbering = rng.choice(["", "", "", "bullet"])
    else:
        numbering = rng.choice(["1.", "1.", "1)", "[1]", "1", ""]) if style == "vancouver" else (
            rng.choice(["1.", "1.", "[1]"]))
    wrap = rng.choice([0.0, 0.1, 0.25, 1.0])  # 1.0: a list copied out of a PDF
    blank = rng.random() < 0.3
    lines = []
    for i, entry in enumerate(entries, 1):
        marker = {"": "", "bullet": "\u2022 ", "1.": f"{i}. ", "1)": f"{i}) ",
                  "[1]": f"[{i}] ", "1": f"{i} "}[numbering]
        entry = marker + entry
        if rng.random() < wrap:
            entry = _wrap(entry, rng)
        lines.append(entry)
    # No "References" heading: it would be a row of its own, and every reference's row here
    # pairs with its truth by order (the seed fixtures test headings).
    text = ("\n\n" if blank else "\n").join(lines) + "\n"
    return text, [ref.truth for ref in refs]


# -- structured styles ---------------------------------------------------------------------------
_LATEX = {"\u0301": "'", "\u0300": "`", "\u0308": '"', "\u0302": "^", "\u0303": "~",
          "\u0327": "c", "\u030c": "v", "\u0306": "u", "\u0328": "k"}
_LATEX_LETTERS = {"ø": r"{\o}", "Ø": r"{\O}", "ß": r"{\ss}", "ł": r"{\l}", "ı": r"{\i}",
                  "æ": r"{\ae}", "å": r"{\aa}", "Å": r"{\AA}"}


def _latex(text: str) -> str:
    """'Öberg' -> '{\\"O}berg', '&' -> '\\&': what BibTeX exporters write."""
    out = []
    for c in text:
        if c in _LATEX_LETTERS:
            out.append(_LATEX_LETTERS[c])
            continue
        if c in "&%$#_":
            out.append("\\" + c)
            continue
        d = unicodedata.normalize("NFD", c)
        if len(d) == 2 and d[1] in _LATEX and d[0].isascii():
            accent = _LATEX[d[1]]
            out.append(f"{{\\{accent}{d[0]}}}" if not accent.isalpha() else
                       f"{{\\{accent}{{{d[0]}}}}}")
        else:
            out.append(c)
    return "".join(out)


def _given(author: Author, mode: float) -> str:
    """The given name as an exporter stores it: the fore name, or initials ("J. C.", "JC")."""
    if author.fore_name and mode < 0.7:
        return author.fore_name
    return _initials(author, dotted=mode < 0.9, spaced=True)


def _structured_common(ref: _Ref) -> dict:
    """The values every structured writer stores, with the truth set as it stores them."""
    a, rng = ref.article, ref.rng
    title = _title(a, rng, brackets=0.6)
    ref.printed(title=_bare(title), year=a.year)
    values = {"title": title, "year": a.year, "full": None, "short": None, "volume": None,
              "issue": None, "pages": None, "doi": None, "pmid": None}
    choice = rng.random()
    if choice < 0.4:
        values["full"] = a.journal_title if rng.random() < 0.5 else _journal_name(a)
        values["short"] = a.iso_abbreviation or a.medline_ta
    elif choice < 0.8:
        values["full"] = a.journal_title if rng.random() < 0.5 else _journal_name(a)
    else:
        values["short"] = a.iso_abbreviation or a.medline_ta
    for journal in (values["full"], values["short"]):
        if journal:
            ref.printed(journal=journal)
    if a.volume:
        verbatim = rng.random() < 0.5  # exporters fed by PubMed keep "38Suppl 2"
        values["volume"] = a.volume if verbatim else ref.volume
        ref.printed(volume=values["volume"])
        issue = a.issue if verbatim else (ref.issue if ref.supplement is None else
                                          _pick_supplement(ref.supplement, rng, dotted=False))
        if issue and rng.random() < 0.9:
            values["issue"] = issue
            ref.printed(issue=issue)
    if ref.pages:
        pages = ref.pages if rng.random() < 0.4 else _full_pages(ref.pages)
        values["pages"] = pages
        ref.printed(pages=pages)
    if a.doi and (rng.random() < 0.8 or not ref.pages):
        values["doi"] = a.doi
        ref.printed(doi=a.doi)
    if rng.random() < 0.5:
        values["pmid"] = a.pmid
        ref.printed(pmid=a.pmid)
    return values


def _bibtex(ref: _Ref, index: int) -> str:
    a, rng = ref.article, ref.rng
    v = _structured_common(ref)
    latex = rng.random() < 0.5
    enc = _latex if latex else (lambda s: s.replace("&", "\\&").replace("%", "\\%"))
    names = []
    persons = [x for x in a.authors if not x.collective_name]
    truncate = len(persons) > 10 and rng.random() < 0.2
    for author in a.authors[: 5 if truncate else None]:
        if author.collective_name:
            names.append("{" + enc(ref.name(author.collective_name)) + "}")
            continue
        given = ref.name(_given(author, ref.given))
        last = ref.name(author.last_name or "")
        if " " in last and not last.split()[0].islower():
            last = "{" + last + "}"  # "{Cabrera Garcia}": BibTeX's way to keep a surname whole
        # "First Last" only where it is unambiguous: "Maria de Oliveira" would make "de" part of
        # the surname (BibTeX's von part), so such names stay "Oliveira, Maria … de"
        if rng.random() < 0.15 and given and not any(w.islower() for w in given.split()):
            names.append(f"{enc(given)} {enc(last)}")
        else:
            names.append(f"{enc(last)}, {enc(given)}" if given else enc(last))
    if truncate:
        names.append("others")
    key = re.sub(r"\W", "", _ascii(a.authors[0].last_name or "ref").lower()) + str(a.year)
    title = enc(v["title"])
    fields = [("author", " and ".join(names)),
              ("title", "{" + title + "}" if rng.random() < 0.5 else title)]
    journal_key = rng.choice(["journal", "journal", "journaltitle"])
    if v["full"]:
        fields.append((journal_key, enc(v["full"])))
    if v["short"]:
        fields.append(("shortjournal" if v["full"] else journal_key, enc(v["short"])))
    fields.append(("year", str(v["year"])))
    for name, value in (("volume", v["volume"]), ("number", v["issue"]), ("doi", v["doi"]),
                        ("pmid", v["pmid"])):
        if value:
            fields.append((name, value))
    if v["pages"]:
        dash = "--" if rng.random() < 0.7 else "-"
        fields.append(("pages", v["pages"].replace("-", dash)))
    rng.shuffle(fields)
    quoted = rng.random() < 0.2  # 'title = "…"': BibTeX's other delimiter
    body = ",\n".join(f'\t{name} = "{value}"' if quoted and "\"" not in value
                      else f"\t{name} = {{{value}}}" for name, value in fields)
    month = ""
    if a.pub_date and re.match(r"\d{4} [A-Z][a-z]{2}\b", a.pub_date) and rng.random() < 0.5:
        month = f",\n\tmonth = {a.pub_date[5:8].lower()}"
    kind = "Article" if rng.random() < 0.3 else "article"
    return f"@{kind}{{{key}_{index},\n{body}{month}\n}}"


def _ris(ref: _Ref) -> str:
    a, rng = ref.article, ref.rng
    v = _structured_common(ref)
    lines = [("TY", "JOUR"), ("TI" if rng.random() < 0.5 else "T1", v["title"])]
    author_tag = "A1" if rng.random() < 0.15 else "AU"
    for author in a.authors:
        if author.collective_name:
            lines.append((author_tag, ref.name(author.collective_name)))
            continue
        given = ref.name(_given(author, ref.given))
        last = ref.name(author.last_name or "")
        lines.append((author_tag, f"{last}, {given}" if given else last))
    if v["full"]:
        lines.append((rng.choice(["T2", "JF", "JO"]), v["full"]))
    if v["short"]:
        lines.append((rng.choice(["J2", "JA"]) if v["full"] else rng.choice(["JO", "J2", "T2"]),
                      v["short"]))
    date = a.pub_date or str(a.year)
    year_tag = "Y1" if rng.random() < 0.2 else "PY"  # older exporters (EndNote, RefWorks)
    lines.append((year_tag, str(v["year"]) if rng.random() < 0.6 else f"{v['year']}///"))
    if rng.random() < 0.4:
        lines.append(("DA", date))
    for tag, value in (("VL", v["volume"]), ("IS", v["issue"])):
        if value:
            lines.append((tag, value))
    if v["pages"]:
        start, _, end = v["pages"].partition("-")
        if end and rng.random() < 0.7 and "," not in v["pages"]:
            lines += [("SP", start), ("EP", end)]
        else:
            lines.append(("SP", v["pages"]))
    if v["doi"]:
        lines.append(("DO", v["doi"]))
    if v["pmid"]:
        lines.append(("AN", v["pmid"]) if rng.random() < 0.7 else ("N1", f"PMID: {v['pmid']}"))
    lines.append(("ER", ""))
    return "\n".join(f"{tag}  - {value}" for tag, value in lines)


def _csl(ref: _Ref, index: int) -> dict:
    a, rng = ref.article, ref.rng
    v = _structured_common(ref)
    authors = []
    for author in a.authors:
        if author.collective_name:
            authors.append({"literal": ref.name(author.collective_name)})
            continue
        last = ref.name(author.last_name or "")
        entry = {"family": last, "given": ref.name(_given(author, ref.given))}
        particle = re.match(r"((?:[a-z]+ )+)(.+)", last)
        if particle and rng.random() < 0.5:  # "van den" as CSL's non-dropping particle
            entry = {"family": particle.group(2), "given": entry["given"],
                     "non-dropping-particle": particle.group(1).strip()}
        if not entry["given"]:
            del entry["given"]
        authors.append(entry)
    item: dict = {"id": f"ref{index}", "type": "article-journal", "title": v["title"],
                  "author": authors}
    if v["full"]:
        item["container-title"] = v["full"]
    if v["short"]:
        item["container-title-short" if rng.random() < 0.6 else "journalAbbreviation"] = (
            v["short"])
    if rng.random() < 0.8:
        parts = [v["year"]]
        m = re.match(r"\d{4} ([A-Z][a-z]{2})(?: (\d+))?$", a.pub_date or "")
        months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
        if m and m.group(1) in months:
            parts.append(months.index(m.group(1)) + 1)
            if m.group(2):
                parts.append(int(m.group(2)))
        item["issued"] = {"date-parts": [parts if rng.random() < 0.7 else [str(p) for p in parts]]}
    else:
        item["issued"] = {"raw": a.pub_date or str(v["year"])}
    for key, value in (("volume", v["volume"]), ("issue", v["issue"]), ("page", v["pages"]),
                       ("DOI", v["doi"]), ("PMID", v["pmid"])):
        if value:
            item[key] = value
    return item


def _structured_list(chosen: list[Article], style: str, rng: random.Random
                     ) -> tuple[str, list[dict]]:
    refs = [_Ref(a, rng) for a in chosen]
    if style == "bibtex":
        text = "\n\n".join(_bibtex(ref, i) for i, ref in enumerate(refs, 1)) + "\n"
    elif style == "ris":
        text = "\n\n".join(_ris(ref) for ref in refs) + "\n"
    else:
        text = json.dumps([_csl(ref, i) for i, ref in enumerate(refs, 1)], ensure_ascii=False,
                          indent=2)
    return text, [ref.truth for ref in refs]


# -- lists ---------------------------------------------------------------------------------------
def style_list(articles: list[Article], style: str = "vancouver", seed: int = 0
               ) -> tuple[str, list[dict]]:
    """A whole list in one style and, for each reference in order, what it prints.

    Each truth dict has FIELDS (None where the entry does not print one), "record" (the PMID of
    the record cited) and "journal_printed" (every journal name the entry gives). Records
    that cannot be cited (see `citable`) are left out: `len(articles) - len(truth)` of them.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    rng = random.Random(f"{style}-{seed}")
    chosen = [a for a in articles if citable(a)]
    rng.shuffle(chosen)
    if style in TEXT_STYLES:
        return _text_list(chosen, style, rng)
    return _structured_list(chosen, style, rng)


def reference_list(articles: list[Article], seed: int = 0, style: str = "vancouver"
                   ) -> tuple[str, list[str]]:
    """A list and, for each reference in order, the PMID it cites."""
    text, truth = style_list(articles, style, seed)
    return text, [t["record"] for t in truth]
