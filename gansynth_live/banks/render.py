"""Offline reference playback of a bank note: how a bank is meant to be read.

A held key reads the note from `start`, jumps from `loop_end` back to
`loop_start` for as long as it is held, and on release plays on from where
it is to `end` (the note's own release; the crossfades make both jumps
seamless). One-shot notes play to `end` whatever the key does. No envelope,
no interpolation: this is for previews and tests (it allocates freely); the
engine's voices do the same in real time.
"""

from __future__ import annotations

import numpy as np

from .bank import NoteBank


def held_indices(bank: NoteBank, pitch: int, hold_frames: int) -> np.ndarray:
    """Sample indices into bank.samples that a key held for `hold_frames` reads."""
    slot = bank.slots[pitch]
    hold = max(0, int(hold_frames))
    if not slot.loops or hold <= slot.loop_end - slot.start:
        return np.arange(slot.start, slot.end)  # released before the first loop end
    head = np.arange(slot.start, slot.loop_end)
    loop = np.arange(slot.loop_start, slot.loop_end)
    remaining = hold - len(head)
    repeats = remaining // len(loop)
    partial = remaining - repeats * len(loop)
    released_at = slot.loop_start + partial
    return np.concatenate([head, np.tile(loop, repeats), np.arange(slot.loop_start, released_at),
                           np.arange(released_at, slot.end)])


def render_held(bank: NoteBank, pitch: int, hold_s: float) -> np.ndarray:
    """The float32 audio of `pitch` held for `hold_s` seconds, then released."""
    slot = bank.slots[pitch]
    idx = held_indices(bank, pitch, int(round(hold_s * bank.sample_rate)))
    return bank.samples[idx].astype(np.float32) * np.float32(bank.amplitude(slot))
