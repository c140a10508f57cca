"""Corners of the morph pad and the preset library they are chosen from.

A corner is a latent plus what it came from (a preset name, or a seed for a
random one, so it can be saved and found again). The library wraps
`presets.find_preset`/`list_presets` with what live control needs: stepping
to the next/previous preset and mapping MIDI program numbers, with the list
of names cached for a moment so a flood of program changes or button presses
does not rescan the folders for each message.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GansynthLiveError
from ..model.prior import NORMAL, LatentPrior
from ..presets import Preset, PresetError, find_preset, list_presets

LIST_TTL_S = 2.0


@dataclass(frozen=True, eq=False)
class Corner:
    """One corner's latent and its origin (for labels and for saving)."""

    label: str
    latent: np.ndarray
    preset: str | None = None
    seed: int | None = None
    model: str = ""


def seeded_corner(latent_size: int, seed: int, prior: LatentPrior = NORMAL) -> Corner:
    """The latent `GanSynth.random_latents(1, seed)` draws: from the model's prior
    (model/prior.py; magenta's N(0, 1) for magenta's models)."""
    latent = prior.draw(1, latent_size, seed)[0]
    return Corner(f"random {seed}", latent, seed=seed)


def preset_corner(preset: Preset, latent_size: int) -> Corner:
    if preset.is_morph:
        raise PresetError(f"preset {preset.name!r} is a morph setup; a corner needs a preset "
                          "with a latent or seed")
    return Corner(preset.name, preset.latent_vector(latent_size), preset=preset.name,
                  seed=preset.seed if preset.latent is None else None, model=preset.model)


def corner_from_spec(spec: str, library: "PresetLibrary", latent_size: int,
                     prior: LatentPrior = NORMAL) -> Corner:
    """A `--corners` entry: `seed:N` (a draw from the model's prior) or a preset name.

    serve and `render --corners` both read corners through this, so a spec
    means the same sound in both.
    """
    if spec.startswith("seed:"):
        try:
            seed = int(spec[5:])
        except ValueError:
            raise GansynthLiveError(f"corner {spec!r}: seed:N needs a whole number") from None
        if not 0 <= seed < 2**32:
            raise GansynthLiveError(f"corner {spec!r}: seeds are 0..2**32-1")
        return seeded_corner(latent_size, seed, prior)
    return preset_corner(library.find(spec), latent_size)


class PresetLibrary:
    """Finding presets by name, by step and by MIDI program number. Any thread."""

    def __init__(self, extra: Path | None = None, programs: dict[int, str] | None = None) -> None:
        self.extra = extra
        self.programs = dict(programs or {})
        # Set by the instrument: stepping and program changes skip presets made for
        # another model (e.g. the shipped presets of the default model while playing
        # Google's): a latent means a timbre only in the model it was fitted or drawn for.
        self.latent_size: int | None = None
        self.model_name: str | None = None
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Preset]] = (-1e9, [])

    def find(self, name: str) -> Preset:
        return find_preset(name, self.extra)

    def presets(self) -> list[Preset]:
        """Every readable preset, sorted by name (malformed files are left out)."""
        with self._lock:
            at, presets = self._cached
            if time.monotonic() - at > LIST_TTL_S:
                presets = sorted((p for p, _, _ in list_presets(self.extra) if p is not None),
                                 key=lambda p: p.name.lower())
                presets = [p for p in presets if self.plays(p)]
                self._cached = (time.monotonic(), presets)
            return presets

    def plays(self, preset: Preset) -> bool:
        """Whether `preset` belongs to the model being played.

        A latent (or a morph setup of such presets) belongs to the model it names; a
        seed-only preset draws its latent from the model's own distribution, so it fits
        any model."""
        if preset.latent is not None and self.latent_size is not None and \
                len(preset.latent) != self.latent_size:
            return False
        if self.model_name is None or (preset.latent is None and not preset.is_morph):
            return True
        return preset.model == self.model_name

    def names(self, single_only: bool = False) -> list[str]:
        return [p.name for p in self.presets() if not (single_only and p.is_morph)]

    def step(self, current: str | None, delta: int, single_only: bool = False) -> str:
        names = self.names(single_only)
        if not names:
            raise PresetError("no presets found (save one with `gansynth-live preset save`)")
        if current not in names:
            return names[0] if delta > 0 else names[-1]
        return names[(names.index(current) + delta) % len(names)]

    def program(self, number: int) -> str:
        """The preset for a MIDI program: the `programs` table, else the Nth by name."""
        if number in self.programs:
            return self.programs[number]
        names = self.names()
        if number >= len(names):
            raise PresetError(f"program {number}: only {len(names)} preset(s) (programs "
                              f"0..{len(names) - 1}); map more in the config's [programs]")
        return names[number]
