"""Audio thread only: a plain MIDI note-on, note-off or pitch bend applied by compiled code (serve --jack).

Why: the translator (inputs/midi.py) costs about 10 us a message in Python (a mido
message, an event object, the queue's lock and encoder), and with `serve --jack`
a message through it makes JACK's compiled callback take the interpreter lock;
most of what a keyboard sends is note-ons, note-offs and pitch bends (a bend
sweep is a message every few milliseconds). `note_message` takes one such complete message
straight from a JACK MIDI event's bytes: the port's key rules (inputs/midi_keys.py,
the translator's own), then a record in the engine's own ring (the layout of
engine/event_records.py), then the pitch in the played ring for the bank service
(a bend: the translator's one rule, its 14-bit value as -1..1 for the channel).
Anything else, or a note on a channel the translator must look at first (filtered,
or an MPE channel whose zone controls wait to be sent), returns PYTHON and goes
through the translator, in order. `note_rows` applies a run of such messages from
one port in one call (a chord costs one call, not one per note).
"""

from __future__ import annotations

import numpy as np

from ...inputs.midi_keys import SOUNDING, STALE, key_down, key_state, key_up
from ..event_records import (K_NOTE_OFF, K_NOTE_ON, K_PITCH_BEND, R_A, R_CHANNEL, R_KIND,
                             R_PITCH, RECORD_SIZE)
from .event_queue import HEAD, TAIL
from .jit import njit, on_warm_up

DONE, REFUSED, LOST, PYTHON = 0, 1, 2, 3  # what note_message did
NOTE_OFF, NOTE_ON, PITCH_BEND = 0x80, 0x90, 0xE0


@njit
def put_played(played, ring, pitch):
    """Note a pitch played for the control thread (ring: head, tail, dropped)."""
    if ring[TAIL] - ring[HEAD] >= played.shape[0]:
        ring[2] += 1
        return
    played[ring[TAIL] % played.shape[0]] = pitch
    ring[TAIL] += 1


@njit
def _write(records, indices, kind, ch, pitch, velocity):
    row = records[indices[TAIL] % records.shape[0]]
    for j in range(row.shape[0]):
        row[j] = 0.0
    row[R_KIND] = kind
    row[R_CHANNEL] = ch
    row[R_PITCH] = pitch
    row[R_A] = velocity
    indices[TAIL] += 1  # published after the row is written


@njit
def note_message(status, pitch, velocity, state, accepts, records, indices, reserve,
                 lost_note_offs, played, played_ring):
    """Apply one complete 3-byte message if it is a plain note-on, note-off or pitch bend;
    returns DONE, REFUSED (a note-on or bend found the ring near full), LOST (a note-off
    found it full: remembered in `lost_note_offs`, the caller flags the queue) or PYTHON
    (not done)."""
    kind = status & 0xF0
    ch = status & 0x0F
    if pitch > 127 or velocity > 127:
        return PYTHON
    if kind == PITCH_BEND:  # the translator's PitchBend.from_midi, for an accepted channel
        if not accepts[ch]:
            return PYTHON
        if indices[TAIL] - indices[HEAD] >= records.shape[0] - reserve:
            return REFUSED
        raw14 = int(velocity) * 128 + int(pitch)  # data bytes: LSB, then MSB
        _write(records, indices, K_PITCH_BEND, ch, -1, max(-1.0, (raw14 - 8192) / 8192.0))
        return DONE
    if kind != NOTE_ON and kind != NOTE_OFF:
        return PYTHON
    if not accepts[ch] or state[STALE][ch]:
        return PYTHON
    waiting = indices[TAIL] - indices[HEAD]
    if kind == NOTE_ON and velocity > 0:
        key_down(state, ch, pitch)
        if waiting >= records.shape[0] - reserve:
            return REFUSED
        _write(records, indices, K_NOTE_ON, ch, pitch, velocity)
        state[SOUNDING][ch, pitch] = True
        put_played(played, played_ring, pitch)
        return DONE
    if not key_up(state, ch, pitch):
        return DONE  # sostenuto holds it
    state[SOUNDING][ch, pitch] = False
    if waiting >= records.shape[0]:
        lost_note_offs[ch, pitch] = True
        return LOST
    _write(records, indices, K_NOTE_OFF, ch, pitch, 0)
    return DONE


@njit
def note_rows(data, meta, head, n, slot, state, accepts, records, indices, reserve,
              lost_note_offs, played, played_ring, tally):
    """Apply ring rows head, head+1, ... (of n at most) while each is one complete plain
    note message from port `slot` (jack_ports.read_midi's rows); returns how many.
    `tally` gets [refused, lost, the last status byte applied]."""
    rows = data.shape[0]
    count = 0
    while count < n:
        k = (head + count) % rows
        if meta[k, 0] != slot or meta[k, 2] != 3 or meta[k, 3] != 3:
            break
        status = data[k, 0]
        done = note_message(status, data[k, 1], data[k, 2], state, accepts, records, indices,
                            reserve, lost_note_offs, played, played_ring)
        if done == PYTHON:
            break
        if done == REFUSED:
            tally[0] += 1
        elif done == LOST:
            tally[1] += 1
        tally[2] = status
        count += 1
    return count


@on_warm_up
def _warm_up() -> None:
    records = np.zeros((4, RECORD_SIZE))
    ring = np.zeros(3, dtype=np.int64)
    data = np.zeros((4, 32), dtype=np.uint8)
    data[:, 0] = 0x90
    meta = np.zeros((4, 4), dtype=np.int64)
    meta[:, 2:] = 3
    note_rows(data, meta, 0, 2, 0, key_state(), np.ones(16, dtype=bool), records,
              np.zeros(2, dtype=np.int64), 1, np.zeros((16, 128), dtype=bool),
              np.zeros(4, dtype=np.int64), ring, np.zeros(3, dtype=np.int64))
