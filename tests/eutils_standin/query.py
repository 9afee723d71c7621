"""PubMed query language for the stand-in: tokenizer, recursive-descent parser, evaluator."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .corpus import LANGUAGE_NAMES, MONTHS, WORD_FIELDS, Corpus, search_author
from .textnorm import STOPWORDS, fold, phrase_key, query_words

OPERATORS = ("AND", "OR", "NOT")
_PLAIN = re.compile(r'[^\s"\[()]*')  # ordinary characters of a bare word

# (aliases, field, label NCBI prints in QueryTranslation); aliases are matched lower-cased.
_TAG_TABLE = [
    (("ti", "title"), "ti", "Title"),
    (("tiab", "title/abstract"), "tiab", "Title/Abstract"),
    (("ab", "abstract"), "ab", "Abstract"),
    (("tw", "text word"), "tw", "Text Word"),
    (("au", "author", "auth"), "au", "Author"),
    (("1au", "first author", "author - first"), "1au", "Author - First"),
    (("lastau", "last author", "author - last"), "lastau", "Author - Last"),
    (("cn", "corporate author"), "cn", "Corporate Author"),
    (("ta", "journal", "jour"), "ta", "Journal"),
    (("dp", "pdat", "publication date", "date - publication"), "dp", "Date - Publication"),
    (("vi", "volume"), "vi", "Volume"),
    (("ip", "issue"), "ip", "Issue"),
    (("pg", "page", "pagination"), "pg", "Pagination"),
    (("doi",), "aid", "DOI"),
    (("aid", "article identifier"), "aid", "Article Identifier"),
    (("lid", "location id"), "aid", "Location ID"),
    (("pmid", "uid"), "pmid", "UID"),
    (("mh", "mesh", "mesh terms", "mh:noexp", "mesh:noexp", "mesh terms:noexp"), "mh",
     "MeSH Terms"),
    (("majr", "mesh major topic", "majr:noexp"), "majr", "MeSH Major Topic"),
    (("pt", "publication type"), "pt", "Publication Type"),
    (("la", "language"), "la", "Language"),
    (("ot", "other term", "keyword"), "kw", "Other Term"),
    (("all", "all fields"), "all", "All Fields"),
]
TAGS: dict[str, tuple[str, str]] = {
    alias: (name, label) for aliases, name, label in _TAG_TABLE for alias in aliases}


def canonical_tag(tag: str) -> str:
    return " ".join(tag.strip().lower().split())


class QuerySyntaxError(ValueError):
    """The term cannot be parsed (unbalanced parentheses or quotes, dangling operator)."""


@dataclass
class Token:
    kind: str  # WORD, PHRASE, TAG, LP, RP, OP
    text: str
    pos: int


@dataclass
class Term:
    text: str
    tag: str | None
    quoted: bool


@dataclass
class BoolOp:
    op: str
    left: Node
    right: Node


@dataclass
class Group:
    inner: Node


Node = Term | BoolOp | Group


def tokenize(query: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            j = query.find('"', i + 1)
            if j < 0:
                raise QuerySyntaxError(f"unbalanced quotes at position {i}")
            out.append(Token("PHRASE", query[i + 1:j], i))
            i = j + 1
        elif ch == "[":
            j = query.find("]", i + 1)
            if j < 0:
                raise QuerySyntaxError(f"unterminated field tag at position {i}")
            out.append(Token("TAG", query[i + 1:j], i))
            i = j + 1
        elif ch == "(":
            out.append(Token("LP", ch, i))
            i += 1
        elif ch == ")":
            out.append(Token("RP", ch, i))
            i += 1
        else:
            # A bare word. A "(" inside it (no space before) belongs to it, as in DOIs like
            # 10.1016/0005-2795(76)90109-4; a ")" it did not open ends it and closes a group.
            j, depth = i, 0
            while True:
                j = _PLAIN.match(query, j).end()
                c = query[j] if j < n else ""
                if c == "(":
                    depth += 1
                elif c == ")" and depth:
                    depth -= 1
                else:
                    break  # end of text, white space, quote, tag, or a group's ")"
                j += 1
            if depth:
                raise QuerySyntaxError(f"unbalanced parentheses at position {i}")
            word = query[i:j]
            out.append(Token("OP" if word in OPERATORS else "WORD", word, i))
            i = j
    return out


class Parser:
    """expr := operand ((AND|OR|NOT)? operand)*, folded left to right as PubMed does."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token | None:
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("empty query")
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise QuerySyntaxError(f"unbalanced parentheses at position {tok.pos}")
        return node

    def expr(self) -> Node:
        node = self.operand()
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "RP":
                return node
            op = "AND"
            if tok.kind == "OP":
                self.next()
                op = tok.text
                after = self.peek()
                if after is None or after.kind in ("RP", "OP"):
                    raise QuerySyntaxError(f"missing operand after {op} at position {tok.pos}")
            node = BoolOp(op, node, self.operand())

    def operand(self) -> Node:
        tok = self.next()
        if tok is None:
            raise QuerySyntaxError("unexpected end of query")
        if tok.kind == "LP":
            if self.peek() is not None and self.peek().kind == "RP":
                raise QuerySyntaxError(f"empty parentheses at position {tok.pos}")
            inner = self.expr()
            close = self.next()
            if close is None or close.kind != "RP":
                raise QuerySyntaxError(f"unbalanced parentheses at position {tok.pos}")
            return Group(inner)
        if tok.kind == "PHRASE":
            return Term(tok.text, self._tag(), True)
        if tok.kind == "WORD":
            # Adjacent words up to a tag or operator form one term: yao jc[au], eur j cancer[ta].
            parts = [tok.text]
            while self.peek() is not None and self.peek().kind == "WORD":
                parts.append(self.next().text)
            return Term(" ".join(parts), self._tag(), False)
        if tok.kind == "OP":
            raise QuerySyntaxError(f"missing operand before {tok.text} at position {tok.pos}")
        if tok.kind == "TAG":
            raise QuerySyntaxError(f"field tag [{tok.text}] without a term at position {tok.pos}")
        raise QuerySyntaxError(f"unbalanced parentheses at position {tok.pos}")

    def _tag(self) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind == "TAG":
            self.next()
            return tok.text
        return None


def parse(query: str) -> Node:
    return Parser(tokenize(query)).parse()


# -- evaluation -----------------------------------------------------------------------------

@dataclass
class Outcome:
    bits: int
    translation: str
    phrases_not_found: list[str] = field(default_factory=list)
    quoted_not_found: list[str] = field(default_factory=list)
    phrases_ignored: list[str] = field(default_factory=list)
    fields_not_found: list[str] = field(default_factory=list)


_DATE = re.compile(r"(\d{4})(?:[/\-. ](\d{1,2}|[A-Za-z]{3,}))?(?:[/\-. ](\d{1,2}))?")


def date_bound(text: str, end: bool) -> int:
    """YYYY[/MM[/DD]] (also "2010 Jun") as a YYYYMMDD int; the end bound rounds up."""
    m = _DATE.fullmatch(text.strip())
    if not m:
        raise ValueError(text)
    year = int(m[1])
    month = m[2]
    month_n = (int(month) if month.isdigit() else MONTHS.get(month[:3].lower())) if month else None
    if month and not month_n:
        raise ValueError(text)
    day = int(m[3]) if m[3] else None
    if end:
        return year * 10000 + (month_n or 12) * 100 + (day or 31)
    return year * 10000 + (month_n or 1) * 100 + (day or 1)


def date_range(text: str) -> tuple[int, int]:
    if ":" in text:
        lo, hi = text.split(":", 1)
        return date_bound(lo, False), date_bound(hi, True)
    return date_bound(text, False), date_bound(text, True)


class Evaluator:
    def __init__(self, corpus: Corpus, default_tag: str | None = None):
        self.corpus = corpus
        # ESearch's field= parameter: the tag untagged terms get (All Fields when absent).
        self.default = TAGS.get(canonical_tag(default_tag or "all"), TAGS["all"])
        self.outcome = Outcome(0, "")

    def run(self, node: Node) -> Outcome:
        bits, translation = self.eval(node)
        self.outcome.bits = bits or 0
        self.outcome.translation = translation
        return self.outcome

    def eval(self, node: Node) -> tuple[int | None, str]:
        """(bitmask or None when the term was ignored, QueryTranslation text)."""
        if isinstance(node, Group):
            bits, text = self.eval(node.inner)
            return bits, f"({text})"
        if isinstance(node, BoolOp):
            left, lt = self.eval(node.left)
            right, rt = self.eval(node.right)
            # PubMed drops ignored phrases (stopwords, bare punctuation) from the boolean.
            if right is None:
                return left, lt
            if left is None:
                return (self.corpus.universe & ~right if node.op == "NOT" else right), rt
            if node.op == "AND":
                bits = left & right
            elif node.op == "OR":
                bits = left | right
            else:
                bits = left & ~right
            return bits, f"{lt} {node.op} {rt}"
        return self.term(node)

    def term(self, term: Term) -> tuple[int | None, str]:
        tag = canonical_tag(term.tag) if term.tag is not None else None
        if tag is None:
            field_name, label = self.default
        elif tag in TAGS:
            field_name, label = TAGS[tag]
        else:
            self.outcome.fields_not_found.append(term.tag or "")
            field_name, label = "all", "All Fields"
        key = (field_name, term.text, term.quoted)
        cache = self.corpus.term_cache
        if key in cache:
            bits = cache[key]
        else:
            bits = self._compute(field_name, term.text, term.quoted)
            if len(cache) > 200_000:
                cache.clear()
            cache[key] = bits
        shown = " ".join(fold(term.text).split())
        translation = (f"{shown}[{label}]" if field_name == "dp" and ":" in shown
                       else f'"{shown}"[{label}]')
        if bits is None:
            self.outcome.phrases_ignored.append(term.text)
        elif bits == 0:
            if term.quoted:
                self.outcome.quoted_not_found.append(f'"{term.text}"')
            else:
                suffix = f"[{term.tag}]" if term.tag is not None else ""
                self.outcome.phrases_not_found.append(term.text + suffix)
        return bits, translation

    def _compute(self, field_name: str, text: str, quoted: bool) -> int | None:
        c = self.corpus
        if field_name in WORD_FIELDS:
            return self._words(field_name, text, quoted)
        if field_name in ("au", "1au", "lastau"):
            scope = {"au": "any", "1au": "first", "lastau": "last"}[field_name]
            return search_author(c, text, scope)
        if field_name == "dp":
            try:
                lo, hi = date_range(text)
            except ValueError:
                return 0
            bits = 0
            for rec in c.records:
                span = rec.date_range
                if span and span[0] <= hi and span[1] >= lo:
                    bits |= 1 << rec.index
            return bits
        if field_name == "ta":
            return c.exact["ta"].get(phrase_key(text), 0)
        if field_name == "pt":
            return c.exact["pt"].get(phrase_key(text), 0)
        if field_name == "la":
            value = text.strip().lower()
            return c.exact["la"].get(LANGUAGE_NAMES.get(value, value), 0)
        if field_name == "aid":
            value = text.strip().lower()
            value = value[4:].strip() if value.startswith("doi:") else value
            return c.exact["aid"].get(value, 0)
        # vi, ip, pg, pmid: exact values
        return c.exact[field_name].get(text.strip().lower(), 0)

    def _words(self, field_name: str, text: str, quoted: bool) -> int | None:
        c = self.corpus
        tokens = query_words(text)
        id_bits = 0
        if field_name == "all":
            # Identifiers typed bare (a PMID, a DOI) are found by All Fields as a whole.
            value = text.strip().lower()
            id_bits = c.exact["pmid"].get(value, 0) | c.exact["aid"].get(value, 0)
        if not quoted:
            kept = [t for t in tokens if t.rstrip("*") not in STOPWORDS]
            if not kept:
                return id_bits or None
            bits = c.universe
            for tok in kept:
                bits &= c.word_bits(field_name, tok)
                if not bits:
                    break
            return bits | id_bits
        if not tokens:
            return id_bits or None
        bits = c.universe
        for tok in tokens:
            bits &= c.word_bits(field_name, tok)
        if len(tokens) > 1:
            verified = 0
            for rec in c.iter_bits(bits):
                if c.has_phrase(field_name, rec.index, tokens):
                    verified |= 1 << rec.index
            bits = verified
        return bits | id_bits


def search(corpus: Corpus, query: str, default_tag: str | None = None) -> Outcome:
    """Parse and evaluate; raises QuerySyntaxError for malformed terms."""
    return Evaluator(corpus, default_tag).run(parse(query))
