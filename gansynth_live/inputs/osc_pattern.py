"""OSC 1.0 address patterns, matched part by part in time linear in the pattern.

Why not a regex: translated to `re`, a pattern such as `/` + 24 `*` + `!`
backtracks exponentially; one 24-byte datagram held the receive thread (and
the interpreter lock the audio callback needs) for minutes. Here nothing is
ever retried:

- the pattern and the address are split at '/', and a pattern matches only
  addresses with as many parts, each part matching its own (OSC 1.0's rule:
  wildcards never cross a '/');
- a part is compiled to tokens (runs of stars collapse into one star) and
  matched by carrying the *set* of positions in the address part where the
  tokens so far can end (a set-of-positions NFA simulation): each token is one
  pass over at most len(part) + 1 positions, so a part costs at most
  tokens x positions x alternatives steps;
- a part whose shortest possible match is longer than the address part (or
  whose longest, without a star, is shorter) is rejected before any of that.

Forms (OSC 1.0): `?` one character; `*` any run of characters, none
included; `[abc]` one of the characters, `[a-z]` a range ('-' between two
characters; first or last it is itself), `[!abc]` none of them ('!' negates
only first); `{foo,bar}` one of the literal strings (an empty one allowed);
any other character matches itself. Malformed (`BadPattern`, matches
nothing): an unclosed `[` or `{`, an empty set (`[]`, `[!]`), a reversed range.

Bounds: a pattern longer than MAX_PATTERN_LENGTH characters, with more than
MAX_PARTS parts or more than MAX_ALTERNATIVES brace alternatives in all is
`PatternTooComplex` (the server counts it as rejected). No address we serve
comes near them; they keep the worst case small whatever a sender makes up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

MAX_PATTERN_LENGTH = 256
MAX_PARTS = 16
MAX_ALTERNATIVES = 64
WILDCARDS = frozenset("*?[]{}")

# token kinds
_LITERAL, _ONE, _STAR, _SET, _ALTERNATIVES = range(5)


class BadPattern(ValueError):
    """An address pattern that is not well formed OSC 1.0 (it matches nothing)."""


class PatternTooComplex(BadPattern):
    """A pattern over one of the bounds (length, parts, alternatives)."""


def is_pattern(address: str) -> bool:
    """Does the address use any wildcard (else only an exact lookup can match it)?"""
    return not WILDCARDS.isdisjoint(address)


@dataclass(frozen=True)
class CharSet:
    """The characters a `[...]` token accepts."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def accepts(self, char: str) -> bool:
        inside = char in self.chars or any(low <= char <= high for low, high in self.ranges)
        return inside != self.negated


@dataclass(frozen=True)
class Part:
    """One '/'-separated part of a pattern, compiled."""

    tokens: tuple[tuple[int, object], ...]
    min_length: int
    max_length: int | None  # None: a star makes it unbounded

    def match(self, text: str) -> bool:
        n = len(text)
        if n < self.min_length or (self.max_length is not None and n > self.max_length):
            return False
        positions = {0}
        for kind, arg in self.tokens:
            if kind == _LITERAL:
                positions = {p + len(arg) for p in positions if text.startswith(arg, p)}
            elif kind == _ONE:
                positions = {p + 1 for p in positions if p < n}
            elif kind == _STAR:
                positions = set(range(min(positions), n + 1))
            elif kind == _SET:
                positions = {p + 1 for p in positions if p < n and arg.accepts(text[p])}
            else:
                positions = {p + len(word) for p in positions for word in arg
                             if text.startswith(word, p)}
            if not positions:
                return False
        return n in positions


@dataclass(frozen=True)
class OscPattern:
    """A compiled address pattern; `match` an address against it."""

    text: str
    parts: tuple[Part, ...]

    def match(self, address: str) -> bool:
        names = address.split("/")
        if len(names) != len(self.parts):
            return False
        return all(part.match(name) for part, name in zip(self.parts, names))


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> OscPattern:
    """The pattern compiled; BadPattern if malformed, PatternTooComplex if over a bound."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternTooComplex(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    texts = pattern.split("/")
    if len(texts) - 1 > MAX_PARTS:
        raise PatternTooComplex(f"pattern with more than {MAX_PARTS} parts")
    parts = tuple(_compile_part(text) for text in texts)
    if sum(len(arg) for part in parts for kind, arg in part.tokens  # type: ignore[arg-type]
           if kind == _ALTERNATIVES) > MAX_ALTERNATIVES:
        raise PatternTooComplex(f"pattern with more than {MAX_ALTERNATIVES} alternatives")
    return OscPattern(pattern, parts)


def _compile_part(text: str) -> Part:
    tokens: list[tuple[int, object]] = []
    literal: list[str] = []
    min_length, max_length = 0, 0
    star = False
    i = 0

    def add(kind: int, arg: object, shortest: int, longest: int) -> None:
        nonlocal min_length, max_length
        if literal:
            word = "".join(literal)
            literal.clear()
            tokens.append((_LITERAL, word))
            min_length += len(word)
            max_length += len(word)
        if kind == _STAR and tokens and tokens[-1][0] == _STAR:
            return  # '**' is '*'
        if kind != _LITERAL or arg:
            tokens.append((kind, arg))
        min_length += shortest
        max_length += longest

    while i < len(text):
        c = text[i]
        if c == "*":
            star = True
            add(_STAR, None, 0, 0)
        elif c == "?":
            add(_ONE, None, 1, 1)
        elif c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise BadPattern("'[' without ']'")
            add(_SET, _char_set(text[i + 1:end]), 1, 1)
            i = end
        elif c == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise BadPattern("'{' without '}'")
            words = tuple(dict.fromkeys(text[i + 1:end].split(",")))  # duplicates once
            add(_ALTERNATIVES, words, min(map(len, words)), max(map(len, words)))
            i = end
        else:
            literal.append(c)
        i += 1
    add(_LITERAL, "", 0, 0)  # flush the trailing literal
    return Part(tuple(tokens), min_length, None if star else max_length)


def _char_set(body: str) -> CharSet:
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    if not body:
        raise BadPattern("empty '[]'")
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if low > high:
                raise BadPattern(f"reversed range {low}-{high}")
            ranges.append((low, high))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return CharSet(frozenset(chars), tuple(ranges), negated)
