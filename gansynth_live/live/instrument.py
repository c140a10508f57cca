"""The instrument: what MIDI and OSC play and turn, in one place with thread-safe methods.

It owns the performance state (corners, morph position, preset, volume,
envelope, recording, MIDI learn) and talks to the engine in the two ways the
architecture allows: small events through `Engine.push` (notes go straight
there, from the input's own thread), and timbre changes through the
`LayerFollower` thread, which computes BankLayers off the audio thread and
hands them to the engine by reference.

Every control method may be called from any thread except the audio
callback (MIDI reader, OSC server, main thread); state changes take one
short lock that the audio thread never touches. Methods raise
`GansynthLiveError` for requests that cannot be honoured (unknown preset,
corner 4 of a 2-corner setup); the OSC server counts and reports those.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..engine import Engine
from ..errors import GansynthLiveError
from ..events import (AllNotesOff, AllSoundOff, NoteBend, NoteOff, NoteOn, PitchBend,
                      SetBendRange, SetEnvelope, SetExpression, SetMasterGain, SustainPedal)
from ..inputs.cc_map import CCMap
from ..inputs.midi import Expression
from ..model.prior import NORMAL, LatentPrior
from ..presets import Envelope, Preset, PresetError, save_preset
from .corners import Corner, PresetLibrary, preset_corner, seeded_corner
from .follower import LayerFollower, SpaceFactory
from .note_ids import NamedNote, NoteIds
from .recording import DEFAULT_MAX_TAKE_S, LiveRecording
from .timbre_space import BankProgress


MAX_GAIN = 4.0  # SetMasterGain's limit


def fader_gain(volume: float) -> float:
    """Linear gain of the volume fader: 2 v^2 (0.5 -> 0.5 = -6 dB, 0.707 -> 1, 1 -> 2)."""
    return 2.0 * volume * volume


@dataclass(frozen=True)
class InstrumentState:
    """A snapshot for the status line and OSC feedback."""

    x: float
    y: float
    shape: str
    corners: tuple[str, ...]
    preset: str
    volume: float
    gain_db: float
    envelope: Envelope
    bend_range: float
    recording: bool
    record_seconds: float
    record_path: str
    learning: str
    midi_map: str
    progress: BankProgress = field(default_factory=BankProgress)
    last_error: str = ""


class Instrument:
    """Corners, morph, presets and controls over one Engine (see the module docstring)."""

    def __init__(self, engine: Engine, make_space: SpaceFactory, *, latent_size: int,
                 model_name: str, library: PresetLibrary, recordings: Path,
                 cc_map: CCMap | None = None, volume: float = 0.5, resolution: int | None = None,
                 report: Callable[[str], None] = print,
                 max_take_s: float = DEFAULT_MAX_TAKE_S, prior: LatentPrior = NORMAL,
                 expression: Expression | None = None) -> None:
        self.engine = engine
        self.expression = expression or Expression()  # how /ne/timbre and /ne/pressure move
        self.note_ids = NoteIds()
        self.latent_size = int(latent_size)
        self.model_name = model_name
        self.prior = prior  # where /corner/N/random draws from: the model's own (model/prior.py)
        self.library = library
        library.latent_size = self.latent_size
        library.model_name = model_name
        self.report = report
        self.cc_map = cc_map or CCMap()
        self.recording = LiveRecording(engine, recordings, report=report,
                                       max_take_s=max_take_s)
        self.follower = LayerFollower(engine, make_space, report=report)
        config = engine.config
        self._lock = threading.RLock()
        self._corners: list[Corner] = []
        self._preset = ""
        self._x, self._y = 0.5, 0.5
        self._volume = float(volume)
        self._gain_db = 0.0
        self._envelope = Envelope(config.attack_s, config.decay_s, config.sustain,
                                  config.release_s)
        self._bend_range = config.bend_range_semitones
        self._resolution_override = resolution
        self._resolution = int(resolution or 3)
        self._warned_models: set[str] = set()
        self._seeds = np.random.default_rng()
        self.last_error = ""
        self._started = False

    # --- lifecycle (control thread) -----------------------------------------------------
    def start(self, corners: list[Corner] | None = None, preset: str | None = None,
              position: tuple[float, float] = (0.5, 0.5)) -> "Instrument":
        """Begin with a preset (or morph setup), or with explicit corners."""
        self.follower.start()
        self._started = True
        self.set_morph(*position)
        if preset is not None:
            self.select_preset(preset)
        else:
            if not corners:
                raise GansynthLiveError("the instrument needs a preset or 2..4 corners")
            with self._lock:
                self._set_corners(list(corners))
        self._apply_gain()
        self.engine.push(SetEnvelope(*self._envelope_tuple()))
        return self

    def close(self) -> None:
        """All notes off, stop the layer thread and any recording. Idempotent."""
        self.engine.push(AllNotesOff())
        if self._started:
            self.follower.close()
            self._started = False
        self.recording.stop_all()

    # --- notes (input threads) ----------------------------------------------------------
    def note_on(self, pitch: int, velocity: int, channel: int = 0) -> bool:
        """Start a note (channel 0..15); False if the engine's queue refused it (a flood)."""
        ok = self.engine.push(NoteOn(pitch, velocity, channel))
        if ok:
            self.note_played(pitch)
        return ok

    def note_played(self, pitch: int) -> None:
        """A note started (here, or on the audio thread by serve --jack's MIDI): the bank
        service renders the pitches played first."""
        self.follower.note_played(pitch)

    def note_off(self, pitch: int, channel: int = 0) -> None:
        self.engine.push(NoteOff(pitch, channel))

    def push(self, event: object) -> bool:
        return self.engine.push(event)

    def note(self, pitch: int, velocity: int, channel: int = 1) -> None:
        """OSC /note: channel 1..16, velocity 0 releases."""
        if velocity == 0:
            self.note_off(pitch, channel - 1)
        else:
            self.note_on(pitch, velocity, channel - 1)

    def note_release(self, pitch: int, channel: int = 1) -> None:
        self.note_off(pitch, channel - 1)

    # --- named notes and their expression (OSC, Surge XT's convention) -----------------
    def mnote(self, pitch: int, velocity: int, note_id: int | None = None) -> None:
        """OSC /mnote: a note on channel 1, named by `note_id` for /ne/...; velocity 0
        releases it (by id when given, else by key). A reused id releases its old note."""
        if velocity == 0:
            self.mnote_release(pitch, note_id)
            return
        if note_id is not None:
            previous = self.note_ids.start(note_id, 0, pitch)
            if previous is not None and previous.pitch != pitch:
                self.note_off(previous.pitch, previous.channel)
        self.note_on(pitch, velocity, 0)

    def mnote_release(self, pitch: int, note_id: int | None = None) -> None:
        """OSC /mnote/rel: release the note `note_id` names (else the key on channel 1)."""
        if note_id is None:
            self.note_off(pitch, 0)
            return
        note = self.note_ids.end(note_id)
        if note is not None:
            self.note_off(note.pitch, note.channel)

    def note_expression(self, note_id: int, kind: str, value: float) -> None:
        """OSC /ne/pitch (semitones), /ne/timbre and /ne/pressure (0..1) for a named note.

        Timbre is slide (0.5 = none, as CC74's 64) and pressure is pressure:
        both move the note's own morph through the expression mapping
        (`--expression-*`, as MPE does); pitch bends that key alone.
        """
        note = self.note_ids.get(note_id)
        if note is None:
            return
        if kind == "pitch":
            self.engine.push(NoteBend(note.channel, note.pitch, float(value)))
            return
        if kind == "timbre":
            note.slide = 2.0 * float(value) - 1.0
        else:
            note.pressure = float(value)
        self._express(note, *self.expression.offset(note.slide, note.pressure))

    def note_morph(self, note_id: int, dx: float, dy: float) -> None:
        """OSC /ne/morph: a named note's own morph offset from the pad, in pad units."""
        note = self.note_ids.get(note_id)
        if note is not None:
            self._express(note, dx, dy)

    def _express(self, note: NamedNote, dx: float, dy: float) -> None:
        self.engine.push(SetExpression(note.channel, note.pitch, float(dx), float(dy)))

    def sustain(self, down: bool, channel: int = 1) -> None:
        self.engine.push(SustainPedal(bool(down), channel - 1))

    def bend(self, value: float, channel: int = 1) -> None:
        self.engine.push(PitchBend(float(value), channel - 1))

    def set_bend_range(self, semitones: float) -> None:
        with self._lock:
            self._bend_range = float(semitones)
        self.engine.push(SetBendRange(float(semitones)))

    def all_notes_off(self) -> None:
        self.note_ids.clear()
        self.engine.push(AllNotesOff())

    def panic(self) -> None:
        self.note_ids.clear()
        self.engine.push(AllNotesOff())
        self.engine.push(AllSoundOff())

    # --- timbre -------------------------------------------------------------------------
    def set_morph(self, x: float | None = None, y: float | None = None) -> None:
        with self._lock:
            if x is not None:
                self._x = min(max(float(x), 0.0), 1.0)
            if y is not None:
                self._y = min(max(float(y), 0.0), 1.0)
            position = (self._x, self._y)
        self.follower.move(*position)

    def corner_random(self, n: int) -> None:
        seed = int(self._seeds.integers(0, 2**31 - 1))
        self._set_corner(n, seeded_corner(self.latent_size, seed, self.prior))

    def corner_preset(self, n: int, name: str) -> None:
        preset = self.library.find(name)
        self._set_corner(n, self._corner_of(preset))

    def corner_step(self, n: int, step: int) -> None:
        with self._lock:
            self._check_corner(n)
            current = self._corners[n - 1].preset
        name = self.library.step(current, step, single_only=True)
        self.corner_preset(n, name)

    def select_preset(self, name: str) -> None:
        """Load a preset on every corner, or a morph setup's corners; envelope and gain too."""
        preset = self.library.find(name)
        if preset.is_morph:
            corners = [self._corner_of(self.library.find(c)) for c in preset.corners]
        else:
            corners = [self._corner_of(preset)] * 4
        with self._lock:
            self._preset = preset.name
            self._envelope = preset.envelope
            self._gain_db = preset.gain_db
            self._resolution = self._resolution_override or preset.resolution
            self._set_corners(corners)
        self.engine.push(SetEnvelope(*self._envelope_tuple()))
        self._apply_gain()

    def preset_step(self, step: int) -> None:
        with self._lock:
            current = self._preset
        self.select_preset(self.library.step(current, step))

    def select_program(self, program: int) -> None:
        """MIDI program change / OSC /program: errors are reported, not raised (MIDI thread)."""
        try:
            self.select_preset(self.library.program(program))
        except GansynthLiveError as exc:
            self._report_error(str(exc))

    def save_preset(self, name: str) -> Path:
        """Save the current sound as a user preset (a morph setup if the corners differ)."""
        with self._lock:
            corners = list(self._corners)
            envelope, gain_db, resolution = self._envelope, self._gain_db, self._resolution
        distinct = {c.latent.tobytes() for c in corners}
        if len(distinct) == 1:
            path = save_preset(self._corner_preset(name, corners[0], envelope, gain_db))
        else:
            names = []
            for i, corner in enumerate(corners, start=1):
                if corner.preset is None:
                    corner_name = f"{name} corner {i}"
                    save_preset(self._corner_preset(corner_name, corner, envelope, gain_db))
                    names.append(corner_name)
                else:
                    names.append(corner.preset)
            path = save_preset(Preset(name=name, model=self.model_name, corners=tuple(names),
                                      resolution=resolution, envelope=envelope,
                                      gain_db=gain_db))
        self.report(f"saved preset {name!r} to {path}")
        with self._lock:
            self._preset = name
        return path

    def _corner_preset(self, name: str, corner: Corner, envelope: Envelope,
                       gain_db: float) -> Preset:
        latent = None if corner.seed is not None else tuple(float(v) for v in corner.latent)
        return Preset(name=name, model=self.model_name, latent=latent, seed=corner.seed,
                      envelope=envelope, gain_db=gain_db)

    # --- sound --------------------------------------------------------------------------
    def set_volume(self, value: float) -> None:
        with self._lock:
            self._volume = min(max(float(value), 0.0), 1.0)
        self._apply_gain()

    def set_envelope(self, attack_s: float | None = None, decay_s: float | None = None,
                     sustain: float | None = None, release_s: float | None = None) -> None:
        changes = {k: float(v) for k, v in (("attack_s", attack_s), ("decay_s", decay_s),
                                            ("sustain", sustain), ("release_s", release_s))
                   if v is not None}
        with self._lock:
            self._envelope = replace(self._envelope, **changes).validated("envelope")
            values = self._envelope_tuple()
        self.engine.push(SetEnvelope(*values))

    def set_recording(self, on: bool) -> None:
        if on:
            path = self.recording.start()
            self.report(f"recording to {path}")
        else:
            path = self.recording.stop()
            if path is not None:
                self.report(f"recording saved: {path}")

    def midi_learn(self, axis: str | None) -> None:
        self.cc_map.learn(axis)
        if axis is not None:
            self.report(f"MIDI learn: move a controller to drive morph {axis}")

    # --- reading (any thread) -----------------------------------------------------------
    def state(self) -> InstrumentState:
        with self._lock:
            corners = tuple(c.label for c in self._corners)
            rec = self.recording
            return InstrumentState(
                x=self._x, y=self._y, shape=self._shape(), corners=corners,
                preset=self._preset, volume=self._volume, gain_db=self._gain_db,
                envelope=self._envelope, bend_range=self._bend_range, recording=rec.active,
                record_seconds=rec.seconds,
                record_path=str(rec.last_path) if rec.last_path is not None else "",
                learning=self.cc_map.learning or "", midi_map=self.cc_map.describe(),
                progress=self.follower.progress(), last_error=self.last_error)

    @property
    def corners(self) -> list[Corner]:
        with self._lock:
            return list(self._corners)

    # --- internals (callers hold no lock unless noted) ----------------------------------
    def _shape(self) -> str:
        n = len({c.latent.tobytes() for c in self._corners})
        if n <= 1:
            return "point"
        return {2: "line", 3: "triangle", 4: "square"}[len(self._corners)]

    def _check_corner(self, n: int) -> None:
        if not 1 <= n <= len(self._corners):
            raise GansynthLiveError(f"corner {n}: the current setup has corners "
                                    f"1..{len(self._corners)}")

    def _set_corner(self, n: int, corner: Corner) -> None:
        with self._lock:
            self._check_corner(n)
            corners = list(self._corners)
            corners[n - 1] = corner
            self._set_corners(corners)

    def _set_corners(self, corners: list[Corner]) -> None:
        """Caller holds the lock."""
        if not 1 <= len(corners) <= 4:
            raise GansynthLiveError("a morph setup has 2 to 4 corners")
        for corner in corners:
            if corner.latent.shape != (self.latent_size,):
                raise PresetError(f"corner {corner.label!r} has a {corner.latent.size}-value "
                                  f"latent; the model takes {self.latent_size}")
        self._corners = corners
        self.follower.set_anchors(np.stack([c.latent for c in corners]), self._resolution)

    def _corner_of(self, preset: Preset) -> Corner:
        corner = preset_corner(preset, self.latent_size)
        if corner.model and corner.model != self.model_name and \
                preset.name not in self._warned_models:
            self._warned_models.add(preset.name)
            self.report(f"preset {preset.name!r} was made for model {corner.model!r}; "
                        f"playing it on {self.model_name!r} (same latent, other timbre)")
        return corner

    def _envelope_tuple(self) -> tuple[float, float, float, float]:
        e = self._envelope
        return e.attack_s, e.decay_s, e.sustain, e.release_s

    def _apply_gain(self) -> None:
        with self._lock:
            gain = fader_gain(self._volume) * 10.0 ** (self._gain_db / 20.0)
        self.engine.push(SetMasterGain(min(gain, MAX_GAIN)))

    def _report_error(self, text: str) -> None:
        self.last_error = text
        self.report(text)
