"""Answer bodies in NCBI's wire formats (declarations, DOCTYPEs, layout copied from samples)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from .corpus import Record

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "ncbi-samples"

ESEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
EFETCH_HEAD = (
    '<?xml version="1.0" ?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)
EPOST_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20090526//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20090526/epost.dtd">'
)
ESUMMARY_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eSummaryResult PUBLIC "-//NLM//DTD esummary v1 20041029//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20041029/esummary-v1.dtd">\n'
)
EINFO_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<!DOCTYPE eInfoResult PUBLIC "-//NLM//DTD einfo 20190110//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20190110/einfo.dtd">\n'
)

# What NCBI sends when its search backend is down; seen in the wild with HTTP 200.
BACKEND_FAILED = (
    "Search Backend failed: Couldn't resolve #pmquerysrv-mz?dbaf=pubmed, "
    "the address table is empty."
)


def esearch_xml(
    *,
    count: int,
    retstart: int,
    ids: list[str],
    translation: str,
    query_key: int | None = None,
    webenv: str | None = None,
    phrases_not_found: list[str] = (),
    fields_not_found: list[str] = (),
    phrases_ignored: list[str] = (),
    quoted_not_found: list[str] = (),
    output_messages: list[str] = (),
) -> str:
    out = [ESEARCH_HEAD, "<eSearchResult>",
           f"<Count>{count}</Count><RetMax>{len(ids)}</RetMax><RetStart>{retstart}</RetStart>"]
    if query_key is not None:
        out.append(f"<QueryKey>{query_key}</QueryKey><WebEnv>{escape(webenv or '')}</WebEnv>")
    if ids:
        out.append("<IdList>\n" + "".join(f"<Id>{i}</Id>\n" for i in ids) + "</IdList>")
    else:
        out.append("<IdList/>")
    out.append(f"<TranslationSet/><QueryTranslation>{escape(translation)}</QueryTranslation>")
    if phrases_not_found or fields_not_found:
        out.append("<ErrorList>")
        out.extend(f"<PhraseNotFound>{escape(p)}</PhraseNotFound>" for p in phrases_not_found)
        out.extend(f"<FieldNotFound>{escape(f)}</FieldNotFound>" for f in fields_not_found)
        out.append("</ErrorList>")
    if phrases_ignored or quoted_not_found or output_messages:
        out.append("<WarningList>")
        out.extend(f"<PhraseIgnored>{escape(p)}</PhraseIgnored>" for p in phrases_ignored)
        out.extend(f"<QuotedPhraseNotFound>{escape(p)}</QuotedPhraseNotFound>"
                   for p in quoted_not_found)
        out.extend(f"<OutputMessage>{escape(m)}</OutputMessage>" for m in output_messages)
        out.append("</WarningList>")
    out.append("</eSearchResult>\n")
    return "".join(out)


def esearch_json(
    *,
    count: int,
    retstart: int,
    ids: list[str],
    translation: str,
    query_key: int | None = None,
    webenv: str | None = None,
    phrases_not_found: list[str] = (),
    fields_not_found: list[str] = (),
    phrases_ignored: list[str] = (),
    quoted_not_found: list[str] = (),
    output_messages: list[str] = (),
) -> str:
    result: dict = {"count": str(count), "retmax": str(len(ids)), "retstart": str(retstart)}
    if query_key is not None:
        result["querykey"] = str(query_key)
        result["webenv"] = webenv
    result.update(idlist=list(ids), translationset=[], querytranslation=translation)
    if phrases_not_found or fields_not_found:
        result["errorlist"] = {"phrasesnotfound": list(phrases_not_found),
                               "fieldsnotfound": list(fields_not_found)}
    if phrases_ignored or quoted_not_found or output_messages:
        result["warninglist"] = {"phrasesignored": list(phrases_ignored),
                                 "quotedphrasesnotfound": list(quoted_not_found),
                                 "outputmessages": list(output_messages)}
    return json.dumps({"header": {"type": "esearch", "version": "0.3"}, "esearchresult": result})


def esearch_error_xml(message: str) -> str:
    return f"{ESEARCH_HEAD}<eSearchResult><ERROR>{escape(message)}</ERROR></eSearchResult>\n"


def esearch_error_json(message: str) -> str:
    return json.dumps({"header": {"type": "esearch", "version": "0.3"},
                       "esearchresult": {"ERROR": message}})


def efetch_xml(records: list[Record]) -> str:
    """The records' own XML, untouched, in the order asked for."""
    return (EFETCH_HEAD + "<PubmedArticleSet>\n"
            + "".join(r.xml + "\n" for r in records) + "</PubmedArticleSet>\n")


def efetch_error_xml(message: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n'
            f"\t<ERROR>{escape(message)}</ERROR>\n</eFetchResult>\n")


def epost_xml(query_key: int, webenv: str, invalid: list[str] = ()) -> str:
    out = [EPOST_HEAD, "<ePostResult>\n"]
    if invalid:
        out.append("\t<InvalidIdList>\n"
                   + "".join(f"\t\t<Id>{escape(i)}</Id>\n" for i in invalid)
                   + "\t</InvalidIdList>\n")
    out.append(f"\t<QueryKey>{query_key}</QueryKey>\n\t<WebEnv>{escape(webenv)}</WebEnv>\n")
    out.append("</ePostResult>\n")
    return "".join(out)


def epost_error_xml(*messages: str) -> str:
    errors = "".join(f"\n\t<ERROR>{escape(m)}</ERROR>" for m in messages)
    return f"{EPOST_HEAD}<ePostResult>{errors}</ePostResult>\n"


def _item(name: str, value: str, kind: str = "String", indent: str = "\t") -> str:
    return f'{indent}<Item Name="{name}" Type="{kind}">{escape(value)}</Item>\n'


def _list(name: str, items: list[tuple[str, str]], kind: str = "String") -> str:
    if not items:
        return f'\t<Item Name="{name}" Type="List"></Item>\n'
    inner = "".join(_item(n, v, kind, "\t\t") for n, v in items)
    return f'\t<Item Name="{name}" Type="List">\n{inner}\t</Item>\n'


RECORD_STATUS = {
    "MEDLINE": "PubMed - indexed for MEDLINE",
    "OLDMEDLINE": "PubMed - indexed for MEDLINE",
    "In-Process": "PubMed - in process",
    "In-Data-Review": "PubMed - in process",
    "Publisher": "PubMed - as supplied by publisher",
}


def docsum(rec: Record) -> str:
    authors = [a.display for a in rec.authors]
    pages = rec.medline_pgn or "-".join(p for p in (rec.start_page, rec.end_page) if p)
    source = rec.medline_ta or rec.iso_abbreviation
    so = rec.pubdate_text
    if rec.volume or rec.issue or pages:
        so += ";" + rec.volume + (f"({rec.issue})" if rec.issue else "") + (
            f":{pages}" if pages else "")
    eloc = " ".join(f"{t}: {v}" for t, v in rec.elocations if v)
    out = [f"<DocSum>\n\t<Id>{rec.pmid}</Id>\n",
           _item("PubDate", rec.pubdate_text, "Date"),
           _item("EPubDate", rec.epubdate_text, "Date"),
           _item("Source", source),
           _list("AuthorList", [("Author", a) for a in authors]),
           _item("LastAuthor", authors[-1] if authors else ""),
           _item("Title", rec.title),
           _item("Volume", rec.volume),
           _item("Issue", rec.issue),
           _item("Pages", pages),
           _list("LangList", [("Lang", _LANG.get(x, x)) for x in rec.languages]),
           _item("NlmUniqueID", rec.nlm_id),
           _item("ISSN", rec.issn),
           _item("ESSN", rec.essn),
           _list("PubTypeList", [("PubType", p) for p in rec.pub_types]),
           _item("RecordStatus", RECORD_STATUS.get(rec.status, "PubMed")),
           _item("PubStatus", rec.pub_status),
           _list("ArticleIds", [(t, v) for t, v in rec.article_ids if t and v]),
           ]
    if rec.doi:
        out.append(_item("DOI", rec.doi))
    out += [_list("History", [(s, d) for s, d in rec.history], "Date"),
            _list("References", []),
            _item("HasAbstract", "1" if rec.abstract else "0", "Integer"),
            _item("PmcRefCount", "0", "Integer"),
            _item("FullJournalName", rec.journal_title),
            _item("ELocationID", eloc),
            _item("SO", so),
            "</DocSum>\n\n"]
    return "".join(out)


_LANG = {"eng": "English", "fre": "French", "ger": "German", "spa": "Spanish",
         "ita": "Italian", "jpn": "Japanese", "chi": "Chinese", "rus": "Russian"}


def missing_docsum(pmid: str) -> str:
    return (f"<DocSum>\n\t<Id>{escape(pmid)}</Id>\n"
            + _item("error", "cannot get document summary") + "</DocSum>\n\n")


def esummary_xml(parts: list[str]) -> str:
    return ESUMMARY_HEAD + "<eSummaryResult>\n" + "".join(parts) + "</eSummaryResult>\n"


def esummary_error_xml(message: str) -> str:
    return f"{ESUMMARY_HEAD}<eSummaryResult>\n<ERROR>{escape(message)}</ERROR>\n</eSummaryResult>\n"


def einfo_xml(db: str | None, count: int) -> str:
    if not db:
        return (SAMPLES / "einfo1.xml").read_text(encoding="utf-8")
    return (f"{EINFO_HEAD}<eInfoResult>\n\t<DbInfo>\n\t<DbName>pubmed</DbName>\n"
            "\t<MenuName>PubMed</MenuName>\n\t<Description>PubMed bibliographic record"
            "</Description>\n\t<DbBuild>Build-standin</DbBuild>\n"
            f"\t<Count>{count}</Count>\n\t<LastUpdate>2025/01/01 00:00</LastUpdate>\n"
            "\t<FieldList/>\n\t<LinkList/>\n\t</DbInfo>\n</eInfoResult>\n")


def einfo_error_xml(message: str) -> str:
    return f"{EINFO_HEAD}<eInfoResult>\n\t<ERROR>{escape(message)}</ERROR>\n</eInfoResult>\n"


def rate_limit_json(client: str, count: int, limit: float) -> str:
    # NCBI's exact shape: every value a string, no spaces.
    limit_text = str(int(limit)) if float(limit).is_integer() else str(limit)
    return json.dumps({"error": "API rate limit exceeded", "api-key": client,
                       "count": str(count), "limit": limit_text}, separators=(",", ":"))


ERROR_PAGES = {
    500: ("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\n"
          "<html><head><title>500 Internal Server Error</title></head>\n<body>\n"
          "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or "
          "misconfiguration and was unable to complete your request.</p>\n</body></html>\n"),
    502: ("<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
          "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n"
          "</body>\n</html>\n"),
    503: ("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
          "<title>503 Service Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n"
          "<p>The server is temporarily unable to service your request due to maintenance "
          "downtime or capacity problems. Please try again later.</p>\n</body></html>\n"),
    404: ("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
          "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
          "<p>The requested URL was not found on this server.</p>\n</body></html>\n"),
}

# An ordinary-looking 200 page that is not what was asked for (NCBI's maintenance/blocked page).
HTML_200_PAGE = (
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>NCBI - WWW Error Blocked Diagnostic</title>\n</head>\n<body>\n"
    "<h1>Temporarily Unavailable</h1>\n<p>We're sorry, but the E-utilities service is "
    "temporarily unavailable. Please try again later.</p>\n"
    "<p>Reference #: standin-0000</p>\n</body>\n</html>\n"
)
