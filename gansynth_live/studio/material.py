"""Generated notes -> the NoteBanks a piece plays, made by the live bank builder.

Every distinct (latent, pitch) of a piece becomes one slot of its latent's
bank, processed exactly as the live bank worker processes a note
(`banks/builder.py: process_wave`: DC high-pass, soxr resampling to the
output rate, onset and tail trim, the sustain loop of `banks/loops.py`, end
fade; `banks/arena.py`: int16 with the level in NoteSlot.gain), so a note
rendered here is the note the engine plays live for that latent and pitch.

Two differences from a live bank, both because a piece needs few pitches per
latent: only the pitches the piece plays are made, and a pitch outside the
model's range is made from its nearest model pitch in one band-limited soxr
pass (`shift_semitones`), where live pre-renders every third pitch above
the range and resamples in the engine below it.

The instrument level of a note (a preset's gain_db along the timbre path) is
carried by the bank it plays: a view of the same samples with a larger or
smaller `scale`, so the engine plays it without a per-note gain of its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from ..banks.arena import BankArena
from ..banks.bank import NoteBank
from ..banks.builder import BuildSettings, ProcessedNote, process_wave
from ..banks.cache import latent_id
from .notegen import GeneratedNotes

ProgressFn = Callable[[int, int], None]


def build_bank(notes: Sequence[ProcessedNote], settings: BuildSettings, bank_id: str = ""
               ) -> NoteBank:
    """One int16 NoteBank holding `notes` back to back, as the bank worker stores them."""
    arena = BankArena(sum(len(n.samples) for n in notes), settings.sample_rate, bank_id,
                      note_gain=settings.note_gain)
    for note in notes:
        arena.add(note)
    return arena.snapshot(complete=False)  # only the pitches a piece plays


def at_level(bank: NoteBank, gain_db: float) -> NoteBank:
    """The same notes `gain_db` louder (a view: the samples are shared, not copied)."""
    if gain_db == 0.0:
        return bank
    return replace(bank, scale=float(bank.scale) * 10.0 ** (float(gain_db) / 20.0))


def prepare_banks(generated: GeneratedNotes, pitches: Sequence[int],
                  gains_db: Sequence[float] | np.ndarray,
                  settings: BuildSettings = BuildSettings(),
                  progress: ProgressFn | None = None) -> list[NoteBank]:
    """The bank each requested note plays: note i plays pitch `pitches[i]` of bank i.

    Row i of `generated` (`generated.index[i]`) is note i's generated wave;
    when its model pitch differs from `pitches[i]` the note is made that many
    semitones away. Notes of one latent share one bank; `progress(done, total)`
    counts processed notes.
    """
    if len(pitches) != len(generated.index) or len(gains_db) != len(pitches):
        raise ValueError(f"{len(generated.index)} generated rows, {len(pitches)} pitches and "
                         f"{len(gains_db)} gains: one each per note")
    rows = [int(r) for r in generated.index]
    ids = [latent_id(generated.latents[r]) for r in rows]
    wanted: dict[str, dict[int, int]] = {}  # latent id -> pitch -> generated row
    for key, pitch, row in zip(ids, pitches, rows):
        wanted.setdefault(key, {}).setdefault(int(pitch), row)
    total = sum(len(by_pitch) for by_pitch in wanted.values())
    done = 0
    banks: dict[str, NoteBank] = {}
    for key, by_pitch in wanted.items():
        notes = []
        for pitch, row in sorted(by_pitch.items()):
            shift = pitch - int(generated.pitches[row])
            notes.append(process_wave(generated.waves[row], generated.sample_rate, pitch,
                                      settings, shift_semitones=shift))
            done += 1
            if progress is not None:
                progress(done, total)
        banks[key] = build_bank(notes, settings, key)
    levels: dict[tuple[str, float], NoteBank] = {}
    out = []
    for key, gain_db in zip(ids, gains_db):
        level = (key, float(gain_db))
        if level not in levels:
            levels[level] = at_level(banks[key], float(gain_db))
        out.append(levels[level])
    return out
