"""OSC 1.0 address patterns: every wildcard form, checked against a plain regex reference.

The reference translates each '/'-separated part to a Python regex (what the
server used to do for the whole address, which backtracked exponentially on
`/****...!`); on the small inputs generated here backtracking costs nothing,
so it is a fair judge of what a pattern should match.
"""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gansynth_live.inputs.osc_pattern import (MAX_ALTERNATIVES, MAX_PARTS, MAX_PATTERN_LENGTH,
                                              BadPattern, PatternTooComplex, compile_pattern,
                                              is_pattern)
from gansynth_live.inputs.osc_space import address_table

TABLE = sorted(address_table())


def reference_part(part: str) -> re.Pattern[str] | None:
    """One pattern part as a regex, or None if malformed (OSC 1.0, read literally)."""
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = part.find("]", i + 1)
            if end < 0:
                return None
            body = part[i + 1:end]
            negated = body.startswith("!")
            body = body[1:] if negated else body
            if not body:
                return None
            # '-' is left to re: a range between two characters, itself first or last
            escaped = "".join("\\" + ch if ch in "\\^[]&~|" else ch for ch in body)
            out.append("[" + ("^" if negated else "") + escaped + "]")
            i = end
        elif c == "{":
            end = part.find("}", i + 1)
            if end < 0:
                return None
            out.append("(?:" + "|".join(map(re.escape, part[i + 1:end].split(","))) + ")")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible set difference" for '--'
            return re.compile("".join(out), re.S)
    except re.error:  # a reversed range
        return None


def reference(pattern: str, address: str) -> bool | None:
    """Does the pattern match the address (None: the pattern is malformed)?"""
    regexes = [reference_part(p) for p in pattern.split("/")]
    if any(r is None for r in regexes):
        return None
    names = address.split("/")
    return len(names) == len(regexes) and all(r.fullmatch(n) for r, n in zip(regexes, names))


def ours(pattern: str, address: str) -> bool | None:
    try:
        return compile_pattern(pattern).match(address)
    except BadPattern:
        return None


@pytest.mark.parametrize("pattern,hits,misses", [
    ("/corner/*/random", ["/corner/1/random", "/corner/4/random"], ["/corner/1/next"]),
    ("/corner/?/n*", ["/corner/2/next"], ["/corner/2/prev", "/corner/12/next"]),
    ("/{volume,preset}", ["/volume", "/preset"], ["/preset/next"]),
    ("/corner/[!1-2]/prev", ["/corner/3/prev", "/corner/4/prev"], ["/corner/1/prev"]),
    ("/corner/[13]/next", ["/corner/1/next", "/corner/3/next"], ["/corner/2/next"]),
    ("/corner/[1-3]/preset", ["/corner/2/preset"], ["/corner/4/preset"]),
    ("/*", ["/note", "/volume"], ["/note/off", "/corner/1/next"]),
    ("/*/*", ["/note/off", "/morph/x"], ["/note", "/corner/1/next"]),
    ("/*/x*", ["/morph/x", "/morph/xy"], ["/morph/y", "/midi/learn/x"]),
    ("/**e**", ["/note", "/preset", "/state"], ["/ping", "/bend/range"]),
    ("/envelope/{attack,,release}", ["/envelope/attack", "/envelope/release", "/envelope/"],
     ["/envelope/decay"]),  # an empty alternative matches an empty part
    ("/n{o,ee}te", ["/note"], ["/neete/x", "/nte"]),
    ("/[-a]ll_notes_off", ["/all_notes_off"], []),
    ("/all[_-]notes[!x]off", ["/all_notes_off", "/all-notes_off"], ["/all_notesxoff"]),
])
def test_every_wildcard_form(pattern, hits, misses):
    compiled = compile_pattern(pattern)
    assert [h for h in hits if not compiled.match(h)] == []
    assert [m for m in misses if compiled.match(m)] == []
    assert all(reference(pattern, a) is True for a in hits)
    assert all(reference(pattern, a) is False for a in misses)


@pytest.mark.parametrize("pattern", ["/[", "/corner/[1/next", "/{a,b", "/[]", "/[!]",
                                     "/[z-a]", "/{volume,preset/next}"])
def test_malformed_patterns_match_nothing(pattern):
    with pytest.raises(BadPattern):
        compile_pattern(pattern)


def test_wildcards_never_cross_a_slash():
    assert not compile_pattern("/corner*").match("/corner/1/next")
    assert not compile_pattern("/corner?1/next").match("/corner/1/next")
    assert not compile_pattern("/corner[!a]1/next").match("/corner/1/next")
    assert compile_pattern("/corner/*/*").match("/corner/1/next")


def test_bounds():
    with pytest.raises(PatternTooComplex, match="longer"):
        compile_pattern("/" + "*" * MAX_PATTERN_LENGTH)
    with pytest.raises(PatternTooComplex, match="parts"):
        compile_pattern("/*" * (MAX_PARTS + 1))
    compile_pattern("/*" * MAX_PARTS)
    with pytest.raises(PatternTooComplex, match="alternatives"):
        compile_pattern("/{" + ",".join(str(i) for i in range(MAX_ALTERNATIVES + 1)) + "}")
    compile_pattern("/{" + ",".join(str(i) for i in range(MAX_ALTERNATIVES)) + "}")


def test_is_pattern():
    assert is_pattern("/corner/*/next") and is_pattern("/a{b}") and is_pattern("/]")
    assert not is_pattern("/corner/1/next") and not is_pattern("/note!")


# --- against the reference ------------------------------------------------------------
CHARS = "ab-!,"
one_char = st.sampled_from(list(CHARS + "]}^"))
some_text = st.text(alphabet=CHARS, max_size=3)
set_body = st.text(alphabet="ab-!^]", max_size=5)
# (pattern text, text it may well match), so that matches are common, not rare
atoms = st.one_of(
    one_char.map(lambda c: (c, c)), one_char.map(lambda c: (c, c)),
    st.tuples(st.just("*"), some_text), st.tuples(st.just("?"), one_char),
    st.just(("/", "/")),
    st.tuples(set_body.map(lambda body: f"[{body}]"), one_char),
    st.tuples(set_body.map(lambda body: f"[!{body}]"), one_char),
    st.lists(st.text(alphabet="ab-!", max_size=3), min_size=1, max_size=4).flatmap(
        lambda words: st.tuples(st.just("{" + ",".join(words) + "}"), st.sampled_from(words))),
    st.sampled_from(["[", "{", "[a-", "{a,", "{a/b}"]).map(lambda bad: (bad, bad)),
)
addresses = st.text(alphabet=CHARS + "/]}^", max_size=10).map(lambda text: "/" + text)


@st.composite
def pattern_and_address(draw) -> tuple[str, str]:
    pairs = draw(st.lists(atoms, max_size=10))
    pattern = "/" + "".join(p for p, _ in pairs)
    if draw(st.booleans()):
        return pattern, "/" + "".join(t for _, t in pairs)
    return pattern, draw(addresses)


@settings(max_examples=3000, deadline=None)
@given(pattern_and_address())
def test_same_answers_as_the_reference(case):
    pattern, address = case
    assert ours(pattern, address) == reference(pattern, address)


@settings(max_examples=500, deadline=None)
@given(pattern_and_address())
def test_same_addresses_of_the_table_as_the_reference(case):
    pattern = case[0].replace("a", "o").replace("b", "e")  # letters of the served addresses
    assert [a for a in TABLE if ours(pattern, a)] == [a for a in TABLE if reference(pattern, a)]
