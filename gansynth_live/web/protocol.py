"""Browser messages: JSON objects carrying an OSC address and its arguments.

A page sends `{"address": "/morph/xy", "args": [0.3, 0.7]}`: the same
addresses and argument types as the OSC space (`inputs/osc_space`), so there
is one control table and the page, TouchOSC and the docs cannot drift apart.
The server answers with a JSON list of such objects (the feedback values that
changed, `/error`, `/pong`).

Parsing here only checks the envelope (an object, a short address string, a
short list of JSON scalars); the arguments are validated by the OSC
dispatch itself. JSON can hold what OSC cannot (integers of hundreds of
digits, nesting, null), so those are refused here: a float() of a huge int
would raise OverflowError inside the OSC argument check, which only expects
what an OSC packet can carry.
"""

from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE_BYTES = 4096  # one control message is tens of bytes; larger frames close the socket
MAX_ADDRESS = 256
MAX_ARGS = 8
INT_LIMIT = 2**31  # OSC ints are 32-bit


class BadMessage(ValueError):
    """A frame that is not one well-formed control message (says why)."""


def parse_message(text: str | bytes) -> tuple[str, list[Any]]:
    """(address, args) of one text frame; BadMessage if it is not a control message."""
    if isinstance(text, bytes):
        raise BadMessage("binary frames are not control messages")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: deep nesting
        raise BadMessage(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(message, dict):
        raise BadMessage("a message must be a JSON object")
    address = message.get("address")
    args = message.get("args", [])
    if not isinstance(address, str) or not address.startswith("/") or \
            len(address) > MAX_ADDRESS:
        raise BadMessage(f"'address' must be an OSC address of at most {MAX_ADDRESS} characters")
    if not isinstance(args, list) or len(args) > MAX_ARGS:
        raise BadMessage(f"'args' must be a list of at most {MAX_ARGS} values")
    for value in args:
        if isinstance(value, bool) or isinstance(value, (float, str)):
            continue
        if isinstance(value, int) and -INT_LIMIT <= value < INT_LIMIT:
            continue
        raise BadMessage("arguments must be numbers (32-bit integers), strings or booleans")
    return address, args


def encode(messages: list[tuple[str, tuple[Any, ...] | list[Any]]]) -> str:
    """One text frame holding several (address, args) messages, in order."""
    return json.dumps([{"address": address, "args": list(args)} for address, args in messages],
                      separators=(",", ":"), allow_nan=False)
