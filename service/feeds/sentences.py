"""Text to tokens, sentences and quotations, the units the extraction rules work on.

Sentences are split outside quotations only: a quote of several sentences followed by "he said"
stays one unit, so the quote keeps its speaker. A quotation is text between typographic double
quotes or a pair of straight double quotes within one paragraph; single quotes are left alone
because wires use them as scare quotes (the ‘special military operation’).
"""

import re
from dataclasses import dataclass

from service.feeds.lexicon import fold, skeleton, stem

_TOKEN = re.compile(
    r"(?P<number>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:[-‐‑][^\W_]+)*)"
    r"|(?P<poss>['’]s\b)"
    r"|(?P<nt>['’]t\b)"
    r"|(?P<punct>[^\w\s])"
)
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "gen",
        "col",
        "lt",
        "sgt",
        "prof",
        "jr",
        "sr",
        "no",
        "vs",
        "st",
        "mt",
        "jan",
        "feb",
        "mar",
        "apr",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "e.g",
        "i.e",
        "etc",
    ]
)
_ENDS = frozenset(".!?")
_OPENING_QUOTES = frozenset("“„«")
_CLOSING_QUOTES = frozenset("”»")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    kind: str  # word, number, poss ('s), punct
    norm: str  # folded; "not" for n't
    stem: str
    skel: str

    @property
    def is_word(self) -> bool:
        return self.kind in ("word", "number")


@dataclass(frozen=True)
class Sentence:
    text: str
    tokens: tuple[Token, ...]
    quotes: tuple[tuple[int, int], ...]  # token index ranges [start, end) inside quotation marks
    is_title: bool = False

    def quote_at(self, index: int) -> int | None:
        """Which quotation the token at ``index`` is inside, if any."""
        for number, (start, end) in enumerate(self.quotes):
            if start <= index < end:
                return number
        return None

    def span_text(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        last = self.tokens[end - 1]
        return self.text[self.tokens[start].start : last.start + len(last.text)]


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        raw = match.group()
        if kind == "nt":
            kind, norm = "word", "not"
        elif kind == "poss":
            norm = "'s"
        else:
            norm = fold(raw)
        tokens.append(Token(raw, match.start(), kind, norm, stem(norm), skeleton(norm)))
    return tokens


def split_sentences(paragraph: str, *, is_title: bool = False) -> list[Sentence]:
    """The sentences of one paragraph (a title is one sentence), with their quotations."""
    tokens = tokenize(paragraph)
    quotes = _quote_spans(tokens)
    inside = {index for start, end in quotes for index in range(start, end)}
    sentences: list[Sentence] = []
    begin = 0
    for index, token in enumerate(tokens):
        if is_title or token.text not in _ENDS or index in inside:
            continue
        end = index + 1
        while end < len(tokens) and tokens[end].text in _CLOSING_QUOTES | {'"', ")"}:
            end += 1
        if end < len(tokens) and not _starts_sentence(tokens[end]):
            continue
        if token.text == "." and index > 0 and _abbreviation(tokens[index - 1]):
            continue
        sentences.append(_sentence(paragraph, tokens, quotes, begin, end, is_title))
        begin = end
    if begin < len(tokens):
        sentences.append(_sentence(paragraph, tokens, quotes, begin, len(tokens), is_title))
    return sentences


def _sentence(
    paragraph: str,
    tokens: list[Token],
    quotes: list[tuple[int, int]],
    begin: int,
    end: int,
    is_title: bool,
) -> Sentence:
    offset = tokens[begin].start
    last = tokens[end - 1]
    local = tuple(
        Token(t.text, t.start - offset, t.kind, t.norm, t.stem, t.skel) for t in tokens[begin:end]
    )
    spans = tuple(
        (max(start, begin) - begin, min(stop, end) - begin)
        for start, stop in quotes
        if start < end and stop > begin
    )
    return Sentence(paragraph[offset : last.start + len(last.text)], local, spans, is_title)


def _quote_spans(tokens: list[Token]) -> list[tuple[int, int]]:
    """Token ranges strictly between matching quotation marks; unmatched marks are ignored."""
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    straight_open: int | None = None
    for index, token in enumerate(tokens):
        if token.text in _OPENING_QUOTES and open_at is None:
            open_at = index
        elif token.text in _CLOSING_QUOTES and open_at is not None:
            spans.append((open_at + 1, index))
            open_at = None
        elif token.text == '"':
            if straight_open is None:
                straight_open = index
            else:
                spans.append((straight_open + 1, index))
                straight_open = None
    return sorted(spans)


def _starts_sentence(token: Token) -> bool:
    first = token.text[:1]
    return first.isupper() or first.isdigit() or token.text in _OPENING_QUOTES | {'"', "("}


def _abbreviation(token: Token) -> bool:
    return (len(token.text) == 1 and token.text.isupper()) or token.norm in _ABBREVIATIONS
