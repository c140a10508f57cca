"""A score and a timbre path -> a mixed stereo track, in three independent steps.

1. `plan_render`: which latent and which model pitch each note needs
   (magenta's interpolation over onsets, the out-of-range policy);
2. `generate_notes` (notegen.py): each distinct (latent, pitch) generated once;
3. `prepare_banks` + `mix_notes` (material.py, mix.py): playable banks at the
   output rate, then the mix; `finalize` sets one gain for the whole track.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..banks.bank import NoteBank
from ..errors import GansynthLiveError
from ..presets import Envelope
from .material import MaterialSettings, build_bank, latent_id, prepare_note
from .mix import MixNote, finalize, mix_notes
from .notegen import GeneratedNotes, generate_notes
from .score import RangeFit, Score, ScoreNote, fit_to_range, source_pitch
from .timbre import TimbrePath

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
    gain_db: float
    distinct_notes: int


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


def prepare_banks(plan: RenderPlan, generated: GeneratedNotes, settings: MaterialSettings,
                  progress: Callable[[int, int], None] | None = None) -> list[NoteBank]:
    """A NoteBank per distinct latent, with a slot per pitch its notes play; one per note."""
    by_latent: dict[str, dict[int, tuple[int, int]]] = {}
    note_keys: list[str] = []
    for i, note in enumerate(plan.notes):
        key = latent_id(plan.latents[i])
        note_keys.append(key)
        by_latent.setdefault(key, {})[int(note.pitch)] = (int(generated.index[i]),
                                                         int(plan.source_pitches[i]))
    banks: dict[str, NoteBank] = {}
    total = sum(len(v) for v in by_latent.values())
    done = 0
    for key, pitches in by_latent.items():
        prepared = {}
        for pitch, (row, source) in pitches.items():
            prepared[pitch] = prepare_note(generated.waves[row], generated.sample_rate,
                                           pitch - source, settings)
            done += 1
            if progress is not None:
                progress(done, total)
        banks[key] = build_bank(prepared, settings.sample_rate, key)
    return [banks[k] for k in note_keys]


def render_plan(model, plan: RenderPlan, settings: RenderSettings = RenderSettings(),
                progress: ProgressFactory | None = None) -> RenderResult:
    """Generate, prepare and mix the planned notes; `progress` makes progress callbacks."""
    longest = max((n.end_s for n in plan.notes), default=0.0) + settings.envelope.release_s
    if longest > MAX_RENDER_S:
        raise GansynthLiveError(f"the render would last {longest / 60:.0f} minutes; at most "
                                f"{MAX_RENDER_S / 60:.0f} are allowed (is the MIDI file's "
                                "timing broken?)")

    def bar(desc: str):
        return progress(desc, "note") if progress is not None else None

    generated = generate_notes(model, plan.latents, plan.source_pitches,
                               batch_size=settings.batch_size, progress=bar("generating"))
    material = MaterialSettings(sample_rate=settings.sample_rate)
    banks = prepare_banks(plan, generated, material, bar("preparing"))
    notes = [MixNote(start_s=n.start_s, end_s=n.end_s, pitch=int(n.pitch),
                     velocity=int(n.velocity), bank=bank,
                     gain=float(10.0 ** (plan.gains_db[i] / 20.0)))
             for i, (n, bank) in enumerate(zip(plan.notes, banks))]
    mixed = mix_notes(notes, settings.sample_rate, settings.envelope, settings.velocity_curve,
                      progress=bar("mixing"))
    audio, gain_db = finalize(mixed, settings.peak_db)
    return RenderResult(audio=audio, sample_rate=settings.sample_rate, plan=plan,
                        gain_db=gain_db, distinct_notes=len(generated.waves))

