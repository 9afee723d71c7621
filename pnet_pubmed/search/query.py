"""The query language: a lexer and a parser from query text to a small AST.

Words, "phrases", prefix* (on a word or a phrase), AND / OR / NOT in upper case, parentheses,
and PubMed's field tags after a term: `everolimus[tiab]`, `Yao JC[au]`, `"Pancreatic
Neoplasms"[mh]`. As in PubMed, the words before a tag, back to the previous operator,
parenthesis or phrase, are its term (`Yao JC[au]` is the author Yao JC), and Boolean
operators combine left to right: `a OR b NOT c` is `(a OR b) NOT c`; parentheses group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SearchError, SearchQueryError
from .tokens import tokens

MAX_QUERY_LENGTH = 1000
MAX_NESTING = 20  # parentheses within parentheses
MIN_PREFIX = 3  # "ab*" expands to thousands of terms; PubMed itself asks for 4 letters
OPERATORS = ("AND", "OR", "NOT")
# Straight and typographic double quotes: queries pasted from a word processor use the latter.
QUOTES = '"\u201c\u201d\u201e'

# Field tags: the short tags PubMed shows, and the long names it accepts, to the short tag.
# Text tags restrict words to fields; the others select articles by a stored value.
TEXT_TAGS = {"ti": ("title",), "tiab": ("title", "abstract", "keywords"),
             "ab": ("abstract",), "tw": None, "all": None}
VALUE_TAGS = ("au", "1au", "mh", "mh:noexp", "majr", "majr:noexp", "pt", "ta", "dp", "pmid",
              "doi")
TAG_NAMES = {
    "title": "ti", "title/abstract": "tiab", "abstract": "ab", "text word": "tw",
    "text words": "tw", "all fields": "all", "author": "au", "first author": "1au",
    "first author name": "1au", "mesh": "mh", "mesh terms": "mh", "mesh terms:noexp": "mh:noexp",
    "mh:noexp": "mh:noexp", "mesh major topic": "majr", "mesh major topic:noexp": "majr:noexp",
    "publication type": "pt", "journal": "ta", "publication date": "dp",
    "date - publication": "dp", "uid": "pmid",
}
KNOWN_TAGS = ("ti", "tiab", "ab", "au", "1au", "mh", "mh:noexp", "majr", "majr:noexp", "pt",
              "ta", "dp", "pmid", "doi", "tw", "all")


@dataclass(frozen=True)
class Term:
    """A word (one token) or a phrase (several), optionally a prefix on its last token, in the
    fields of a text tag (None: every indexed field)."""

    tokens: tuple[str, ...]
    prefix: bool = False
    column: int = 0
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Field:
    """A value tag: the articles whose stored value is `value` (au, 1au, mh, majr, pt, ta, dp,
    pmid, doi, and the :noexp forms of mh and majr)."""

    tag: str
    value: str
    column: int = 0


@dataclass(frozen=True)
class Not:
    child: Node
    column: int = 0


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Field | Not | And | Or


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "word", "phrase", "tag", "op", "(", ")"
    column: int  # 1-based
    text: str = ""  # as typed; a phrase's words without the quotes; a tag's name
    prefix: bool = False
    end: int = 0  # the column after it


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Lexeme(ch, col))
            i += 1
        elif ch == "[":
            end = query.find("]", i + 1)
            if end < 0:
                raise SearchQueryError(f"the field tag opened at column {col} is never closed "
                                       "with ']'")
            out.append(_Lexeme("tag", col, query[i + 1 : end].strip()))
            i = end + 1
        elif ch in QUOTES:
            end = next((j for j in range(i + 1, n) if query[j] in QUOTES), -1)
            if end < 0:
                raise SearchQueryError(
                    f"unbalanced quote: the phrase opened at column {col} is never closed"
                )
            prefix = end + 1 < n and query[end + 1] == "*"
            i = end + 2 if prefix else end + 1
            out.append(_Lexeme("phrase", col, query[col : end], prefix, i + 1))
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in "()[" + QUOTES:
                j += 1
            word = query[i:j]
            i = j
            out.append(_Lexeme("op" if word in OPERATORS else "word", col, word, end=j + 1))
    return out


def _short_prefix(text: str, col: int) -> str:
    return (
        f"prefix {text!r} at column {col} is too short: give at least {MIN_PREFIX} letters "
        "before '*'"
    )


def _text_term(raw: str, col: int, prefix: bool, fields: tuple[str, ...] | None,
               quoted: bool) -> Term | None:
    """The Term of words as typed (None for punctuation alone); '*' may only end them."""
    if not quoted:
        star = raw.find("*")
        if star >= 0 and (star != len(raw) - 1 or raw.count("*") > 1):
            raise SearchQueryError(
                f"'*' at column {col + star} can only end a word (prefix search, as in "
                "insulin*)"
            )
        prefix = star >= 0
        raw = raw.rstrip("*")
    words = tokens(raw)
    if not words:
        if quoted:
            raise SearchQueryError(f"empty phrase at column {col}: put words between quotes")
        if prefix:
            raise SearchQueryError(
                f"'*' at column {col + len(raw)} has no word before it (write e.g. insulin*)")
        return None  # punctuation between words, as in a pasted title: "A - B"
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise SearchQueryError(_short_prefix(raw + "*", col))
    return Term(tuple(words), prefix, col, fields)


def _tag(lx: _Lexeme) -> str:
    name = " ".join(lx.text.lower().split())
    name = TAG_NAMES.get(name, name)
    if name not in TEXT_TAGS and name not in VALUE_TAGS:
        known = ", ".join(f"[{t}]" for t in KNOWN_TAGS)
        raise SearchQueryError(f"unknown field tag [{lx.text}] at column {lx.column}; known "
                               f"tags: {known}")
    return name


def _tagged(tag: str, run: list[_Lexeme], lx: _Lexeme, query: str) -> Term | Field:
    """The term a tag applies to: the phrase before it, or the words back to the last
    operator, parenthesis or phrase."""
    if not run:
        raise SearchQueryError(f"field tag [{lx.text}] at column {lx.column} has no term before "
                               "it (write e.g. everolimus[tiab])")
    first = run[0]
    quoted = first.kind == "phrase"
    raw = first.text if quoted else " ".join(query[first.column - 1 : run[-1].end - 1].split())
    if tag in TEXT_TAGS:
        term = _text_term(raw, first.column, first.prefix, TEXT_TAGS[tag], quoted)
        if term is None:
            raise SearchQueryError(f"field tag [{lx.text}] at column {lx.column} has no words "
                                   "before it")
        return term
    if first.prefix or (not quoted and "*" in raw):
        raise SearchQueryError(f"'*' works on words and [ti], [tiab], [ab] terms, not on "
                               f"[{tag}] (column {first.column})")
    if not raw.strip():
        raise SearchQueryError(f"field tag [{lx.text}] at column {lx.column} has an empty term")
    return Field(tag, raw.strip(), first.column)


def _items(query: str) -> list[_Lexeme | Term | Field]:
    """Lexemes with terms in place of words, phrases and tags: what the parser reads."""
    out: list[_Lexeme | Term | Field] = []
    run: list[_Lexeme] = []  # words (or one phrase) a tag may still claim

    def flush() -> None:
        for lx in run:
            term = _text_term(lx.text, lx.column, lx.prefix, None, lx.kind == "phrase")
            if term is not None:
                out.append(term)
        run.clear()

    for lx in _lex(query):
        if lx.kind == "word":
            if run and run[-1].kind == "phrase":
                flush()
            run.append(lx)
        elif lx.kind == "phrase":
            flush()
            run.append(lx)
        elif lx.kind == "tag":
            claimed = run[-1:] if run and run[-1].kind == "phrase" else list(run)
            run[len(run) - len(claimed):] = []
            flush()
            out.append(_tagged(_tag(lx), claimed, lx, query))
        else:
            flush()
            out.append(lx)
    flush()
    return out


def _is_op(item, *names: str) -> bool:
    return isinstance(item, _Lexeme) and item.kind == "op" and (not names or item.text in names)


def _is(item, kind: str) -> bool:
    return isinstance(item, _Lexeme) and item.kind == kind


class _Parser:
    """Left to right, as PubMed: query := operand (op operand)*, op being AND, OR, NOT or
    nothing (AND); operand := NOT operand | term | ( query )."""

    def __init__(self, items: list[_Lexeme | Term | Field]) -> None:
        self.items = items
        self.i = 0
        self.depth = 0  # parentheses open around the operand being read

    def peek(self):
        return self.items[self.i] if self.i < len(self.items) else None

    def take(self):
        item = self.items[self.i]
        self.i += 1
        return item

    @staticmethod
    def starts_operand(item) -> bool:
        return isinstance(item, Term | Field) or _is(item, "(") or _is_op(item, "NOT")

    def need_operand(self, op: _Lexeme) -> None:
        nxt = self.peek()
        if not self.starts_operand(nxt):
            found = "the end of the query" if nxt is None else (
                nxt.text if _is_op(nxt) else repr(nxt.kind))
            raise SearchQueryError(
                f"{op.text} at column {op.column} needs a term after it, found {found}"
            )

    def parse(self) -> Node:
        node = self.parse_query()
        rest = self.peek()
        if rest is not None:
            if _is(rest, ")"):
                raise SearchQueryError(f"unmatched ')' at column {rest.column}")
            raise SearchQueryError(f"unexpected {rest.text or rest.kind} at column {rest.column}")
        return node

    def parse_query(self) -> Node:
        first = self.peek()
        if _is_op(first, "AND", "OR"):
            raise SearchQueryError(f"{first.text} at column {first.column} needs a term before it")
        node = self.parse_operand()
        while True:
            item = self.peek()
            if _is_op(item):
                self.take()
                self.need_operand(item)
                node = _combine(item, node, self.parse_operand())
            elif self.starts_operand(item):
                node = _combine(None, node, self.parse_operand())  # implicit AND
            else:
                return node

    def parse_operand(self) -> Node:
        nots = []  # a loop, not recursion: "NOT NOT … a" of any length costs no stack
        while _is_op(self.peek(), "NOT"):
            op = self.take()
            self.need_operand(op)
            nots.append(op)
        node = self._operand()
        for op in reversed(nots):
            node = node.child if isinstance(node, Not) else Not(node, op.column)
        return node

    def _operand(self) -> Node:
        if self.peek() is None:
            raise SearchQueryError("the query ends where a term was expected")
        item = self.take()
        if isinstance(item, Term | Field):
            return item
        if not _is(item, "("):
            raise SearchQueryError(f"unmatched ')' at column {item.column}")
        self.depth += 1
        if self.depth > MAX_NESTING:  # deeper would exhaust Python's stack
            raise SearchQueryError(f"parentheses nested more than {MAX_NESTING} deep at "
                                   f"column {item.column}")
        inner = self.peek()
        if inner is None:
            raise SearchQueryError(
                f"the parenthesis opened at column {item.column} is never closed")
        if _is(inner, ")"):
            raise SearchQueryError(f"empty parentheses at column {item.column}")
        if _is_op(inner, "AND", "OR"):
            raise SearchQueryError(f"{inner.text} at column {inner.column} needs a term before it")
        node = self.parse_query()
        close = self.peek()
        if not _is(close, ")"):
            raise SearchQueryError(
                f"the parenthesis opened at column {item.column} is never closed")
        self.take()
        self.depth -= 1
        return node


def _combine(op: _Lexeme | None, left: Node, right: Node) -> Node:
    """left op right (None: an implicit AND), flattened: (a AND b) AND c is one AND of three."""
    if op is not None and op.text == "OR":
        return Or(_flatten(Or, [left, right]))
    if op is not None and op.text == "NOT":
        right = right.child if isinstance(right, Not) else Not(right, op.column)
    return And(_flatten(And, [left, right]))


def _flatten(kind: type, items: list[Node]) -> tuple[Node, ...]:
    out: list[Node] = []
    for item in items:
        out.extend(item.children if isinstance(item, And | Or) and isinstance(item, kind)
                   else (item,))
    return tuple(out)


def _check_negations(node: Node, allowed: bool = False) -> None:
    """NOT excludes from something: it may only stand in an AND with a positive term."""
    if isinstance(node, Not):
        if not allowed:
            raise SearchQueryError(
                f"NOT at column {node.column} must follow what it excludes from, as in "
                "'octreotide NOT lanreotide'"
            )
        _check_negations(node.child)
    elif isinstance(node, And):
        has_positive = any(not isinstance(c, Not) for c in node.children)
        for c in node.children:
            _check_negations(c, allowed=has_positive)
    elif isinstance(node, Or):
        for c in node.children:
            _check_negations(c)


def parse_query(query: str) -> Node:
    """The AST of a user query; SearchQueryError says what is wrong, and where."""
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchQueryError(f"query too long: {len(query)} characters, at most "
                               f"{MAX_QUERY_LENGTH}")
    items = _items(query)
    if not items:
        raise SearchQueryError("the query has no words to search for")
    node = _Parser(items).parse()
    _check_negations(node)
    return node


def positive_terms(node: Node) -> list[Term]:
    """The text terms an article matching node may contain: what snippets mark."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not | Field):
        return []
    return [t_ for c in node.children for t_ in positive_terms(c)]


def is_text(node: Node) -> bool:
    """Whether the node is full text only (no value tag anywhere in it)."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Field):
        return False
    if isinstance(node, Not):
        return is_text(node.child)
    return all(is_text(c) for c in node.children)


def parse_year_range(text: str | None) -> tuple[int | None, int | None]:
    """ "2009", "2009:2015", "2009:" or ":2015" as (from, to); SearchError when malformed."""
    if text is None or not text.strip():
        return (None, None)
    m = re.fullmatch(r"\s*(\d{4})?\s*(?:([:\-])\s*(\d{4})?)?\s*", text)
    if not m or (m.group(1) is None and m.group(3) is None):
        raise SearchError(f"bad year range {text!r}: use YEAR, FROM:TO, FROM: or :TO")
    start = int(m.group(1)) if m.group(1) else None
    end = int(m.group(3)) if m.group(3) else None
    if m.group(2) is None:
        end = start
    if start is not None and end is not None and start > end:
        raise SearchError(f"bad year range {text!r}: {start} is after {end}")
    return (start, end)
