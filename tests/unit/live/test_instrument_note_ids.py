"""OSC note ids (/mnote, /ne/...): a note named by the client, bent and moved on its own."""

from __future__ import annotations

import time

import pytest
from instrument_testing import render, wait_playable
from tone_model import band_energy

from gansynth_live.live.note_ids import NoteIds


@pytest.fixture
def duo(make_instrument, engine):
    instrument = make_instrument("duo")  # fund at x = 0, oct at x = 1 (a line)
    instrument.set_morph(x=0.5)
    wait_playable(instrument)
    deadline = time.monotonic() + 30
    while True:  # until the engine plays the grid at x = 0.5, its points around included
        render(engine, 0.05)
        applied = engine.renderer.applied
        if applied is not None and applied.corners is not None and \
                applied.position[0] == 0.5 and len(applied.tables) >= 2:
            break
        assert time.monotonic() < deadline, "the layers at x = 0.5 never arrived"
        instrument.follower.wait_pass(0.2)
    return instrument, engine


def octave_share(audio, f0):
    low, high = band_energy(audio, f0), band_energy(audio, 2 * f0)
    return high / (low + high)


def test_a_named_note_bends_on_its_own_and_releases_by_its_id(duo):
    instrument, engine = duo
    instrument.mnote(57, 100, note_id=7)
    instrument.mnote(64, 100, note_id=8)
    instrument.note_expression(7, "pitch", 12.0)  # A3 up an octave, E4 stays
    audio = render(engine, 0.8)[9600:]
    assert band_energy(audio, 220.0) < 1e-3 * band_energy(audio, 440.0)  # no A3 left
    assert band_energy(audio, 329.63) > 0.05 * band_energy(audio, 440.0)  # E4 unbent
    instrument.mnote(0, 0, note_id=7)  # velocity 0: by the id, whatever the pitch says
    instrument.mnote_release(0, note_id=8)
    render(engine, 0.6)
    assert engine.stats().voices_active == 0 and len(instrument.note_ids) == 0


def test_timbre_moves_one_named_note_through_the_expression_mapping(duo):
    instrument, engine = duo
    instrument.expression = instrument.expression.__class__(slide_axis="x", depth=0.5)
    instrument.mnote(57, 100, note_id=1)
    instrument.mnote(62, 100, note_id=2)
    instrument.note_expression(1, "timbre", 1.0)  # slide +1: x 0.5 + 0.5 = 1: all octave
    instrument.note_expression(2, "timbre", 0.0)  # slide -1: x 0: all fundamental
    audio = render(engine, 1.0)[24000:]
    assert octave_share(audio, 220.0) > 0.9
    assert octave_share(audio, 293.66) < 0.1
    instrument.note_morph(2, 0.0, 0.0)  # back to the pad's own position: half and half
    audio = render(engine, 0.6)[19200:]
    assert octave_share(audio, 293.66) == pytest.approx(0.5, abs=0.1)
    instrument.all_notes_off()
    assert len(instrument.note_ids) == 0


def test_unknown_ids_are_counted_a_reused_id_releases_its_old_note_and_the_table_is_bounded(duo):
    instrument, engine = duo
    instrument.note_expression(99, "pitch", 3.0)
    instrument.mnote_release(60, note_id=99)
    assert instrument.note_ids.unknown == 2
    instrument.mnote(60, 100, note_id=5)
    instrument.mnote(67, 100, note_id=5)  # the id now names G4: C4 is let go
    render(engine, 0.8)
    assert engine.stats().voices_sounding == 1
    audio = render(engine, 0.3)
    assert band_energy(audio, 261.63) < 1e-3 * band_energy(audio, 392.0)
    ids = NoteIds(max_ids=3)
    for n in range(5):
        ids.start(n, 0, 60 + n)
    assert len(ids) == 3 and ids.forgotten == 2 and ids.get(0) is None
