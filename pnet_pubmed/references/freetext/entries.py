"""A free-text list split into its entries: where each reference starts, which lines go on."""

from __future__ import annotations

import re

from ...journals import Journals
from ...values import Citation
from ..common import DASHES, EPUB, MONTH, YEAR
from ..ids import is_identifier
from . import fields
from .fields import AUTHOR_START, is_heading, strip_marker

# A line that cannot end a reference: a list separator, an open range, an author list that goes
# on ("et al." and APA's ". . ." come before the year, never last), "pp." or "Article" before
# the pages.
_HANGING = re.compile(r"(?:[,;:(&\-\u2010-\u2014]|(?:\.\s*){3}|\u2026|\bet\s+al\.?"
                      r"|(?<![\w-])(?:pp?|vol|no)\.|\barticle(?:\s+(?:no\.?|number))?)\s*$", re.I)
# The most characters other than white space a _HANGING match holds ("article number").
_HANGING_MOST = 13
_TAIL = 40


def _hangs(text: str) -> bool:
    """_HANGING.search(text), looking only at the end of a long text: a match is at most
    _HANGING_MOST characters with white space between, so when the last _TAIL characters hold
    more than that, any match starts among them (the search still sees what comes before,
    for its word boundaries)."""
    start = len(text) - _TAIL
    if start > 0 and len("".join(text[start:].split())) > _HANGING_MOST:
        return _HANGING.search(text, start) is not None
    return _HANGING.search(text) is not None
# A URL or DOI cut by a line break: "https://doi.org/10.3389/fendo.2014" + ".00007"
_BROKEN_LINK = re.compile(
    r"(?:(?:https?://|\bdoi\b|\b10\.\d{4,9}/)\S*|\bdoi\s*[:=]?\s*10\.\d*)$", re.I)
_NOT_LINK_TEXT = re.compile(r"[\s\d]+")


def _ends_in_broken_link(text: str) -> bool:
    """_BROKEN_LINK.search(text), looking only at the end of a long text. A match is one run
    without white space ("https://…", "doi…", "10.1234/…"), or "doi", white space, an optional
    ":" or "=" and "10." with digits: when the last _TAIL characters hold white space before
    their end and more than five characters other than spaces and digits, no match starts
    before them."""
    start = len(text) - _TAIL
    if start > 0:
        tail = text[start:]
        if (any(c.isspace() for c in tail[:-1])
                and len(_NOT_LINK_TEXT.sub("", tail)) > 5):
            return _BROKEN_LINK.search(text, start) is not None
    return _BROKEN_LINK.search(text) is not None


_LINK_REST = re.compile(r"^(?!\(?(?:accessed|cited|available|retrieved)\b)"
                        r"[\w./()%:;<>-]*[\d/()%][\w./()%:;<>-]*(?:\s|$)", re.I)
_LINK_LINE = re.compile(r"^(?:doi\s*:|https?://(?:dx\.)?doi\.org/|pmid\s*:|pmcid\s*:"
                        r"|available\s+(?:at|from)\b|retrieved\s+from\b|\(?accessed\b"
                        r"|\[?epub\b|\[cited\b)", re.I)


def _looks_complete(text: str, journals: Journals, hanging_ok: bool = False) -> bool:
    """Does this text read as a whole reference (a source with volume/pages, an identifier)?

    hanging_ok: an end that waits for more ("PMID:") does not count against it.
    """
    text = join_lines(text)
    if not hanging_ok and _hangs(text):
        return False
    if is_identifier(text) or _is_url(text):
        return True
    tail = text[-60:]
    if not re.search(r"\d", tail) and not EPUB.search(tail):
        return False  # a source ends in digits (pages, DOI) or an epub note: skip the parse
    c = fields.parse_reference(text, "", 0, journals)
    if c.kind == "unparsed" or not c.journal:
        return False
    # A bare number after a title fragment ("…the presenilin 1") is no source: a volume counts
    # with a year or with pages.
    return bool((c.year and (c.volume or c.pages)) or (c.volume and c.pages)
                or c.kind != "article" or c.doi)


def _only_adds_a_note(prev: str, line: str, journals: Journals) -> bool:
    """Joined to a complete reference, the line leaves its source as it was: the end of a note
    broken off it ("Epub 2023" + "Mar 28."), not a reference of its own or a page header."""
    if is_heading(line):
        return False
    alone = fields.parse_reference(join_lines(prev), "", 0, journals)
    joined = fields.parse_reference(join_lines(f"{prev}\n{line}"), "", 0, journals)

    def source(c: Citation) -> tuple:
        return (c.kind, c.year, c.journal, c.volume, c.first_page)

    return joined.kind != "unparsed" and source(joined) == source(alone)


def _carries_on(prev: str, line: str, journals: Journals) -> bool:
    """The line goes on the entry above: that one does not read as whole yet, or the line only
    adds a note to it."""
    return not _looks_complete(prev, journals) or _only_adds_a_note(prev, line, journals)


def _is_url(line: str) -> bool:
    return bool(re.fullmatch(r"(?:https?://|www\.)\S+", line.strip(), re.I))



_BULLET_CHARS = "\u2022\u2023\u2043\u2219\u25aa\u25cf\u25e6\u00b7*+>-"
_BULLET = re.compile(rf"^\s*[{_BULLET_CHARS}]\s")


def _starts_entry(line: str, bullets: str = "") -> bool:
    """A numbered line, or one led by a bullet the list uses (see _list_bullets)."""
    if strip_marker(line, long_ok=True)[1] is not None:
        return True
    m = _BULLET.match(line)
    return bool(m) and line.lstrip()[0] in bullets


def _list_bullets(lines: list[str]) -> str:
    """The bullet characters that mark entries: the first line's, and those leading several
    lines. A title broken at "Scope - Bio-Psycho-Social" leaves one stray "- " line, no bullet."""
    counts: dict[str, int] = {}
    for line in lines:
        if _BULLET.match(line):
            c = line.lstrip()[0]
            counts[c] = counts.get(c, 0) + 1
    first = lines[0].lstrip()[0] if lines and _BULLET.match(lines[0]) else ""
    return first + "".join(c for c, n in counts.items() if n >= max(2, len(lines) // 10))


_DATE_RUN_ON = re.compile(
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec|spring|summer|fall|autumn|winter)"
    r"[a-z]*\.?(?:(?:\s+\d{1,2})?(?:\s*[-/]\s*[A-Za-z]{3,9}\.?(?:\s+\d{1,2})?)?\s*[;:]"
    r"|\s+\d{1,2}\s*[.,])", re.I)
# "Biochem J. 2024;481(2):45-91.": a journal and its source, though "Biochem J." reads as a name.
_SOURCE_START = re.compile(rf"[^.;]{{1,60}}\.\s*{YEAR}[a-z]?(?:\s+{MONTH})?\s*[;:(]")


# "Suppl 1:16-21.", "S1:16-21.", "Pt 2(3):…", "e1666.": the rest of a source, never a start.
_SUPPLEMENT_RUN_ON = re.compile(
    r"(?:suppl(?:ement)?\b|(?:pt|part)\.?\s*\d+\s*[:(]|[A-Za-z]{0,6}\d+[A-Za-z\d]*"
    r"(?:\s*[:;(),]|\.?$))", re.I)


_HEADING_WORDS = re.compile(
    r"\b(?:references?|bibliography|literature|works\s+cited|sources|notes|further\s+reading"
    r"|citations?|appendix|supplementary)\b", re.I)


def _starts_with_author(line: str) -> bool:
    """"Yao JC, …", "Phan, A. T. (2010)": a name with more after it. A line that is one name
    and nothing else ("Global Spine J.") is as likely the end of a journal's name."""
    m = AUTHOR_START.match(line)
    return m is not None and bool(line[m.end():].strip())


def _unclosed(text: str) -> bool:
    """An opening bracket near the end still waits for its close: "(Accessed: 1" + "March…)"."""
    tail = text[-60:]
    return tail.count("(") > tail.count(")") or tail.count("[") > tail.count("]")


def _cannot_start(line: str, marked_block: bool) -> bool:
    """A line no reference starts with: it can only carry on the one above."""
    if re.fullmatch(r"(?:\d{6,8}|10\.\d{4,9}/\S+)", line.rstrip(".")):
        return False  # a bare PMID or DOI of its own; "7." is the end of a page range
    if _LINK_LINE.match(line) or re.match(r"[.,;:)\]/]|(?:and|&)\s", line):
        return True
    if _DATE_RUN_ON.match(line) or _SUPPLEMENT_RUN_ON.match(line):
        return True  # "Jun; 175: 116695.", "Suppl 1:16-21.": the source broken after its year
    if marked_block:
        return False  # numbered lists mark their starts; the other rules are for unmarked ones
    if re.match(r"\d", line) and not is_identifier(line):
        return True  # "382(6669), pp. 405-412.": references start with a name, not a number
    return line[:1].islower() and not AUTHOR_START.match(line)


# "12 ", "12. ", "12) ", "[12] ", "(12) " with a number of any length: see split_entries.
_NEXT_NUMBER = re.compile(r"[\[(]?\s*(\d{1,12})\s*[\]).:]?\s+(?=\S)")
# An entry never grows beyond this: past it, the next line starts a new one.
MAX_ENTRY_LINES = 16
MAX_ENTRY_CHARS = 3000


def split_entries(text: str,
                  journals: Journals) -> list[tuple[str, str | None, str]]:
    """Split a list into (entry text, printed number, entry text without its marker) triples.

    Numbered or bulleted lines start entries and unmarked lines continue them; in unmarked
    lists a line continues the previous one only while that one does not yet look complete.
    A bare number counts as a marker when it is the next number of the list ("13 Centers for
    Disease Control (CDC). …"), whatever follows it.
    """
    entries: list[tuple[list[str], str | None, bool, int]] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    last_number = highest = 0  # the number of the last entry, and the highest seen
    for block in re.split(r"\n[ \t\u00a0]*\n", text):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        bullets = _list_bullets(lines) if len(lines) > 1 else _BULLET_CHARS
        starts = [_starts_entry(ln, bullets) for ln in lines]
        # Numbers or bullets mark the block when the first line has one, when it starts at "1."
        # or a bullet under a heading, or when many lines have one: a wrapped "239. https://…"
        # in an author-date list is not a numbered list.
        first_marked = starts.index(True) if any(starts) else None
        marked_block = first_marked is not None and (
            first_marked == 0 or sum(starts) >= max(2, len(lines) // 10)
            or (first_marked <= 2 and strip_marker(lines[first_marked])[1] in ("1", None)))
        first = True
        for line, marked in zip(lines, starts, strict=True):
            marked = marked and marked_block
            rest, number = strip_marker(line, long_ok=True) if marked else (line, None)
            # The next number: after the last one, or after the highest when a number that
            # was not a marker ("MRI" + "1. Neurology. 2007;…") threw the count off.
            following = (last_number + 1, highest + 1)
            if number and len(number) > 3 and entries and int(number) not in following:
                marked, rest, number = False, line, None  # "2005. Title…" broken off a line
            cut = len(line) - len(rest) if marked else 0
            # The list's next number starts an entry in any marker form and at any length:
            # "10000 Yao JC…", "100000. …", "[1234567] …" (markers past 999 need the sequence).
            bare = _NEXT_NUMBER.match(line)
            if not marked and bare and int(bare.group(1)) in following and last_number:
                marked, number, cut = True, bare.group(1), bare.end()
            if marked and number and entries and int(number) not in following:
                # "18." after reference 60 is the day of a date broken off the line above, "5."
                # after "Journal of …," a volume
                prev = "\n".join(entries[-1][0])
                body = prev[entries[-1][3]:]  # read without its number: "12598. Tilly JL…"
                if _hangs(prev) or (last_number
                                             and _carries_on(body, line, journals)):
                    marked, number, cut = False, None, 0
            if not first and not marked:
                prev_lines, _, prev_marked, prev_cut = entries[-1]
                prev = "\n".join(prev_lines)
                body = prev[prev_cut:]  # a number past 999 would be read as text
                if len(prev_lines) >= MAX_ENTRY_LINES or len(prev) >= MAX_ENTRY_CHARS:
                    # No reference runs this long: a new one starts, and the work per line
                    # stays bounded, so a list of any length splits in linear time.
                    continues = False
                elif is_identifier(prev):
                    continues = False  # a PMID or DOI list: one identifier a line
                elif _cannot_start(line, marked_block) or (_ends_in_broken_link(prev)
                                                           and _LINK_REST.match(line)):
                    continues = True  # "doi: 10…" under its reference, a DOI broken in two
                elif is_heading(prev) and (_HEADING_WORDS.search(prev) or prev.endswith(":")
                                            or AUTHOR_START.match(line)):
                    # "References:" stands alone; "Alzheimer's Disease Collaborative" + "Group.
                    # (1995). …" and "Lee, J., Yu," + "K. (2020)" go on
                    continues = False
                elif _hangs(prev) or _unclosed(prev):
                    continues = True  # "514-" + "23.", "Eur J Cancer," + "37, 1014-9."
                elif marked_block and prev_marked:
                    # In a numbered list an unmarked line starting with no capital ("2(Suppl
                    # 2):e001…" after "2022;38Suppl"; "children. J Pediatr. 1998;…", with a year,
                    # after "A study of 3, 647") carries on the reference above.
                    continues = (_carries_on(body, line, journals)
                                 or (line[:1].islower() and not _is_url(line)
                                     and not AUTHOR_START.match(line)
                                     and re.search(rf"\b{YEAR}\b", line) is not None)
                                 or (not line[:1].isupper() and not _is_url(line)
                                     and _looks_complete(f"{body}\n{line}", journals, True)))
                elif (is_identifier(line) and not re.fullmatch(r"\d{1,5}\.?", line)) or (
                        _starts_with_author(line)
                        and (prev.rstrip()[-1:] in ".)" or _ENDS_WITH_URL.search(prev))
                        and not (_SOURCE_START.match(line)
                                 and not _looks_complete(body, journals))):
                    continues = False
                else:
                    continues = _carries_on(body, line, journals)
                if continues:
                    prev_lines.append(line)
                    continue
            first = False
            if number is not None and number.isdigit():
                last_number = int(number)
                highest = max(highest, last_number)
            entries.append(([line], number, marked, cut))
    out = []
    for lines, number, _, cut in entries:
        entry = "\n".join(lines)
        out.append((entry, number, entry[cut:]))
    return out


_LINK_WORDS = ("https://", "http://", "doi:", "doi.org/")
# "… Available from: https://www.who.int/…/en/": a reference may end in a URL, and a line that
# starts with a name after it is the next reference.
_ENDS_WITH_URL = re.compile(r"(?:https?://|www\.)\S+$", re.I)


def _broken_word(out: str, line: str) -> bool:
    """"htt" + "ps://doi.org/…", "d" + "oi:10…": a link's lead-in cut by a line break."""
    for word in _LINK_WORDS:
        for k in range(1, len(word)):
            if (line.lower().startswith(word[k:]) and out.lower().endswith(word[:k])
                    and not out[-k - 1: -k].isalnum()):
                return True
    return False


def join_lines(entry: str) -> str:
    """Lines of one entry as one text; "514-" + "23", "neuro-" + "endocrine" and the two halves
    of a broken DOI or URL ("htt" + "ps://doi.org/…") join tight."""
    out = ""
    for line in entry.split("\n"):
        line = line.strip()
        if out and (
            (out[-1] in "-" + DASHES and line[:1].isalnum())
            or re.match(r"[.,;:)\]/]", line)
            or (_ends_in_broken_link(out) and _LINK_REST.match(line))
            or _broken_word(out, line)
        ):
            out += line
        else:
            out = f"{out} {line}" if out else line
    return out
