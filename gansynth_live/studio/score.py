"""A MIDI file as a list of timed notes, the way a synthesizer would hear it.

(`read_messages` gives the same stream message by message, for `render --mpe`,
which plays it through the live MIDI translator.)

All tracks of a format 0 or 1 file are merged into one stream in file order
(by tick, then track, then position in the track), because MIDI channel state is
shared across tracks: a sustain pedal in one track holds the notes of its
channel in every track, and a tempo change in any track moves every track.

Decisions on the edge cases (documented in docs/studio.md):

- Note-on with velocity 0 is a note-off. A note-off closes the oldest open note
  of its channel and pitch (first in, first out), so overlapping notes of one
  pitch keep their count and a legato re-strike (new note-on, then the old note's
  note-off at the same tick) does the right thing.
- A note-off with no open note is ignored and counted.
- Notes still open when the file ends end at the file's last tick, counted.
- Notes shorter than `min_note_s` (zero-length ones included, e.g. drum-style
  triggers) are kept and lengthened to `min_note_s`; dropping them would lose
  notes the author wrote.
- Sustain pedal (CC64 >= 64) holds released keys until the pedal goes up; a held
  note ends early if its key is struck again (it is re-triggered). CC123 (all
  notes off) releases keys, CC120 (all sound off) ends everything on the channel,
  CC121 (reset controllers) lifts the pedal.
- Channel 10 (index 9) is General MIDI percussion: skipped by default, counted.
- Format 2 (independent sequences) has no common time line: refused.
- SMPTE time division is supported (seconds per tick is fixed; tempo ignored).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Literal, Sequence

import numpy as np

from ..errors import GansynthLiveError

DEFAULT_TEMPO_US = 500_000  # 120 bpm, the MIDI default
MIN_NOTE_S = 0.05
MAX_FILE_BYTES = 32 << 20
DRUM_CHANNEL = 9
RangeMode = Literal["resample", "octave", "drop"]
RANGE_MODES: tuple[str, ...] = ("resample", "octave", "drop")

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI number (60 -> C4)."""
    return f"{NOTE_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


class ScoreError(GansynthLiveError):
    """A MIDI file that cannot be read or used; the message names the file."""


@dataclass(frozen=True)
class ScoreNote:
    """One note: onset, end (pedal-extended), MIDI pitch, velocity 1..127.

    `key_up_s` is when the key went up (before any pedal hold); `transposed_by`
    is the semitone shift `fit_to_range` applied (0 if none).
    """

    start_s: float
    end_s: float
    pitch: int
    velocity: int
    channel: int
    track: int = 0
    key_up_s: float | None = None
    transposed_by: int = 0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ScoreStats:
    """What was ignored or fixed while reading, so the CLI can say so."""

    orphan_note_offs: int = 0
    unterminated_notes: int = 0
    lengthened_notes: int = 0
    drum_notes_skipped: int = 0
    retriggered_notes: int = 0


@dataclass(frozen=True)
class Score:
    notes: tuple[ScoreNote, ...]
    duration_s: float
    tempo_changes: tuple[tuple[float, float], ...]  # (time_s, bpm)
    midi_format: int
    stats: ScoreStats = field(default_factory=ScoreStats)
    path: str = ""


@dataclass
class _Open:
    start_tick: int
    velocity: int
    track: int


@dataclass
class _Held:
    """A note whose key is up but which the pedal still holds."""

    start_tick: int
    key_up_tick: int
    velocity: int
    track: int
    pitch: int


class _TempoMap:
    """Ticks to seconds across tempo changes (any track's set_tempo counts)."""

    def __init__(self, ticks_per_beat: int, tempos: list[tuple[int, int]]) -> None:
        if ticks_per_beat < 0:  # SMPTE: high byte -fps, low byte ticks per frame
            raw = ticks_per_beat & 0xFFFF
            fps = 256 - (raw >> 8)
            per_frame = raw & 0xFF
            if fps not in (24, 25, 29, 30) or per_frame == 0:
                raise ValueError(f"invalid SMPTE time division {fps} fps x {per_frame}")
            rate = (29.97 if fps == 29 else fps) * per_frame
            self._ticks = np.array([0], np.int64)
            self._seconds = np.array([0.0])
            self._spt = np.array([1.0 / rate])
            self.changes: list[tuple[float, float]] = []
            return
        if ticks_per_beat == 0:
            raise ValueError("time division is 0 ticks per beat")
        points: dict[int, int] = {0: DEFAULT_TEMPO_US}
        for tick, tempo in sorted(tempos, key=lambda tt: tt[0]):
            points[tick] = tempo  # the later one at a tick wins (file order preserved by sort)
        ticks = np.array(sorted(points), np.int64)
        spt = np.array([points[int(t)] / 1e6 / ticks_per_beat for t in ticks])
        seconds = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * spt[:-1])])
        self._ticks, self._seconds, self._spt = ticks, seconds, spt
        self.changes = [(float(s), 60e6 / points[int(t)]) for t, s in zip(ticks, seconds)]

    def seconds(self, ticks: np.ndarray | int) -> np.ndarray:
        ticks = np.asarray(ticks, np.int64)
        i = np.searchsorted(self._ticks, ticks, side="right") - 1
        return self._seconds[i] + (ticks - self._ticks[i]) * self._spt[i]


def _load_midi(path: Path):
    import mido

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScoreError(f"cannot read MIDI file '{path}': {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise ScoreError(f"'{path}' is {size} bytes; MIDI files over {MAX_FILE_BYTES} bytes "
                         "are refused")
    try:
        return mido.MidiFile(str(path), clip=False)
    except EOFError:
        raise ScoreError(f"'{path}' is not a valid MIDI file: it ends in the middle of a "
                         "chunk (truncated?)") from None
    except Exception as exc:  # mido raises OSError, ValueError, KeyError... on bad bytes
        reason = str(exc) or type(exc).__name__
        raise ScoreError(f"'{path}' is not a valid MIDI file: {reason}") from None


@dataclass(frozen=True)
class _Merged:
    """A file's channel messages, all tracks merged in file order, with its tempo map."""

    midi_format: int
    events: list  # (tick, track, position in the track, mido message)
    tempo_map: _TempoMap
    last_tick: int


def _merge_tracks(path: Path) -> _Merged:
    """Every channel message of a format 0 or 1 file, by tick, then track, then position."""
    midi = _load_midi(path)
    if midi.type == 2:
        raise ScoreError(f"'{path}' is a format 2 MIDI file (independent sequences, no common "
                         "time line); export it as format 1")
    events = []
    tempos: list[tuple[int, int]] = []
    last_tick = 0
    for track_index, track in enumerate(midi.tracks):
        tick = 0
        for order, msg in enumerate(track):
            tick += int(msg.time)
            if msg.type == "set_tempo":
                tempos.append((tick, int(msg.tempo)))
            elif not msg.is_meta and hasattr(msg, "channel"):
                events.append((tick, track_index, order, msg))
        last_tick = max(last_tick, tick)
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    try:
        tempo_map = _TempoMap(int(midi.ticks_per_beat), tempos)
    except ValueError as exc:
        raise ScoreError(f"'{path}': {exc}") from None
    return _Merged(int(midi.type), events, tempo_map, last_tick)


def read_messages(path: str | Path) -> tuple[tuple[float, object], ...]:
    """Every channel message of a format 0 or 1 file as (seconds, mido message), in the order
    a synthesizer listening to the file would receive them (the same merge and tempo map as
    `read_score`, so notes and controllers line up with the score's notes)."""
    merged = _merge_tracks(Path(path))
    ticks = np.array([tick for tick, _, _, _ in merged.events], dtype=np.int64)
    seconds = merged.tempo_map.seconds(ticks) if len(ticks) else np.zeros(0)
    return tuple((float(t), msg) for t, (_, _, _, msg) in zip(seconds, merged.events))


def read_score(path: str | Path, *, min_note_s: float = MIN_NOTE_S,
               skip_drums: bool = True) -> Score:
    """Read every note of a format 0 or 1 MIDI file (see the module docstring)."""
    path = Path(path)
    merged = _merge_tracks(path)
    tempo_map, last_tick = merged.tempo_map, merged.last_tick
    events = [e for e in merged.events if e[3].type in ("note_on", "note_off", "control_change")]
    notes, stats = _pair_notes(events, last_tick, skip_drums)

    raw = []
    lengthened = 0
    for start_tick, end_tick, key_up_tick, pitch, velocity, channel, track in notes:
        start_s, end_s, key_up_s = (float(x) for x in tempo_map.seconds(
            np.array([start_tick, end_tick, key_up_tick])))
        if end_s - start_s < min_note_s:
            lengthened += 1
            end_s = start_s + min_note_s
            key_up_s = max(key_up_s, end_s)
        raw.append(ScoreNote(start_s, end_s, pitch, velocity, channel, track,
                             key_up_s=min(key_up_s, end_s)))
    raw.sort(key=lambda n: (n.start_s, n.pitch, n.channel, n.track))
    end_of_file_s = float(tempo_map.seconds(last_tick))
    duration = max([end_of_file_s] + [n.end_s for n in raw])
    return Score(notes=tuple(raw), duration_s=duration,
                 tempo_changes=tuple(tempo_map.changes), midi_format=merged.midi_format,
                 stats=replace(stats, lengthened_notes=lengthened), path=str(path))


def _pair_notes(events: Iterable, last_tick: int, skip_drums: bool
                ) -> tuple[list[tuple[int, int, int, int, int, int, int]], ScoreStats]:
    """Note-ons matched with note-offs under pedal and channel-mode messages.

    Returns (start_tick, end_tick, key_up_tick, pitch, velocity, channel, track).
    """
    open_notes: dict[tuple[int, int], deque[_Open]] = {}
    held: dict[int, list[_Held]] = {ch: [] for ch in range(16)}
    pedal = [False] * 16
    done: list[tuple[int, int, int, int, int, int, int]] = []
    orphans = unterminated = drums = retriggered = 0

    def release(channel: int, pitch: int, note: _Open, tick: int) -> None:
        if pedal[channel]:
            held[channel].append(_Held(note.start_tick, tick, note.velocity, note.track, pitch))
        else:
            done.append((note.start_tick, tick, tick, pitch, note.velocity, channel, note.track))

    def end_held(channel: int, tick: int, pitch: int | None = None) -> int:
        keep, count = [], 0
        for h in held[channel]:
            if pitch is None or h.pitch == pitch:
                done.append((h.start_tick, tick, h.key_up_tick, h.pitch, h.velocity, channel,
                             h.track))
                count += 1
            else:
                keep.append(h)
        held[channel] = keep
        return count

    for tick, track, _order, msg in events:
        channel = msg.channel
        if msg.type == "control_change":
            if msg.control == 64:
                down = msg.value >= 64
                if pedal[channel] and not down:
                    end_held(channel, tick)
                pedal[channel] = down
            elif msg.control in (120, 123):  # all sound off / all notes off
                for (ch, pitch), queue in open_notes.items():
                    if ch == channel:
                        while queue:
                            release(channel, pitch, queue.popleft(), tick)
                if msg.control == 120:
                    end_held(channel, tick)
            elif msg.control == 121:  # reset all controllers lifts the pedal
                if pedal[channel]:
                    end_held(channel, tick)
                pedal[channel] = False
            continue
        if skip_drums and channel == DRUM_CHANNEL:
            if msg.type == "note_on" and msg.velocity > 0:
                drums += 1
            continue
        key = (channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            retriggered += end_held(channel, tick, msg.note)
            open_notes.setdefault(key, deque()).append(_Open(tick, msg.velocity, track))
        else:
            queue = open_notes.get(key)
            if queue:
                release(channel, msg.note, queue.popleft(), tick)
            else:
                orphans += 1
    for (channel, pitch), queue in open_notes.items():
        for note in queue:
            unterminated += 1
            done.append((note.start_tick, last_tick, last_tick, pitch, note.velocity, channel,
                         note.track))
    for channel in range(16):
        end_held(channel, last_tick)
    stats = ScoreStats(orphan_note_offs=orphans, unterminated_notes=unterminated,
                       drum_notes_skipped=drums, retriggered_notes=retriggered)
    return done, stats


@dataclass(frozen=True)
class RangeFit:
    """Notes after `fit_to_range`, and what happened to the ones out of range."""

    notes: tuple[ScoreNote, ...]
    dropped: int
    transposed: int
    resampled: int


def fit_to_range(notes: Sequence[ScoreNote], pitch_range: range, mode: str) -> RangeFit:
    """Handle notes outside the model's pitches.

    - "resample": keep the written pitch; the nearest pitch the model has is
      generated and played faster or slower (what the live engine does), see
      `source_pitch`.
    - "octave": move the note by whole octaves into the range (its pitch class
      stays); `transposed_by` records the shift.
    - "drop": leave it out (magenta's load_midi keeps only 36..84).
    """
    if mode not in RANGE_MODES:
        raise ScoreError(f"out-of-range mode must be one of {', '.join(RANGE_MODES)}, "
                         f"got {mode!r}")
    lo, hi = pitch_range[0], pitch_range[-1]
    kept: list[ScoreNote] = []
    dropped = transposed = resampled = 0
    for note in notes:
        if lo <= note.pitch <= hi:
            kept.append(note)
        elif mode == "drop":
            dropped += 1
        elif mode == "resample":
            resampled += 1
            kept.append(note)
        else:
            shift = 0
            while note.pitch + shift < lo:
                shift += 12
            while note.pitch + shift > hi:
                shift -= 12
            if not lo <= note.pitch + shift <= hi:  # range narrower than an octave
                shift = min(max(note.pitch, lo), hi) - note.pitch
            transposed += 1
            kept.append(replace(note, pitch=note.pitch + shift,
                                transposed_by=note.transposed_by + shift))
    return RangeFit(tuple(kept), dropped, transposed, resampled)


def source_pitch(pitch: int, pitch_range: range) -> int:
    """The model pitch a note is made from: itself, or the nearest end of the range."""
    return int(min(max(int(pitch), pitch_range[0]), pitch_range[-1]))
