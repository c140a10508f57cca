"""Keep bank samples in RAM: a page the audio thread reads must never be a page fault.

Banks live in anonymous memory (cache files are read in, not mapped: cache.py), so
no bank page is ever read back from disk. Under memory pressure the kernel could
still swap one out; `lock_in_memory` asks it not to (mlock), where the process is
allowed to (root, or RLIMIT_MEMLOCK room: most desktop users have 8 MiB, enough for
nothing here). Where it is not, the bank simply stays unlocked, counted in
`stats()`; nothing fails. A locked array is unlocked when its memory is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

_lock = threading.Lock()
_stats = {"locked_bytes": 0, "refused": 0}
_libc = None


def _mlock():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            _libc = False
    return getattr(_libc, "mlock", None) if _libc else None


def lock_in_memory(array: np.ndarray) -> bool:
    """mlock the array's pages (the kernel brings them in now); False where not allowed."""
    mlock = _mlock()
    if mlock is None or array.nbytes == 0:
        return False
    ok = mlock(ctypes.c_void_p(array.ctypes.data), ctypes.c_size_t(array.nbytes)) == 0
    with _lock:
        if ok:
            _stats["locked_bytes"] += array.nbytes
        else:
            _stats["refused"] += 1
    return ok


def stats() -> dict[str, int]:
    """Bytes locked so far (freed banks included) and arrays the kernel refused."""
    with _lock:
        return dict(_stats)
