"""One growing int16 array per bank, so a partial bank costs no copies.

The arena preallocates the bank's worst-case size with np.zeros (pages the OS
only backs once written) and appends notes behind a fill mark. A snapshot is a
NoteBank viewing the filled prefix: later notes are written past every
published snapshot's end, so what a snapshot (and the engine) sees never
changes.

Two ways to store levels:
- `note_gain=True` (default): each note normalised to full scale, its level in
  NoteSlot.gain; the error is at most 1/65534 of the note's own peak (-96 dB),
  however quiet the note. The engine must multiply by slot.gain.
- `note_gain=False`: one fixed scale for every bank, full scale = +6 dBFS
  (FIXED_FULL_SCALE), every gain 1.0, for an engine that only applies
  bank.scale; RMS error -95 dBFS, peak error -90 dBFS, whatever the note.
  Louder samples (never seen from GANSynth) are clipped at +6 dBFS.

Not thread-safe: one writer (the bank worker); snapshots may be read anywhere.
"""

from __future__ import annotations

import numpy as np

from .bank import NoteBank, NoteSlot
from .builder import ProcessedNote
from .resident import lock_in_memory

INT16_FULL_SCALE = 32767
INT16_SCALE = 1.0 / INT16_FULL_SCALE
FIXED_FULL_SCALE = 2.0


def quantize(samples: np.ndarray, peak: float) -> tuple[np.ndarray, float]:
    """(int16 data, gain) with data * INT16_SCALE * gain ~= samples."""
    if peak <= 0.0 or not np.isfinite(peak):
        return np.zeros(len(samples), np.int16), 1.0
    data = np.rint(np.asarray(samples, np.float64) * (INT16_FULL_SCALE / peak))
    np.clip(data, -INT16_FULL_SCALE, INT16_FULL_SCALE, out=data)
    return data.astype(np.int16), float(peak)


class BankArena:
    """Appends notes into one flat int16 array; `snapshot()` publishes what is there."""

    def __init__(self, capacity: int, sample_rate: int, latent_id: str = "",
                 note_gain: bool = True) -> None:
        self.sample_rate = int(sample_rate)
        self.latent_id = latent_id
        self.note_gain = note_gain
        # empty, not zeros: only [:_fill] is ever read, and zeroing a bank-sized block
        # that malloc hands back from its heap (glibc keeps freed banks there once its
        # mmap threshold has risen) is a memset of ~25 MB with the interpreter lock
        # held, 1-2 ms the audio callback may wait for (soak --gil-probe found it)
        self._data = np.empty(max(1, int(capacity)), np.int16)
        self._fill = 0
        self._slots: dict[int, NoteSlot] = {}

    @property
    def pitches(self) -> set[int]:
        return set(self._slots)

    @property
    def filled(self) -> int:
        return self._fill

    def _reserve(self, length: int) -> int:
        if self._fill + length > len(self._data):
            # Past the estimate: move to a bigger array. Published snapshots keep
            # viewing the old one, which stays alive as long as they do.
            bigger = np.empty(max(2 * len(self._data), self._fill + length), np.int16)
            bigger[: self._fill] = self._data[: self._fill]
            self._data = bigger
        at = self._fill
        self._fill += length
        return at

    def add(self, note: ProcessedNote) -> NoteSlot:
        """Quantise and append a processed note; replaces an earlier note of its pitch."""
        if self.note_gain:
            data, gain = quantize(note.samples, note.peak)
        else:
            data, _ = quantize(note.samples, FIXED_FULL_SCALE)
            gain = 1.0
        return self.add_stored(note.pitch, data, gain, note.loop_start, note.loop_end,
                               note.peak, note.rms)

    def add_stored(self, pitch: int, data: np.ndarray, gain: float, loop_start: int,
                   loop_end: int, peak: float, rms: float) -> NoteSlot:
        """Append an already quantised note (loop indices relative to `data`)."""
        length = len(data)
        if not 0 <= loop_start <= loop_end <= length:
            raise ValueError(f"pitch {pitch}: loop {loop_start}..{loop_end} outside 0..{length}")
        at = self._reserve(length)
        self._data[at:at + length] = data
        slot = NoteSlot(pitch=int(pitch), start=at, end=at + length, loop_start=at + loop_start,
                        loop_end=at + loop_end, peak=float(peak), rms=float(rms),
                        gain=float(gain))
        self._slots[int(pitch)] = slot
        return slot

    def snapshot(self, complete: bool) -> NoteBank:
        """A NoteBank of everything added so far (shares memory, never changes later).

        A complete bank's samples are locked in RAM (resident.py): the audio thread
        plays them for the rest of the session and must never wait for a page.
        """
        scale = INT16_SCALE if self.note_gain else FIXED_FULL_SCALE * INT16_SCALE
        if complete:
            lock_in_memory(self._data[: self._fill])
        return NoteBank(sample_rate=self.sample_rate, samples=self._data[: self._fill],
                        slots=dict(self._slots), scale=scale, latent_id=self.latent_id,
                        complete=complete)
