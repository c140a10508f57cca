"""Audio thread only (what it decorates runs there): compiled helpers that allocate nothing.

`njit` compiles a function with numba in the mode the callback needs:
`_nrt=False` (numba's runtime off), so an array argument is passed without
the 48-byte MemInfo numba otherwise allocates per array per call (measured
with tracemalloc), and the function itself cannot allocate; the GIL is kept
(see kernel_numba.py). Without numba the function stays plain Python (same
results, slower; the engine then runs its numpy paths where it has them).

Every function made here is compiled before audio by `warm_up`, which calls
each registered warm-up (a call with throwaway arrays of the engine's types).
"""

from __future__ import annotations

from typing import Callable

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this keeps the fallback honest
    numba = None

AVAILABLE = numba is not None
OPTIONS = dict(nogil=False, cache=True, fastmath=False, error_model="numpy", boundscheck=False,
               _nrt=False)

_WARM_UPS: list[Callable[[], None]] = []


def njit(fn: Callable) -> Callable:
    """`fn` compiled allocation-free (numba, no runtime), or `fn` itself without numba."""
    return numba.njit(**OPTIONS)(fn) if AVAILABLE else fn


def on_warm_up(fn: Callable[[], None]) -> Callable[[], None]:
    """Register a function that compiles some of the helpers (called by `warm_up`)."""
    _WARM_UPS.append(fn)
    return fn


def warm_up() -> None:
    """Compile every registered helper for the engine's argument types, before any callback."""
    for fn in _WARM_UPS:
        fn()
