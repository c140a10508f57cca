"""A set of training notes in memory: fixed-length mono waves with their labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoteSet:
    """Notes of equal length at one sample rate.

    `voice` indexes `voices`: the names that get one trainable latent each (an
    instrument, or instrument@velocity when several velocities are fitted).
    """

    waves: np.ndarray  # float32 [n, audio_length]
    pitches: np.ndarray  # int32 [n], MIDI
    voice: np.ndarray  # int32 [n], index into voices
    voices: tuple[str, ...]
    programs: tuple[int | None, ...]  # GM program per voice (None for user samples)
    sample_rate: int

    def __post_init__(self) -> None:
        n = len(self.waves)
        if self.waves.ndim != 2 or len(self.pitches) != n or len(self.voice) != n:
            raise ValueError("waves, pitches and voice must describe the same notes")
        if len(self.programs) != len(self.voices):
            raise ValueError("one program entry per voice")

    def __len__(self) -> int:
        return len(self.waves)

    def subset(self, mask: np.ndarray) -> "NoteSet":
        """The notes where mask is true; voices without notes are dropped."""
        keep = np.flatnonzero(mask)
        used = sorted(set(self.voice[keep].tolist()))
        remap = {old: new for new, old in enumerate(used)}
        return NoteSet(
            waves=self.waves[keep], pitches=self.pitches[keep],
            voice=np.array([remap[v] for v in self.voice[keep]], np.int32),
            voices=tuple(self.voices[v] for v in used),
            programs=tuple(self.programs[v] for v in used), sample_rate=self.sample_rate)
