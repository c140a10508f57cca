"""Notes with their banks -> the live engine, played offline: events, settings, the run.

The studio renders through the engine's own code (`engine/offline.py`
drives the live audio callback block by block), so a piece sounds as it
would played live. What this module decides is how a score becomes engine
events and engine settings:

- every note keeps the timbre of its onset (magenta's rule): at its start a
  `SetLayers` with its own bank, then its `NoteOn`, and the engine runs with
  `follow_morph=False`, so sounding notes ignore later layer changes;
- the sustain pedal is already resolved by the score (`ScoreNote.end_s` is
  the pedal-extended end, re-strikes cut), so the engine gets note-offs at
  those ends and no pedal events: the piano roll, the report and the audio
  follow one rule;
- overlapping notes of one pitch (the score keeps each until its own
  note-off) go to different MIDI channels, because a note-off releases
  every voice of its channel and pitch;
- polyphony and bank slots are sized from the score's densest moment, so no
  note is stolen (up to 1024 sounding at once) and a layer change never
  waits for a slot (a note whose bank found no slot would sound with the
  previous note's bank: checked after the run);
- the master gain keeps the mix below half scale by a bound on the peak, so
  the engine's limiter never acts; the studio's final gain sets the level.

`schedule_live` is the other way (`render --corners/--mpe`): the events are
what the live MIDI translator made of the file (capture.py), the engine
follows the morph pad and each note's own expression, as in serve.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from ..banks.bank import BankLayers, NoteBank
from ..engine import Engine, EngineConfig, render_with_engine
from ..engine.rt.envelope import MIN_RELEASE_S
from ..engine.offline import TimedEvent
from ..events import NoteOff, NoteOn, SetLayers
from ..presets import Envelope
from .score import ScoreNote

ProgressFn = Callable[[int, int], None]

BLOCK_FRAMES = 1024  # offline blocks (events still land on their exact frame)
MAX_POLYPHONY = 1024  # the engine's limit; a denser score steals (counted)
MAX_QUEUE = 1 << 16  # events queued at once (render_with_engine drains a full queue)
LIVE_POLYPHONY = 64  # at least serve's voices for live events (the score may miss some)
CHANNELS = 16
# A shorter note still sounds this long (the live engine's min_note_s); applied to the
# note-off times here because the engine applies its own at block boundaries only.
MIN_NOTE_S = 0.01
MIX_PEAK = 0.5  # bound on the engine's output peak: far below the limiter's 0.89
CUBIC_OVERSHOOT = 1.25  # Catmull-Rom reads stay within 1.25x the samples' peak
CENTRE = math.cos(math.pi / 4)  # the constant-power pan law's centre
TAIL_MARGIN_S = 0.05  # a released voice is freed at the end of a block, after its release


@dataclass(frozen=True)
class Playback:
    """Everything `perform` needs: engine settings, timed events, length."""

    config: EngineConfig
    events: tuple[TimedEvent, ...]
    duration_s: float
    master_gain_db: float
    check_peak: bool = True  # a peak above MIX_PEAK is an internal error (not for live events)


@dataclass(frozen=True)
class Performance:
    audio: np.ndarray  # float32 (frames, 2), before the final gain
    voices_stolen: int
    notes_refused: int


def key_up_s(note: ScoreNote) -> float:
    """When the note's note-off reaches the engine (never sooner than MIN_NOTE_S)."""
    return max(note.end_s, note.start_s + MIN_NOTE_S)


def assign_channels(notes: Sequence[ScoreNote]) -> list[int]:
    """A MIDI channel per note, so notes of one pitch that overlap never share one.

    Beyond 16 overlapping notes of one pitch the channel freed first is reused
    (the engine then re-strikes that key, as a MIDI synth would).
    """
    free_at: dict[int, list[float]] = {}
    channels = [0] * len(notes)
    for i in sorted(range(len(notes)), key=lambda i: notes[i].start_s):
        note = notes[i]
        lanes = free_at.setdefault(int(note.pitch), [-math.inf] * CHANNELS)
        free = [c for c in range(CHANNELS) if lanes[c] <= note.start_s]
        c = free[0] if free else int(np.argmin(lanes))
        lanes[c] = key_up_s(note)
        channels[i] = c
    return channels


def _densest(spans: Sequence[tuple[float, float]], keys: Sequence[int],
             weights: Sequence[float]) -> tuple[int, int, float]:
    """Most spans at once, most distinct keys at once, largest weight sum at once."""
    edges = sorted([(s, 1, i) for i, (s, _) in enumerate(spans)]
                   + [(e, 0, i) for i, (_, e) in enumerate(spans)])  # ends first at a tie
    count = most = most_keys = 0
    total = heaviest = 0.0
    sounding: Counter[int] = Counter()
    for _, starts, i in edges:
        if starts:
            count += 1
            sounding[keys[i]] += 1
            total += weights[i]
            most, heaviest = max(most, count), max(heaviest, total)
            most_keys = max(most_keys, len(sounding))
        else:
            count -= 1
            total -= weights[i]
            sounding[keys[i]] -= 1
            if sounding[keys[i]] == 0:
                del sounding[keys[i]]
    return most, most_keys, heaviest


def _note_peak(bank: NoteBank, pitch: int, cache: dict[tuple[int, int], float]) -> float:
    """Largest sample magnitude of the note the engine plays for `pitch`, in output units."""
    key = (id(bank), pitch)
    if key not in cache:
        slot, _ = bank.nearest(pitch)
        data = bank.samples[slot.start:slot.end]
        top = float(np.max(np.abs(data.astype(np.float64)))) if len(data) else 0.0
        cache[key] = top * bank.amplitude(slot)
    return cache[key]


def schedule(notes: Sequence[ScoreNote], banks: Sequence[NoteBank], sample_rate: int,
             envelope: Envelope, velocity_curve: float) -> Playback:
    """The engine settings and events that play `notes[i]` from `banks[i]`."""
    if len(notes) != len(banks):
        raise ValueError(f"{len(notes)} notes but {len(banks)} banks")
    release_s = max(float(envelope.release_s), MIN_RELEASE_S)
    tail_s = release_s + BLOCK_FRAMES / sample_rate + TAIL_MARGIN_S
    peaks: dict[tuple[int, int], float] = {}
    spans, keys, weights = [], [], []
    for note, bank in zip(notes, banks):
        spans.append((note.start_s, key_up_s(note) + tail_s))
        keys.append(id(bank))
        velocity_gain = (int(note.velocity) / 127.0) ** velocity_curve
        weights.append(velocity_gain * _note_peak(bank, int(note.pitch), peaks))
    most, most_banks, heaviest = _densest(spans, keys, weights)
    config = _engine_config(sample_rate, envelope, velocity_curve, heaviest,
                            polyphony=max(1, min(most, MAX_POLYPHONY)), follow_morph=False,
                            events=2 * len(notes))
    # A slot per bank sounding at once, plus one for the next note's; past MAX_POLYPHONY
    # stolen voices end early, so the voices bound what can be in use.
    config = replace(config, bank_slots=max(8, min(most_banks, config.voice_count) + 1))

    channels = assign_channels(notes)
    layers: dict[int, BankLayers] = {}
    timed: list[tuple[float, int, int, object]] = []  # time, note-offs first at a tie, ...
    for i, (note, bank, channel) in enumerate(zip(notes, banks, channels)):
        if id(bank) not in layers:
            layers[id(bank)] = BankLayers.single(bank)
        pitch = int(note.pitch)
        timed.append((note.start_s, 1, 2 * i, SetLayers(layers[id(bank)])))
        timed.append((note.start_s, 1, 2 * i + 1, NoteOn(pitch, int(note.velocity), channel)))
        timed.append((key_up_s(note), 0, 2 * i, NoteOff(pitch, channel)))
    timed.sort(key=lambda item: item[:3])
    duration_s = max((key_up_s(n) + release_s for n in notes), default=0.0)
    return Playback(config=config, events=tuple((t, e) for t, _, _, e in timed),
                    duration_s=duration_s, master_gain_db=20.0 * math.log10(config.master_gain))


def _engine_config(sample_rate: int, envelope: Envelope, velocity_curve: float,
                   heaviest: float, *, polyphony: int, follow_morph: bool,
                   events: int) -> EngineConfig:
    """The studio's engine settings: a master gain that keeps the mix below MIX_PEAK (given
    the largest sum of note peaks at once), every event applied on its own frame."""
    bound = heaviest * CUBIC_OVERSHOOT * CENTRE
    master = min(4.0, MIX_PEAK / bound) if bound > 0.0 else 1.0
    return EngineConfig(
        sample_rate=int(sample_rate), polyphony=polyphony, max_block_frames=BLOCK_FRAMES,
        attack_s=float(envelope.attack_s), decay_s=float(envelope.decay_s),
        sustain=float(envelope.sustain), release_s=float(envelope.release_s),
        velocity_curve=float(velocity_curve), pan_spread=0.0, master_gain=master,
        follow_morph=follow_morph, min_note_s=0.0,  # MIN_NOTE_S applied by the caller
        max_events_per_block=events + 1,  # offline: every event on its own frame
        queue_capacity=min(MAX_QUEUE, max(2048, events + 16)))  # a full queue only waits


def schedule_live(notes: Sequence[ScoreNote], events: Sequence[TimedEvent],
                  banks: Sequence[NoteBank], end_s: float, sample_rate: int,
                  envelope: Envelope, velocity_curve: float) -> Playback:
    """Engine settings for events recorded from the live MIDI translator (capture.py).

    Unlike `schedule`, the engine plays the events as `serve` would:
    sounding notes follow the pad (`follow_morph`) and their own expression,
    and the engine handles pedals, bends and zones itself. The score's notes
    (`notes`) only size the voices and the master gain: a note mixes the
    grid's banks with weights summing to 1, so its peak is at most the
    loudest bank's. The translator's sostenuto (which the score does not
    model) can hold more notes than that: the mix may then reach the
    limiter, as live, so `perform` does not treat a higher peak as an error.
    `banks` are every bank the events' layers use: each gets a slot, so a
    layer change never waits.
    """
    release_s = max(float(envelope.release_s), MIN_RELEASE_S)
    tail_s = release_s + BLOCK_FRAMES / sample_rate + TAIL_MARGIN_S
    peaks: dict[tuple[int, int], float] = {}
    spans, weights = [], []
    for note in notes:
        spans.append((note.start_s, key_up_s(note) + tail_s))
        loudest = max(_note_peak(bank, int(note.pitch), peaks) for bank in banks)
        weights.append((int(note.velocity) / 127.0) ** velocity_curve * loudest)
    most, _, heaviest = _densest(spans, [0] * len(spans), weights)
    config = _engine_config(sample_rate, envelope, velocity_curve, heaviest,
                            polyphony=min(MAX_POLYPHONY, max(LIVE_POLYPHONY, most)),
                            follow_morph=True, events=len(events))
    config = replace(config, min_note_s=MIN_NOTE_S,  # serve's: note-offs come as played
                     bank_slots=max(config.bank_slots, len(banks) + 4))
    last = max((t for t, _ in events), default=0.0)
    return Playback(config=config, events=tuple(events),
                    duration_s=max(end_s, last) + tail_s, check_peak=False,
                    master_gain_db=20.0 * math.log10(config.master_gain))


def perform(playback: Playback, progress: ProgressFn | None = None) -> Performance:
    """Play the events through the live engine's callback, block by block.

    `progress(done, total)` counts seconds of audio rendered.
    """
    engine = Engine(playback.config)
    rate = engine.sample_rate

    def frames_to_seconds(done: int, total: int) -> None:
        if progress is not None:
            seconds = math.ceil(total / rate)
            progress(seconds if done >= total else done // rate, seconds)

    audio = render_with_engine(engine, playback.events, playback.duration_s,
                               block_frames=BLOCK_FRAMES, progress=frames_to_seconds)
    stats = engine.stats()
    if stats.layer_swaps_waiting:
        raise RuntimeError(f"internal error: {stats.layer_swaps_waiting} layer changes waited "
                           f"for a bank slot ({playback.config.bank_slots} slots); notes would "
                           "have played the wrong instrument")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if playback.check_peak and peak > MIX_PEAK * 1.001:
        raise RuntimeError(f"internal error: the engine's output peaked at {peak:.3f}, above "
                           f"the bound {MIX_PEAK}; its limiter may have acted")
    return Performance(audio=audio, voices_stolen=stats.voices_stolen,
                       notes_refused=stats.notes_refused)
