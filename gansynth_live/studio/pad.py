"""The morph pad of `render --corners/--mpe`: serve's corners, position and grid, for one file.

A render in this mode plays what `serve` would play, so it takes serve's
pieces rather than copies of them: the option values are converted and
checked by serve's option table (`live/config.py`), the corner specs are
resolved by serve's own `corner_from_spec`, the banks come from the bank
service and the banks package's `MorphGrid`, and the layers at a position
from `MorphGrid.layers_at`. What differs, and why:

- only the file's pitch range is generated (`PitchWindow`), and completely,
  before playing: a render can wait, and a grid point's bank counts only
  once it is complete;
- the grid is used directly, not through serve's `GridSpace`: what that adds
  is for a session that runs for hours (banks kept across corner changes, one
  bank when one preset sits on every corner, progress for the status line).
  Its `merge_layers` hands layers that carry pad positions on unchanged, so
  a render plays the layers serve plays at the same position;
- the pad position's layers carry the grid points around it (MorphGrid
  `layers_at`), so a note's own expression moves it in every direction, even
  with the pad on a grid point (the centre of the default 3x3 grid).
  `expression_warning` says when the pad's shape leaves an axis stuck.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..banks.builder import BuildSettings
from ..banks.morph import MorphGrid
from ..banks.source import ModelSource
from ..banks.service import BankService
from ..errors import GansynthLiveError
from ..inputs.midi import Expression, MpeZone

DEFAULT_RESOLUTION = 3  # serve's, without a preset that names one
EXPRESSION_OPTIONS = ("expression_slide", "expression_pressure", "expression_depth",
                      "expression_curve")
PAD_OPTIONS = ("corners", "morph", "resolution", "mpe") + EXPRESSION_OPTIONS  # serve's, shared
WAIT_STEP_S = 0.2  # how often the bank wait reports progress

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class PadSettings:
    """What `render --corners ... [--morph X,Y] [--resolution N] [--mpe [ZONES]]` asked for."""

    corners: tuple[str, ...]
    position: tuple[float, float]
    resolution: int
    zones: tuple[MpeZone, ...]
    expression: Expression = Expression()  # how slide, pressure and aftertouch move a note

    @property
    def mpe(self) -> bool:
        """MPE from the start: then MIDI channel 10 is a member channel, not drums."""
        return bool(self.zones)


def pad_settings(given: dict[str, str]) -> PadSettings:
    """Flag values (option key -> text, only those given) checked by serve's own table.

    Raises serve's `ConfigError` (one line naming the flag) for a bad value.
    """
    from ..live.config import ServeConfig, from_flags

    unknown = set(given) - set(PAD_OPTIONS)
    if unknown:
        raise ValueError(f"not pad options: {sorted(unknown)}")
    config = ServeConfig(**from_flags(argparse.Namespace(**given)))
    if not config.corners:
        raise GansynthLiveError("--corners: name 2 to 4 corners (preset names or seed:N)")
    return PadSettings(corners=tuple(config.corners),
                       position=(float(config.morph[0]), float(config.morph[1])),
                       resolution=config.resolution or DEFAULT_RESOLUTION,
                       zones=config.mpe_zones, expression=config.expression)


def resolve_corners(specs: Sequence[str], latent_size: int, prior,
                    presets_dir: Path | None = None) -> np.ndarray:
    """The corners' latents (corners, latent_size), by serve's own rule for `--corners`."""
    from ..live.corners import PresetLibrary, corner_from_spec

    library = PresetLibrary(presets_dir)
    corners = [corner_from_spec(spec, library, latent_size, prior) for spec in specs]
    return np.stack([c.latent for c in corners])


class PitchWindow:
    """A model seen through a range of its pitches, so the bank service makes only those.

    Everything but `pitch_range` is the model's own.
    """

    def __init__(self, model, pitches: range) -> None:
        self._model = model
        self.pitch_range = pitches

    def __getattr__(self, name: str):
        return getattr(self._model, name)


def pitch_window(pitches: Iterable[int], model_range: range) -> range:
    """The model pitches the notes are made from: their span, clamped into the model's."""
    pitches = [int(p) for p in pitches]
    if not pitches:
        raise ValueError("no pitches")
    lo = min(max(min(pitches), model_range[0]), model_range[-1])
    hi = min(max(max(pitches), model_range[0]), model_range[-1])
    return range(lo, hi + 1)


def build_grid(model, anchors: np.ndarray, resolution: int, pitches: Sequence[int],
               sample_rate: int, *, batch_size: int | None = None,
               progress: ProgressFn | None = None) -> MorphGrid:
    """The morph grid over `anchors` with complete banks for `pitches` (serve's bank path).

    Notes above the model's range get the bank builder's pre-rendered
    extension notes (as in serve); below it they play the lowest pitch
    resampled, as the engine does with any missing pitch.
    """
    from ..live.timbre_space import grid_resolution

    window = pitch_window(pitches, model.pitch_range)
    settings = BuildSettings(sample_rate=int(sample_rate),
                             highest_pitch=min(127, max(max(pitches), window[-1])))
    source = ModelSource(model=PitchWindow(model, window), name="render")
    service = BankService(source, settings, None, batch_size=batch_size).start()
    try:
        grid = MorphGrid(service, anchors, grid_resolution(len(anchors), resolution)).start()
        _wait(grid, progress)
    finally:
        service.close()
    return grid


def _wait(grid: MorphGrid, progress: ProgressFn | None) -> None:
    handles = list({id(p.handle): p.handle for p in grid.points.values()}.values())
    while True:
        for handle in handles:
            if handle.state == "failed":
                raise GansynthLiveError(f"bank generation failed: {handle.error}")
        totals = [h.progress for h in handles]
        total = sum(t for _, t in totals)
        if progress is not None and total:  # (0, 0) until the worker has looked at a bank
            progress(sum(d for d, _ in totals), total)
        waiting = [h for h in handles if not h.finished]
        if not waiting:
            return
        waiting[0].wait(WAIT_STEP_S)


def expression_warning(grid: MorphGrid, x: float, y: float, slide: bool = True) -> str | None:
    """Why per-note expression would stay stuck on this pad, or None.

    Slide (CC74, MPE only: `slide`) moves y and pressure x (the translator's
    `Expression`); the layers at the position carry the grid points around
    it, so only the pad's shape can leave an axis without room.
    """
    if grid.shape == "triangle":
        return ("a 3-corner (triangle) pad: per-note expression does not move notes on it "
                "yet; give 2 or 4 corners")
    layers = grid.layers_at(x, y)
    if layers is None or layers.corners is None:
        return "the pad's banks are not made: notes cannot move"
    if slide and grid.shape == "line":
        return "slide (CC74) moves y, and a 2-corner pad has no y: give 4 corners"
    return None
