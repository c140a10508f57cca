"""JSON and TOML from files a user (or an attacker) wrote: a parsed value or one DocumentError.

Presets, the `serve` config, a model's experiment.json and bank cache headers
are all parsed here, because the standard parsers fail in ways that escape as
tracebacks or take the process down:

- nesting: json and tomllib recurse once per level, so `[[[[...` a few
  thousand deep raises RecursionError (not a ValueError);
- TOML dotted keys: tomllib keeps every prefix of a dotted key, so one key of
  n parts (`a.a.a...`, in a table header or an inline table too) costs n**2
  time and memory: 20 kB took 400 MB, a 1 MB preset would kill the process.
  Keys of more than MAX_KEY_PARTS parts are refused before tomllib sees them;
- integers past Python's 4300-digit limit raise ValueError from inside the parser.

Parsed documents nested deeper than MAX_DEPTH are refused too, so code that
walks them or quotes them in a message cannot recurse without bound. Numbers
are left to the callers, which know each key's range: json reads `1e999` as
inf and `NaN` as nan, and an int of 400 digits overflows `float()` (`shown`
quotes any value in a message in a few dozen characters).
"""

from __future__ import annotations

import json
import re
import reprlib
from typing import Any, Callable

MAX_DEPTH = 32
MAX_KEY_PARTS = 32

# One part of a TOML key: bare, "basic" (with escapes) or 'literal'. The look-behind
# starts matches only at the start of a bare word, so a long word is scanned once.
_KEY_PART = r"""(?:(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_LONG_KEY = re.compile(rf"(?:{_KEY_PART}[ \t]*\.[ \t]*){{{MAX_KEY_PARTS}}}")

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60
_repr.maxlong = 40
_repr.maxlevel = 3


class DocumentError(ValueError):
    """A document that cannot be parsed safely; one line, without the file name."""


def shown(value: Any) -> str:
    """A short repr for error messages: long ints, strings and deep lists cut."""
    try:
        return _repr.repr(value)
    except (ValueError, RecursionError):  # an int past the 4300-digit str limit
        return f"<{type(value).__name__}>"


def parse_json(text: str) -> Any:
    """`json.loads` that raises only DocumentError (NaN and Infinity are the callers' to refuse)."""
    return _parse(json.loads, text, "JSON")


def parse_toml(text: str) -> Any:
    """`tomllib.loads` that refuses keys of many parts and raises only DocumentError."""
    import tomllib

    if _LONG_KEY.search(text):
        raise DocumentError(f"malformed TOML (a dotted key of more than {MAX_KEY_PARTS} "
                            "parts)")
    return _parse(tomllib.loads, text, "TOML")


def _parse(loads: Callable[[str], Any], text: str, kind: str) -> Any:
    """`loads(text)`, its errors (deep nesting, the int digit limit, syntax) as one
    DocumentError line, and the result's depth checked."""
    try:
        value = loads(text)
    except RecursionError:
        raise DocumentError(f"malformed {kind} (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError / TOMLDecodeError, the int digit limit
        raise DocumentError(f"malformed {kind} ({exc})") from None
    check_depth(value)
    return value


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise DocumentError if lists/dicts nest deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise DocumentError(f"nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)
