"""Audio thread only (and the threads that publish to it): a memory fence and an atomic add.

Why: under the interpreter lock two Python threads never run at once, so a
flag set in one is seen by the other in order. JACK's compiled process
callback (rt/jack_callback.py) runs without that lock, beside control threads
that publish a new layer set or recorder and then ask whether a callback is in
flight (`Engine.wait_for_callback`). Each side writes one word and then reads
the other's; x86 may let such a read pass the earlier write, so both put a
full barrier between them: the callback `fence()`, the publisher `publish`
(a locked add, itself a barrier).
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from .jit import njit


@intrinsic
def fence(typingctx):
    """A sequentially consistent fence (x86: mfence)."""
    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _atomic_add(typingctx, address, value):
    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        builder.atomic_rmw("add", pointer, args[1], "seq_cst")
        return context.get_dummy_value()
    return types.void(types.int64, types.int64), codegen


@njit
def publish(counts, index):
    """counts[index] += 1 (int64), atomically and as a full barrier."""
    _atomic_add(counts.ctypes.data + 8 * index, 1)
