"""Audio thread only: queued event records applied to the voices by compiled code.

The note rules live here, once: note-on (retrigger, stealing, start), note-off
(the pedal, the shortest audible note), sustain pedal and MPE zones, pitch
bend, per-note bend, all-notes-off, panic, master gain and envelope settings.
`apply_events` reads the event ring's numeric records (event_records.py) and
applies them in order, in one compiled call per block: no Python object is
made or touched per event. Two kinds go back to Python, in order, because
they need the morph layers' geometry (engine/layers.py): a SetExpression, and
a note-on on a channel that carries an expression (MPE). `apply_events` stops
before such a record; the renderer pops it, handles it (through `note_on` here
and its own morph code) and calls again.

Compiled with rt/jit.py's `njit` (no numba runtime, so no allocation; plain
Python without numba, same rules). The arrays travel in tuples built once
(`Voices.notes`, `Voices.reads`, the renderer's channel and layer tuples): a
call of more than 20 arguments would make a tuple per call.
"""

from __future__ import annotations

import math

import numpy as np

from ..event_records import (K_ALL_NOTES_OFF, K_ALL_SOUND_OFF, K_BEND_RANGE, K_ENVELOPE,
                             K_EXPRESSION, K_MASTER_GAIN, K_MPE_ZONE, K_NOTE_BEND, K_NOTE_OFF,
                             K_NOTE_ON, K_PITCH_BEND, K_SUSTAIN, R_A, R_B, R_C, R_CHANNEL, R_D,
                             R_KIND, R_PITCH, RECORD_SIZE)
from .counters import (CLOCK, NOTES_REFUSED, NOTES_SILENT, NOTES_STARTED, UNKNOWN_EVENTS,
                       VOICES_STOLEN)
from .envelope import ATTACK, DECAY, FADE, RELEASE, coefficients
from .event_queue import HEAD, TAIL
from .jit import njit, on_warm_up
from .output_stage import S_TARGET
from .steal import choose_victim

# `settings`: the engine's scalars the rules read (float64, set by the renderer)
(C_FADE_FRAMES, C_MIN_NOTE_FRAMES, C_POLYPHONY, C_VELOCITY_CURVE, C_PAN_SPREAD, C_SAMPLE_RATE,
 C_HAS_LAYERS) = range(7)
SETTINGS = 7


# --- one voice ---------------------------------------------------------------------------
@njit
def key_up_arrays(v, channel, pitch, key_down, held):
    """The voice's key is no longer down (its count in `held` drops)."""
    if key_down[v]:
        key_down[v] = False
        held[channel[v], pitch[v]] -= 1


@njit
def key_up(v, notes):
    key_up_arrays(v, notes[7], notes[8], notes[9], notes[19])


@njit
def release_voice(v, notes, now):
    """Note-off for one voice: into release from its current level (attack or decay only)."""
    stage, released_at = notes[1], notes[12]
    if stage[v] == ATTACK or stage[v] == DECAY:
        key_up(v, notes)
        stage[v] = RELEASE
        released_at[v] = now


@njit
def fade_voice(v, notes, fade_frames):
    """Fade one voice to silence over `fade_frames` (steal, panic)."""
    stage, level, fade_rate = notes[1], notes[2], notes[3]
    key_up(v, notes)
    stage[v] = FADE
    fade_rate[v] = max(level[v], 1e-9) / max(fade_frames, 1.0)


# --- notes ---------------------------------------------------------------------------------
@njit
def load_geometry(v, j, key, reads, layers):
    """Voice v reads layer j's note for `key` in that layer's bank slot: where the note
    starts, ends and loops there, its read rate and its gain."""
    start, end, loop_start, loop_end, rate, note_gain = reads[3:9]
    geometry, layer_rate, layer_gain, slots = layers[0], layers[1], layers[2], layers[4]
    k = slots[j]
    start[k, v] = geometry[0, j, key]
    end[k, v] = geometry[1, j, key]
    loop_start[k, v] = geometry[2, j, key]
    loop_end[k, v] = geometry[3, j, key]
    rate[k, v] = layer_rate[j, key]
    note_gain[k, v] = layer_gain[j, key]


@njit
def note_on(ch, key, velocity, notes, reads, layers, settings, ints):
    """Start a note: release the key's sounding voice, steal if polyphony is full, begin.

    Returns the voice slot, or -1 (no layers yet: counted silent; no slot: refused).
    """
    (active, stage, level, fade_rate, gain, pan_l, pan_r, channel, pitch, key_down,
     release_pending, started_at, released_at, elapsed, glide, expressive, expr_dx, expr_dy,
     note_step, held) = notes
    w_from, w_to, w_cur = reads[0], reads[1], reads[2]
    weights, slots = layers[3], layers[4]
    if settings[C_HAS_LAYERS] == 0.0:
        ints[NOTES_SILENT] += 1
        return -1
    now = ints[CLOCK]
    sounding = 0
    free = -1
    for v in range(active.shape[0]):
        if active[v]:
            if channel[v] == ch and pitch[v] == key:  # a retrigger: the old note lets go
                release_voice(v, notes, now)
            if stage[v] != FADE:
                sounding += 1
        elif free < 0:
            free = v
    if sounding >= settings[C_POLYPHONY]:
        stolen = choose_victim(active, stage, level, gain, key_down, started_at, released_at,
                               now)
        if stolen >= 0:
            fade_voice(stolen, notes, settings[C_FADE_FRAMES])
            ints[VOICES_STOLEN] += 1
    if free < 0:
        ints[NOTES_REFUSED] += 1
        return -1
    v = free
    active[v] = True
    stage[v] = ATTACK
    level[v] = 0.0
    fade_rate[v] = 0.0
    gain[v] = (velocity / 127.0) ** settings[C_VELOCITY_CURVE]
    pan = settings[C_PAN_SPREAD] * min(max((key - 60) / 36.0, -1.0), 1.0)
    angle = (pan + 1.0) * math.pi / 4.0
    pan_l[v] = math.cos(angle)
    pan_r[v] = math.sin(angle)
    channel[v] = ch
    pitch[v] = key
    key_down[v] = True
    release_pending[v] = False
    held[ch, key] += 1
    started_at[v] = now
    released_at[v] = 0
    elapsed[v] = 0.0
    glide[v] = 1.0
    expressive[v] = False
    expr_dx[v] = 0.0
    expr_dy[v] = 0.0
    note_step[v] = 1.0
    for k in range(w_cur.shape[0]):
        w_from[k, v] = 0.0
    for j in range(slots.shape[0]):  # each layer's bank slot reads the note's geometry
        load_geometry(v, j, key, reads, layers)
        w_from[slots[j], v] = weights[j]
    for k in range(w_cur.shape[0]):
        w_to[k, v] = w_from[k, v]
        w_cur[k, v] = w_from[k, v]
    ints[NOTES_STARTED] += 1
    return v


@njit
def note_off(ch, key, notes, channels, settings, now):
    """A note-off: release the key's voices, or leave them to the pedal.

    A note younger than the shortest audible note is released once it has
    played that long (`release_due`)."""
    active, channel, pitch, key_down = notes[0], notes[7], notes[8], notes[9]
    release_pending, started_at, held = notes[10], notes[11], notes[19]
    pedal = channels[4]
    if held[ch, key] == 0:
        return
    for v in range(active.shape[0]):
        if not (active[v] and key_down[v] and channel[v] == ch and pitch[v] == key):
            continue
        if pedal[ch]:
            key_up(v, notes)
        elif now - started_at[v] < settings[C_MIN_NOTE_FRAMES]:
            key_up(v, notes)
            release_pending[v] = True
        else:
            release_voice(v, notes, now)


@njit
def release_due(notes, settings, ints):
    """Release the short notes whose note-off waited for the shortest audible note."""
    now = ints[CLOCK]
    active, release_pending, started_at = notes[0], notes[10], notes[11]
    for v in range(active.shape[0]):
        if release_pending[v] and active[v] and now - started_at[v] >= settings[C_MIN_NOTE_FRAMES]:
            release_pending[v] = False
            release_voice(v, notes, now)


@njit
def in_zone(c, ch, master):
    """Channel c is ch or, when ch is an MPE zone's master, one of its members: what a
    master channel's pedal and all-notes-off reach (the MPE spec's zone-wide messages)."""
    return c == ch or master[c] == ch


@njit
def sustain(ch, on, notes, channels, now):
    """The pedal of a channel (and of its zone): lifting it releases the notes it held."""
    active, stage, channel, key_down = notes[0], notes[1], notes[7], notes[9]
    master, pedal = channels[2], channels[4]
    for c in range(16):
        if not in_zone(c, ch, master):
            continue
        pedal[c] = on
        if on:
            continue
        for v in range(active.shape[0]):
            if active[v] and not key_down[v] and channel[v] == c and (
                    stage[v] == ATTACK or stage[v] == DECAY):
                release_voice(v, notes, now)


@njit
def all_notes_off(ch, notes, channels, now):
    """Release every note (ch < 0) or a channel's (and its zone's), lifting their pedals."""
    active, channel = notes[0], notes[7]
    master, pedal = channels[2], channels[4]
    for c in range(16):
        if ch < 0 or in_zone(c, ch, master):
            pedal[c] = False
    for v in range(active.shape[0]):
        if active[v] and (ch < 0 or in_zone(channel[v], ch, master)):
            release_voice(v, notes, now)


@njit
def all_sound_off(notes, channels, settings):
    """Panic: every voice fades out within the steal fade, every pedal lifts."""
    active, stage = notes[0], notes[1]
    pedal = channels[4]
    for c in range(16):
        pedal[c] = False
    for v in range(active.shape[0]):
        if active[v] and stage[v] != FADE:
            fade_voice(v, notes, settings[C_FADE_FRAMES])


@njit
def note_bend(ch, key, semitones, notes):
    """A key's own bend: its sounding notes read at 2^(semitones/12) times their rate."""
    active, channel, pitch, note_step = notes[0], notes[7], notes[8], notes[18]
    factor = 2.0 ** (semitones / 12.0)
    for v in range(active.shape[0]):
        if active[v] and channel[v] == ch and pitch[v] == key:
            note_step[v] = factor


# --- channels ------------------------------------------------------------------------------
@njit
def refresh_step(ch, channels):
    """The channel's read-rate factor: its bend, plus its MPE master's (zone-wide) bend."""
    bend, bend_range, master, step = channels[0], channels[1], channels[2], channels[3]
    semitones = bend[ch] * bend_range[ch]
    m = master[ch]
    if m >= 0:
        semitones += bend[m] * bend_range[m]
    step[ch] = 2.0 ** (semitones / 12.0)


@njit
def refresh_channel_and_members(ch, channels):
    master = channels[2]
    refresh_step(ch, channels)
    for c in range(16):
        if master[c] == ch:
            refresh_step(c, channels)


@njit
def mpe_zone(zone_master, members, channels):
    """Set an MPE zone (members 0 ends it); a zone that swallows the other's master ends it."""
    master = channels[2]
    first, last = (1, members) if zone_master == 0 else (15 - members, 14)
    other = 15 - zone_master
    swallows = members > 0 and first <= other <= last
    for c in range(16):
        if master[c] == zone_master or (swallows and master[c] == other):
            master[c] = -1
    for c in range(first, last + 1):
        master[c] = zone_master
    for c in range(16):
        refresh_step(c, channels)


# --- the block's events --------------------------------------------------------------------
@njit
def needs_python(record, channels):
    """Records the morph code in Python handles (see the module docstring)."""
    kind = record[R_KIND]
    if kind == K_EXPRESSION:
        return True
    if kind == K_NOTE_ON:
        expr = channels[5]
        ch = int(record[R_CHANNEL])
        return expr[ch, 0] != 0.0 or expr[ch, 1] != 0.0
    return False


@njit
def apply_events(records, indices, limit, notes, reads, channels, layers, envelope, output,
                 settings, ints):
    """Apply up to `limit` queued records in order; return how many were applied, or
    -(applied + 1) when the next one is for Python (left in the ring for `pop`)."""
    capacity = records.shape[0]
    now = ints[CLOCK]
    bend, bend_range = channels[0], channels[1]
    count = 0
    while count < limit and indices[HEAD] < indices[TAIL]:
        r = records[indices[HEAD] % capacity]
        if needs_python(r, channels):
            return -(count + 1)
        kind = r[R_KIND]
        ch = int(r[R_CHANNEL])
        key = int(r[R_PITCH])
        if kind == K_NOTE_ON:
            note_on(ch, key, r[R_A], notes, reads, layers, settings, ints)
        elif kind == K_NOTE_OFF:
            note_off(ch, key, notes, channels, settings, now)
        elif kind == K_PITCH_BEND:
            bend[ch] = r[R_A]
            refresh_channel_and_members(ch, channels)
        elif kind == K_SUSTAIN:
            sustain(ch, r[R_A] != 0.0, notes, channels, now)
        elif kind == K_ALL_NOTES_OFF:
            all_notes_off(ch, notes, channels, now)
        elif kind == K_ALL_SOUND_OFF:
            all_sound_off(notes, channels, settings)
        elif kind == K_MASTER_GAIN:
            output[S_TARGET] = r[R_A]
        elif kind == K_ENVELOPE:
            coefficients(r[R_A], r[R_B], r[R_C], r[R_D], settings[C_SAMPLE_RATE], envelope)
        elif kind == K_BEND_RANGE:
            if ch < 0:
                for c in range(16):
                    bend_range[c] = r[R_A]
                for c in range(16):
                    refresh_step(c, channels)
            else:
                bend_range[ch] = r[R_A]
                refresh_channel_and_members(ch, channels)
        elif kind == K_MPE_ZONE:
            mpe_zone(ch, int(r[R_A]), channels)
        elif kind == K_NOTE_BEND:
            note_bend(ch, key, r[R_A], notes)
        else:
            ints[UNKNOWN_EVENTS] += 1
        indices[HEAD] += 1
        count += 1
    return count


def empty_layers() -> tuple[np.ndarray, ...]:
    """The layer tuple before any bank: no layer (a note-on is counted silent)."""
    return (np.zeros((4, 0, 128), dtype=np.int64), np.zeros((0, 128)), np.zeros((0, 128)),
            np.zeros(0), np.zeros(0, dtype=np.int64))


@on_warm_up
def _warm_up() -> None:
    """Compile `apply_events` and the helpers the renderer calls for the engine's types."""
    from .voices import Voices

    voices = Voices(capacity=2, polyphony=1, bank_slots=2)
    channels = (np.zeros(16), np.ones(16), np.full(16, -1, dtype=np.int64), np.ones(16),
                np.zeros(16, dtype=bool), np.zeros((16, 2)))
    layers = (np.zeros((4, 1, 128), dtype=np.int64), np.ones((1, 128)), np.ones((1, 128)),
              np.ones(1), np.zeros(1, dtype=np.int64))
    settings = np.zeros(SETTINGS)
    settings[C_POLYPHONY] = settings[C_HAS_LAYERS] = settings[C_SAMPLE_RATE] = 1.0
    ints = np.zeros(32, dtype=np.int64)
    records = np.zeros((13, RECORD_SIZE))
    records[:, R_KIND] = np.arange(13)
    records[:, R_CHANNEL] = 0.0
    records[:, R_PITCH] = 60.0
    records[:, R_A] = 1.0
    indices = np.array([0, 13], dtype=np.int64)
    envelope = np.zeros(4)
    output = np.zeros(S_TARGET + 1)
    for lay in (layers, empty_layers()):
        indices[0] = 0
        apply_events(records, indices, 64, voices.notes, voices.reads, channels, lay, envelope,
                     output, settings, ints)
        note_on(0, 60, 100.0, voices.notes, voices.reads, lay, settings, ints)
    note_off(0, 60, voices.notes, channels, settings, 0)
    release_due(voices.notes, settings, ints)
    sustain(0, False, voices.notes, channels, 0)
    all_notes_off(-1, voices.notes, channels, 0)
