"""Audio thread only (the reading side): typed compiled values kept in raw memory.

Why: with `serve --jack` the audio thread runs no Python at all in most
cycles (rt/jack_callback.py). JACK calls a compiled C function with one
pointer, so everything the engine's compiled code works on (its voice
arrays, rings, bank tables, recorder rings) must be reachable from a raw
address. A `Stash` keeps numba's own in-memory form of a value (for an
array: its pointer, shape and strides; for a tuple: its fields) in a
preallocated buffer: `put` writes it (numba compiled, from Python), and
compiled code reads it back with the intrinsic `load` as the very same typed
value, so the callback calls the same compiled functions the Python path
calls, with the same arguments.

A stash holds no reference: the Python object that put a value there keeps
its arrays alive (`Stash.values`). Numba's runtime is off in the engine's
compiled code (`jit.OPTIONS`), so copying an array's form copies no count.
A value is rewritten only by the thread that reads it (the audio thread, in
the Python part of a cycle), or before the callback runs.
"""

from __future__ import annotations

from typing import Any, Callable

import numba
import numpy as np
from numba.core import types
from numba.core.registry import cpu_target
from numba.extending import intrinsic

from .jit import OPTIONS

_COMPILE = dict(OPTIONS, cache=False)


def store_at(nbtype: types.Type) -> Callable:
    """An intrinsic `store(address, value)`: a value of numba type `nbtype` written at an
    integer address (a scalar, or numba's in-memory form of an array or tuple)."""
    @intrinsic
    def store(typingctx, address, value):
        def codegen(context, builder, signature, args):
            pointer = builder.inttoptr(args[0], context.get_value_type(nbtype).as_pointer())
            builder.store(args[1], pointer)
            return context.get_dummy_value()
        return types.void(address, nbtype), codegen
    return store


def load_at(nbtype: types.Type) -> Callable:
    """An intrinsic `load(address)`: the value of numba type `nbtype` at an integer address."""
    @intrinsic
    def load(typingctx, address):
        def codegen(context, builder, signature, args):
            pointer = builder.inttoptr(args[0], context.get_value_type(nbtype).as_pointer())
            return builder.load(pointer)
        return nbtype(address), codegen
    return load


_KINDS: dict[types.Type, tuple[Callable, Callable, int]] = {}


def kind(nbtype: types.Type) -> tuple[Callable, Callable, int]:
    """(put(address, value): compiled, callable from Python; load(address): an intrinsic
    for compiled code; size in bytes) for values of numba type `nbtype`, made once."""
    made = _KINDS.get(nbtype)
    if made is None:
        store = store_at(nbtype)

        def put(address, value):
            store(address, value)

        # compiled for this one type (explicit signature): another type is refused by the
        # dispatcher (TypeError) instead of compiled in the audio thread
        put = numba.njit(types.void(types.int64, nbtype), **_COMPILE)(put)

        context = cpu_target.target_context
        size = context.get_abi_sizeof(context.get_value_type(nbtype))
        made = _KINDS[nbtype] = (put, load_at(nbtype), size)
    return made


class Stash:
    """`count` values of one numba type in a buffer compiled code reads by address."""

    def __init__(self, example: Any, count: int = 1) -> None:
        self.nbtype = numba.typeof(example)
        self._put, self.load, size = kind(self.nbtype)
        self.stride = (size + 63) // 64 * 64  # each on its own cache line
        self._buffer = np.zeros(self.stride * count // 8, dtype=np.int64)
        self.address = int(self._buffer.ctypes.data)
        self.values: list[Any] = [None] * count  # what keeps each value's arrays alive
        # made once: an address is an int past 256, a new object each time it is computed
        self._entries = [self.address + k * self.stride for k in range(count)]
        for k in range(count):
            self.put(example, k)

    def put(self, value: Any, k: int = 0) -> None:
        """Write `value` (of the stash's type; another is a TypeError) as entry k. The
        reader's thread, or before it reads."""
        self._put(self._entries[k], value)  # first: a wrong type changes nothing
        self.values[k] = value

    def entry(self, k: int) -> int:
        """Entry k's address (for `load`)."""
        return self._entries[k]
