"""A score and a timbre path -> a mixed stereo track, in independent steps.

1. `plan_render`: which latent and which model pitch each note needs
   (magenta's interpolation over onsets, the out-of-range policy);
2. `generate_notes` (notegen.py): each distinct (latent, pitch) generated once;
3. `prepare_banks` (material.py): the live bank builder turns them into
   NoteBanks at the output rate, with sustain loops;
4. `schedule` + `perform` (playback.py): the notes as engine events, played
   through the live engine's own callback, offline;
5. `finalize` (gain.py): one gain for the whole track, so it never clips.

`render_pad` is the other way (`render --corners/--mpe`): the live morph pad
instead of a timbre path. The grid's banks are made as serve makes them
(pad.py), the file's messages go through the live MIDI translator
(capture.py), and the engine plays them following the pad and each note's
own expression; `finalize` as above. Each note's pad path comes with it
(note_paths.py), for the piano roll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..banks.builder import BuildSettings
from ..errors import GansynthLiveError
from ..events import SetExpression
from ..presets import Envelope
from .capture import Capture, capture
from .gain import finalize
from .material import prepare_banks
from .note_paths import NotePath, note_paths
from .notegen import GeneratedNotes, generate_notes
from .pad import PadSettings, build_grid, expression_warning
from .playback import perform, schedule, schedule_live
from .score import RangeFit, Score, ScoreNote, fit_to_range, source_pitch
from .timbre_path import TimbrePath

MAX_RENDER_S = 3600.0  # a corrupt or hostile file must not ask for terabytes of audio
# magenta's get_envelope: 10 ms attack, full sustain, 0.3 s release
COLAB_ENVELOPE = Envelope(attack_s=0.010, decay_s=0.2, sustain=1.0, release_s=0.3)
# progress(description, unit) -> callback(done, total); see commands/progress.py
ProgressFactory = Callable[[str, str], Callable[[int, int], None]]


@dataclass(frozen=True)
class RenderSettings:
    sample_rate: int = 16000
    envelope: Envelope = field(default_factory=lambda: COLAB_ENVELOPE)
    velocity_curve: float = 2.0
    peak_db: float = -1.0
    range_mode: str = "resample"
    batch_size: int | None = None


@dataclass(frozen=True)
class RenderPlan:
    """What every note will be made of: latents and model pitches, row per note."""

    notes: tuple[ScoreNote, ...]
    latents: np.ndarray         # float64 [n, latent_size]
    source_pitches: np.ndarray  # int [n]: the pitch the model generates
    gains_db: np.ndarray        # [n]: instrument level
    range_fit: RangeFit


@dataclass(frozen=True)
class RenderResult:
    audio: np.ndarray  # float32 [frames, 2], final gain applied
    sample_rate: int
    plan: RenderPlan
    gain_db: float  # from the notes' own level to the output (engine master + final gain)
    distinct_notes: int
    voices_stolen: int = 0  # only past the engine's 1024 voices
    notes_refused: int = 0  # and then only if every voice is still fading out


def plan_render(score: Score, path: TimbrePath, pitch_range: range,
                range_mode: str = "resample") -> RenderPlan:
    """Each note's latent (taken at its onset) and the model pitch it is made from."""
    fit = fit_to_range(score.notes, pitch_range, range_mode)
    notes = fit.notes
    onsets = np.array([n.start_s for n in notes], dtype=np.float64)
    latents = (path.latents_at(onsets) if len(notes)
               else np.zeros((0, path.latent_size), dtype=np.float64))
    sources = np.array([source_pitch(n.pitch, pitch_range) for n in notes], dtype=np.int64)
    gains = path.gains_db_at(onsets) if len(notes) else np.zeros(0)
    return RenderPlan(notes=notes, latents=latents, source_pitches=sources, gains_db=gains,
                      range_fit=fit)


def render_plan(model, plan: RenderPlan, settings: RenderSettings = RenderSettings(),
                progress: ProgressFactory | None = None) -> RenderResult:
    """Generate, prepare and play the planned notes; `progress` makes progress callbacks."""
    _check_length(max((n.end_s for n in plan.notes), default=0.0), settings)
    bar = progress("generating", "note") if progress is not None else None
    generated = generate_notes(model, plan.latents, plan.source_pitches,
                               batch_size=settings.batch_size, progress=bar)
    return render_generated(plan, generated, settings, progress)


def render_generated(plan: RenderPlan, generated: GeneratedNotes,
                     settings: RenderSettings = RenderSettings(),
                     progress: ProgressFactory | None = None) -> RenderResult:
    """The planned notes, already generated (`generated.index[i]` is note i), as a track."""

    def bar(desc: str, unit: str):
        return progress(desc, unit) if progress is not None else None

    build = BuildSettings(sample_rate=settings.sample_rate)
    banks = prepare_banks(generated, [int(n.pitch) for n in plan.notes], plan.gains_db, build,
                          bar("preparing", "note"))
    playback = schedule(plan.notes, banks, settings.sample_rate, settings.envelope,
                        settings.velocity_curve)
    played = perform(playback, bar("playing", "s"))
    audio, gain_db = finalize(played.audio, settings.peak_db)
    return RenderResult(audio=audio, sample_rate=settings.sample_rate, plan=plan,
                        gain_db=playback.master_gain_db + gain_db,
                        distinct_notes=len(generated.waves), voices_stolen=played.voices_stolen,
                        notes_refused=played.notes_refused)


def _check_length(end_s: float, settings: RenderSettings) -> None:
    longest = end_s + settings.envelope.release_s
    if longest > MAX_RENDER_S:
        raise GansynthLiveError(f"the render would last {longest / 60:.0f} minutes; at most "
                                f"{MAX_RENDER_S / 60:.0f} are allowed (is the MIDI file's "
                                "timing broken?)")


@dataclass(frozen=True)
class PadRender:
    """A track played on the morph pad, with what each note did on it."""

    audio: np.ndarray  # float32 [frames, 2], final gain applied
    sample_rate: int
    gain_db: float
    paths: list[NotePath]  # paths[i] belongs to score.notes[i]
    capture: Capture
    banks: int  # distinct banks of the grid
    warning: str | None = None  # why per-note expression may not move notes (pad.py)
    voices_stolen: int = 0
    notes_refused: int = 0


def render_pad(model, score: Score, messages: Sequence[tuple[float, object]],
               anchors: np.ndarray, pad: PadSettings,
               settings: RenderSettings = RenderSettings(), *, skip_drums: bool = False,
               progress: ProgressFactory | None = None) -> PadRender:
    """Play a file's messages (`read_messages`) on the morph pad over `anchors`, as serve.

    `score` (read with the same `skip_drums`) gives the notes: their pitch
    range is what is generated, and they size the engine (see
    `schedule_live`).
    """
    if not score.notes:
        raise GansynthLiveError("no notes to render")
    _check_length(score.duration_s, settings)

    def bar(desc: str, unit: str):
        return progress(desc, unit) if progress is not None else None

    pitches = sorted({int(n.pitch) for n in score.notes})
    grid = build_grid(model, anchors, pad.resolution, pitches, settings.sample_rate,
                      batch_size=settings.batch_size, progress=bar("generating", "note"))
    recorded = capture(messages, grid.layers_at, pad.position, pad.zones,
                       skip_drums=skip_drums, end_s=score.duration_s, expression=pad.expression)
    banks = list({id(p.bank): p.bank for p in grid.points.values()
                  if p.bank is not None}.values())
    playback = schedule_live(score.notes, recorded.events, banks, score.duration_s,
                             settings.sample_rate, settings.envelope, settings.velocity_curve)
    played = perform(playback, bar("playing", "s"))
    audio, gain_db = finalize(played.audio, settings.peak_db)
    expressions = [e for _, e in recorded.events if isinstance(e, SetExpression)]
    warning = expression_warning(grid, *pad.position,
                                 slide=any(e.pitch is None for e in expressions)) \
        if expressions else None
    return PadRender(audio=audio, sample_rate=settings.sample_rate,
                     gain_db=playback.master_gain_db + gain_db,
                     paths=note_paths(score.notes, recorded.events, recorded.pad),
                     capture=recorded, banks=len(banks), warning=warning,
                     voices_stolen=played.voices_stolen,
                     notes_refused=played.notes_refused)
