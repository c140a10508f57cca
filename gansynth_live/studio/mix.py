"""Playing notes from banks into one stereo track: envelope, velocity, sustain loops.

`mix_notes` is the single place where the offline render turns notes into
sound. It is written to the live engine's rules so offline and live sound
alike, and it is meant to be re-pointed at the engine's offline renderer
(`engine/offline.py: render_offline`) once that exists; its inputs (notes with
times, velocities and the NoteBank to play) map one to one onto engine events.

The rules, shared with the engine:

- envelope (presets.Envelope): linear attack from 0 to 1, one-pole decay
  towards the sustain level (-60 dB of the distance in `decay_s`), one-pole
  release from the current level (full level to -80 dB in `release_s`);
- velocity gain `(velocity / 127) ** velocity_curve` (1 is magenta's linear
  law, 2 the engine's default);
- a held note loops its slot's sustain loop; on key-up the read head goes on
  straight into the note's own release, under the release envelope; a note
  without a loop plays once and ends with its samples;
- mono notes are placed in the centre with constant-power gains.

Nothing is normalised per note (magenta divides each note by its own maximum,
which fails on silent notes and erases the model's own loudness); the final
level is set once for the whole mix by `finalize`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..banks.bank import NoteBank, NoteSlot
from ..presets import Envelope

FLOOR = 1e-4          # -80 dB: where a release ends
MIN_ATTACK_S = 0.001
MIN_RELEASE_S = 0.005
CENTRE_GAIN = math.sqrt(0.5)
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class MixNote:
    """A note to play: key down at start_s, key up at end_s, from `bank` at `pitch`."""

    start_s: float
    end_s: float
    pitch: int
    velocity: int
    bank: NoteBank
    gain: float = 1.0  # linear, e.g. a preset's gain_db


def velocity_gain(velocity: int, curve: float) -> float:
    return float((min(max(int(velocity), 0), 127) / 127.0) ** curve)


def envelope_levels(frames: int, key_up: int, envelope: Envelope, rate: int) -> np.ndarray:
    """ADSR level for frames 0..frames-1 of a note whose key goes up at frame `key_up`."""
    t = np.arange(frames, dtype=np.float64)
    attack = max(envelope.attack_s, MIN_ATTACK_S) * rate
    log_k_decay = math.log(1e-3) / (max(envelope.decay_s, 1e-3) * rate)
    log_k_release = math.log(FLOOR) / (max(envelope.release_s, MIN_RELEASE_S) * rate)
    sustain = float(envelope.sustain)

    def held(x: np.ndarray) -> np.ndarray:
        decay = sustain + (1.0 - sustain) * np.exp(np.maximum(x - attack, 0.0) * log_k_decay)
        return np.where(x < attack, x / attack, decay)

    level = held(t)
    if key_up < frames:
        at_key_up = float(held(np.array([float(key_up)]))[0])
        tail = t[key_up:] - key_up
        level[key_up:] = at_key_up * np.exp(tail * log_k_release)
    return level


def release_frames(envelope: Envelope, rate: int) -> int:
    return int(math.ceil(max(envelope.release_s, MIN_RELEASE_S) * rate))


def read_positions(slot: NoteSlot, frames: int, key_up: int, step: float) -> np.ndarray:
    """Read-head position (samples from slot.start) for each output frame.

    While the key is held the head wraps from loop_end back to loop_start; from
    key-up it runs straight on into the note's release.
    """
    pos = np.arange(frames, dtype=np.float64) * step
    if slot.loops:
        loop_start = slot.loop_start - slot.start
        loop_end = slot.loop_end - slot.start
        length = loop_end - loop_start
        held = min(key_up, frames)
        wrap = pos[:held] >= loop_end
        pos[:held][wrap] = loop_start + np.mod(pos[:held][wrap] - loop_start, length)
        if key_up < frames:
            at_key_up = key_up * step
            if at_key_up >= loop_end:
                at_key_up = loop_start + math.fmod(at_key_up - loop_start, length)
            pos[key_up:] = at_key_up + (np.arange(frames - key_up) * step)
    return pos


def _gather(bank: NoteBank, slot: NoteSlot, pos: np.ndarray) -> np.ndarray:
    """Samples at (possibly fractional) positions, linearly interpolated."""
    base = slot.start
    data = bank.samples
    idx = np.floor(pos).astype(np.int64)
    frac = pos - idx
    a = data[base + idx].astype(np.float64)
    if not np.any(frac):
        return a
    nxt = np.minimum(idx + 1, slot.end - base - 1)
    b = data[base + nxt].astype(np.float64)
    return a + (b - a) * frac


def note_frames(note: MixNote, rate: int) -> tuple[int, int]:
    """(first frame, key-up frame within the note) of a note at output rate `rate`."""
    start = max(0, int(round(note.start_s * rate)))
    key_up = max(1, int(round((note.end_s - note.start_s) * rate)))
    return start, key_up


def mix_notes(notes: Sequence[MixNote], sample_rate: int, envelope: Envelope,
              velocity_curve: float = 2.0, progress: ProgressFn | None = None) -> np.ndarray:
    """The notes mixed into a float32 [frames, 2] track at `sample_rate`, without final gain.

    THE swap point for the engine's offline renderer: keep this signature.
    """
    rate = int(sample_rate)
    release = release_frames(envelope, rate)
    plans = []
    total = 0
    for note in notes:
        start, key_up = note_frames(note, rate)
        plans.append((start, key_up))
        total = max(total, start + key_up + release)
    mono = np.zeros(total, dtype=np.float64)
    for i, (note, (start, key_up)) in enumerate(zip(notes, plans)):
        gain = velocity_gain(note.velocity, velocity_curve) * note.gain
        bank = note.bank
        if gain > 0.0 and len(bank.slots):
            slot, ratio = bank.nearest(int(note.pitch))
            step = ratio * bank.sample_rate / rate
            amplitude = float(bank.scale) * float(getattr(slot, "gain", 1.0))
            frames = key_up + release
            pos = read_positions(slot, frames, key_up, step)
            length = slot.end - slot.start
            playing = pos <= length - 1
            frames = int(np.argmin(playing)) if not playing.all() else frames
            if frames > 0:
                sound = _gather(bank, slot, pos[:frames])
                level = envelope_levels(frames, key_up, envelope, rate)
                mono[start:start + frames] += sound * level * (gain * amplitude)
        if progress is not None:
            progress(i + 1, len(notes))
    return (mono[:, None] * np.array([CENTRE_GAIN, CENTRE_GAIN])).astype(np.float32)


def finalize(audio: np.ndarray, peak_db: float = -1.0) -> tuple[np.ndarray, float]:
    """The whole mix scaled so its peak is `peak_db` dBFS (< 0: it can never clip).

    Returns (audio, gain in dB). A silent mix stays silent (gain 0 dB).
    """
    if peak_db > 0:
        raise ValueError("peak_db must be <= 0 dBFS")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if not np.isfinite(peak):
        raise ValueError("the mix contains NaN or infinity")
    if peak <= 0.0:
        return audio.astype(np.float32), 0.0
    gain = 10.0 ** (peak_db / 20.0) / peak
    out = (audio.astype(np.float64) * gain).astype(np.float32)
    limit = np.float32(10.0 ** (peak_db / 20.0))
    np.clip(out, -limit, limit, out=out)  # float32 rounding may exceed the target by an ulp
    return out, 20.0 * math.log10(gain)
