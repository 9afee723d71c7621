"""The query language: a lexer and a parser from query text to a small AST."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SearchError, SearchQueryError
from .tokens import tokens

MAX_QUERY_LENGTH = 1000
MIN_PREFIX = 3  # "ab*" expands to thousands of terms; PubMed itself asks for 4 letters
OPERATORS = ("AND", "OR", "NOT")
# Straight and typographic double quotes: queries pasted from a word processor use the latter.
QUOTES = '"\u201c\u201d\u201e'


# -- the query language ------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word (one token) or a phrase (several), optionally a prefix on its last token."""

    tokens: tuple[str, ...]
    prefix: bool = False
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


Node = Term | Not | And | Or


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "term", "op", "(", ")"
    column: int  # 1-based
    text: str = ""
    term: Term | None = None


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
        elif ch in QUOTES:
            end = next((j for j in range(i + 1, n) if query[j] in QUOTES), -1)
            if end < 0:
                raise SearchQueryError(
                    f"unbalanced quote: the phrase opened at column {col} is never closed"
                )
            prefix = end + 1 < n and query[end + 1] == "*"
            words = tokens(query[i + 1 : end])
            if not words:
                raise SearchQueryError(f"empty phrase at column {col}: put words between quotes")
            if prefix and len(words[-1]) < MIN_PREFIX:
                raise SearchQueryError(_short_prefix(query[i : end + 2], col))
            out.append(_Lexeme("term", col, query[i : end + 1], Term(tuple(words), prefix, col)))
            i = end + 2 if prefix else end + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()' + QUOTES:
                j += 1
            word = query[i:j]
            i = j
            if word in OPERATORS:
                out.append(_Lexeme("op", col, word))
                continue
            star = word.find("*")
            prefix = star >= 0
            if prefix and star != len(word) - 1 or word.count("*") > 1:
                raise SearchQueryError(
                    f"'*' at column {col + star} can only end a word (prefix search, as in "
                    "insulin*)"
                )
            words = tokens(word.rstrip("*"))
            if not words:
                if prefix:
                    raise SearchQueryError(
                        f"'*' at column {col + star} has no word before it (write e.g. insulin*)"
                    )
                continue  # punctuation between words, as in a pasted title: "A - B"
            if prefix and len(words[-1]) < MIN_PREFIX:
                raise SearchQueryError(_short_prefix(word, col))
            out.append(_Lexeme("term", col, word, Term(tuple(words), prefix, col)))
    return out


def _short_prefix(text: str, col: int) -> str:
    return (
        f"prefix {text!r} at column {col} is too short: give at least {MIN_PREFIX} letters "
        "before '*'"
    )


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary ([AND] unary)*; unary := NOT unary
    | primary; primary := term | ( or )."""

    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lx = lexemes
        self.i = 0

    def peek(self) -> _Lexeme | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def take(self) -> _Lexeme:
        lx = self.lx[self.i]
        self.i += 1
        return lx

    @staticmethod
    def starts_operand(lx: _Lexeme | None) -> bool:
        if lx is None:
            return False
        return lx.kind in ("term", "(") or (lx.kind == "op" and lx.text == "NOT")

    def need_operand(self, op: _Lexeme) -> None:
        nxt = self.peek()
        if not self.starts_operand(nxt):
            found = "the end of the query" if nxt is None else f"{nxt.text or nxt.kind!r}"
            if nxt is not None and nxt.kind == "op":
                found = nxt.text
            raise SearchQueryError(
                f"{op.text} at column {op.column} needs a term after it, found {found}"
            )

    def parse(self) -> Node:
        first = self.peek()
        if first is not None and first.kind == "op" and first.text in ("AND", "OR"):
            raise SearchQueryError(
                f"{first.text} at column {first.column} needs a term before it"
            )
        node = self.parse_or()
        rest = self.peek()
        if rest is not None:
            if rest.kind == ")":
                raise SearchQueryError(f"unmatched ')' at column {rest.column}")
            raise SearchQueryError(f"unexpected {rest.text or rest.kind} at column {rest.column}")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (lx := self.peek()) is not None and lx.kind == "op" and lx.text == "OR":
            self.take()
            self.need_operand(lx)
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(_flatten(Or, items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while True:
            lx = self.peek()
            if lx is not None and lx.kind == "op" and lx.text == "AND":
                self.take()
                self.need_operand(lx)
                items.append(self.parse_unary())
            elif self.starts_operand(lx):
                items.append(self.parse_unary())  # implicit AND
            else:
                break
        return items[0] if len(items) == 1 else And(_flatten(And, items))

    def parse_unary(self) -> Node:
        lx = self.peek()
        if lx is not None and lx.kind == "op" and lx.text == "NOT":
            self.take()
            self.need_operand(lx)
            child = self.parse_unary()
            return child.child if isinstance(child, Not) else Not(child, lx.column)
        return self.parse_primary()

    def parse_primary(self) -> Node:
        lx = self.take()
        if lx.kind == "term":
            assert lx.term is not None
            return lx.term
        # starts_operand() guarantees "(" here.
        inner = self.peek()
        if inner is not None and inner.kind == ")":
            raise SearchQueryError(f"empty parentheses at column {lx.column}")
        if inner is not None and inner.kind == "op" and inner.text in ("AND", "OR"):
            raise SearchQueryError(
                f"{inner.text} at column {inner.column} needs a term before it"
            )
        node = self.parse_or()
        close = self.peek()
        if close is None or close.kind != ")":
            raise SearchQueryError(f"the parenthesis opened at column {lx.column} is never closed")
        self.take()
        return node


def _flatten(kind: type, items: list[Node]) -> tuple[Node, ...]:
    out: list[Node] = []
    for item in items:
        out.extend(item.children if isinstance(item, kind) else (item,))
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
    lexemes = _lex(query)
    if not lexemes:
        raise SearchQueryError("the query has no words to search for")
    node = _Parser(lexemes).parse()
    _check_negations(node)
    return node


def positive_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t_ for c in node.children for t_ in positive_terms(c)]


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
