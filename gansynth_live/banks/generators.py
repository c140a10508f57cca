"""Where a bank's notes come from: one interface, three places to run the model.

The bank service (service.py) asks a `NoteGenerator` for the processed notes
of one latent at some pitches, and never cares where the model runs:

- `LocalGenerator`: in this process (tests, offline commands on a loaded model);
- `GeneratorProcess` (generator_process.py): a child process, so TensorFlow
  never holds the audio process's interpreter lock (what `serve` uses);
- `RemoteGenerator` (cluster/client.py): a Ray Serve deployment on another
  machine, over HTTP (`serve --generator URL`).

All three end in `generate_notes` / `process_waves` here: the model's waves
become ProcessedNotes (trimmed, looped, resampled, extension pitches
rendered from their source) by one function, wherever the waves were made.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .builder import BuildSettings, ProcessedNote, process_wave
from .source import ModelSource, ModelStamp

if TYPE_CHECKING:
    from ..model.gansynth import GanSynth

Rendered = tuple[list[ProcessedNote], float, float]  # notes, generator s, processing s


class GeneratorError(RuntimeError):
    """A generator could not make notes (its process ended, its model failed)."""


class GeneratorUnavailable(GeneratorError):
    """The generator cannot be reached now (a remote server down or too slow); another
    generator may take over, and this one may come back."""


class NoteGenerator(Protocol):
    """Makes processed notes for (latent, pitches). Used from the bank worker thread only."""

    name: str  # what the status line says: "local", "child process", "remote URL"
    warm_up_s: float

    @property
    def running(self) -> bool: ...

    def start(self) -> ModelStamp:
        """Load and warm up the model; its stamp. Raises GeneratorError on failure."""

    def render(self, latent: np.ndarray, pitches: list[int],
               extensions: dict[int, int]) -> Rendered:
        """The notes of `pitches` (and the extension pitches rendered from them)."""

    def close(self) -> None: ...


def process_waves(waves: np.ndarray, pitches: list[int], source_rate: int,
                  settings: BuildSettings, extensions: dict[int, int]) -> list[ProcessedNote]:
    """Model waves (one per pitch) -> processed notes, plus each extension pitch
    (`extensions`: pitch above the model's range -> the model pitch it is rendered from)."""
    notes = []
    for pitch, wave in zip(pitches, waves):
        notes.append(process_wave(wave, source_rate, pitch, settings))
        for ext_pitch, source in extensions.items():
            if source == pitch:
                notes.append(process_wave(wave, source_rate, ext_pitch, settings,
                                          shift_semitones=ext_pitch - source))
    return notes


def generate_notes(model: GanSynth, rate: int, latent: np.ndarray, pitches: list[int],
                   extensions: dict[int, int], settings: BuildSettings) -> Rendered:
    """One batch through the model, then `process_waves`, timed."""
    z = np.repeat(np.asarray(latent, dtype=np.float64)[np.newaxis, :], len(pitches), axis=0)
    t0 = time.perf_counter()
    waves = model.generate(z, pitches, batch_size=len(pitches))
    t1 = time.perf_counter()
    notes = process_waves(waves, pitches, rate, settings, extensions)
    return notes, t1 - t0, time.perf_counter() - t1


def warm_up(model: GanSynth, stamp: ModelStamp, settings: BuildSettings) -> None:
    """Trace the model's graph and import the DSP modules once, so the first real note
    costs only its own generation."""
    mid = stamp.pitch_range[len(stamp.pitch_range) // 2]
    generate_notes(model, stamp.sample_rate, np.zeros(stamp.latent_size), [mid], {}, settings)


class LocalGenerator:
    """The model in this process (loaded from `source` on `start`)."""

    name = "local"

    def __init__(self, source: ModelSource, settings: BuildSettings) -> None:
        self.source = source
        self.settings = settings
        self.warm_up_s = 0.0
        self._model: GanSynth | None = None

    @property
    def running(self) -> bool:
        return self._model is not None

    def start(self) -> ModelStamp:
        if self._model is None:
            t0 = time.perf_counter()
            model = self.source.load()
            stamp = self.source.stamp
            assert stamp is not None
            warm_up(model, stamp, self.settings)
            self.warm_up_s = time.perf_counter() - t0
            self._model = model
        stamp = self.source.stamp
        assert stamp is not None
        return stamp

    def render(self, latent: np.ndarray, pitches: list[int],
               extensions: dict[int, int]) -> Rendered:
        stamp = self.start()
        assert self._model is not None
        return generate_notes(self._model, stamp.sample_rate, latent, pitches, extensions,
                              self.settings)

    def close(self) -> None:
        """The model stays loaded (the source owns it)."""
