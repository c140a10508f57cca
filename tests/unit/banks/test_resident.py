"""Bank samples locked in RAM where the process may (root here): a complete bank and a
bank read from the cache count in the process's locked memory (VmLck)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from gansynth_live.banks import resident
from gansynth_live.banks.arena import BankArena
from gansynth_live.banks.builder import process_wave


def locked_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    return 0


@pytest.mark.skipif(os.geteuid() != 0, reason="mlock beyond RLIMIT_MEMLOCK needs root; "
                    "a user's process keeps its banks unlocked (counted)")
def test_a_complete_bank_is_locked_and_a_partial_one_is_not():
    arena = BankArena(2_000_000, 16000)
    tone = np.sin(2 * np.pi * 440.0 * np.arange(64000) / 16000.0).astype(np.float32) * 0.5
    arena.add(process_wave(tone, 16000, 69))
    before = resident.stats()
    arena.snapshot(complete=False)
    assert resident.stats() == before
    bank = arena.snapshot(complete=True)
    after = resident.stats()
    assert after["locked_bytes"] - before["locked_bytes"] == bank.samples.nbytes
    assert after["refused"] == before["refused"]
    # the kernel counts it (unless an earlier bank already locked these heap pages)
    assert locked_kib() >= bank.samples.nbytes // 1024 - 4


def test_a_refused_lock_is_counted_not_raised(monkeypatch):
    monkeypatch.setattr(resident, "_mlock", lambda: (lambda addr, size: -1))
    refused = resident.stats()["refused"]
    assert resident.lock_in_memory(np.zeros(4096, np.int16)) is False
    assert resident.stats()["refused"] == refused + 1
