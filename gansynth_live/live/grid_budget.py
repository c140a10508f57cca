"""Whether a morph grid fits: banks x bytes per bank against the cache and the memory.

`--resolution 33` asks for 33 x 33 = 1,089 banks, about 25 GB at 48 kHz,
against a 2 GiB bank cache: the worker would generate for hours, evict the
user's banks and run the machine out of memory. `check_grid` says so on one
line before anything is generated, with the figures, unless the user
overrides it (`--allow-large-grid`).

The bank size is an estimate (BANK_BYTES_48K, measured on the default model:
its pitches, with the extended ones, as int16 at 48 kHz) scaled by the output
rate; the real figure depends on the model, so the check compares with a
margin rather than to the byte.
"""

from __future__ import annotations

import os

from ..errors import GansynthLiveError

BANK_BYTES_48K = 23_000_000  # one whole bank of the default model at 48 kHz (int16)


def grid_banks(resolution: int) -> int:
    """Banks a grid of `resolution` points per axis can need (a square of four corners)."""
    return int(resolution) ** 2


def bank_bytes(sample_rate: int) -> int:
    """Estimated bytes of one whole bank at the output rate."""
    return int(BANK_BYTES_48K * int(sample_rate) / 48000)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_grid(resolution: int, sample_rate: int, cache_bytes: int | None,
               memory: int | None = None) -> None:
    """GansynthLiveError (one line, with the figures) if the grid's banks exceed the cache
    budget or the memory available; `cache_bytes` None: no cache."""
    banks = grid_banks(resolution)
    need = banks * bank_bytes(sample_rate)
    limits = []
    if cache_bytes is not None and need > cache_bytes:
        limits.append(f"the bank cache holds {cache_bytes / 1e9:.1f} GB")
    if memory is not None and need > memory:
        limits.append(f"{memory / 1e9:.1f} GB of memory is available")
    if limits:
        raise GansynthLiveError(
            f"--resolution {resolution} needs {banks} banks, about {need / 1e9:.1f} GB at "
            f"{sample_rate} Hz, but {' and '.join(limits)}; choose a lower resolution "
            "(3..9 are typical) or pass --allow-large-grid")
