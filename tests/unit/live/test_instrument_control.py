"""Instrument controls: presets, corners, programs, saving, envelope, volume, recording."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
from instrument_testing import render, wait_playable
from tone_model import FUNDAMENTAL, OCTAVE

from gansynth_live.live.corners import Corner
from gansynth_live.errors import GansynthLiveError
from gansynth_live.presets import PresetError, find_preset


def test_single_preset_is_one_bank_on_every_corner(make_instrument):
    instrument = make_instrument("fund")
    wait_playable(instrument)
    state = instrument.state()
    assert state.preset == "fund" and state.corners == ("fund",) * 4 and state.shape == "point"
    assert state.envelope.release_s == 0.05
    assert instrument.follower.progress().banks_total == 1
    assert len(instrument.follower.layers.banks) == 1


def test_morph_setup_loads_its_corners(make_instrument):
    instrument = make_instrument("duo")
    state = instrument.state()
    assert state.corners == ("fund", "oct") and state.shape == "line"
    with pytest.raises(GansynthLiveError, match="corners 1..2"):
        instrument.corner_random(3)


def test_corner_changes_keep_shared_banks(make_instrument):
    instrument = make_instrument("fund")
    wait_playable(instrument)
    before = {h.latent_id: h for h in instrument.follower.space.handles()}
    instrument.corner_preset(2, "oct")
    wait_playable(instrument)
    after = {h.latent_id: h for h in instrument.follower.space.handles()}
    assert instrument.state().corners == ("fund", "oct", "fund", "fund")
    shared = set(before) & set(after)
    assert shared and all(before[k] is after[k] for k in shared)  # not re-requested
    instrument.corner_random(4)
    assert instrument.state().corners[3].startswith("random ")
    instrument.corner_step(1, 1)  # next single preset by name after 'fund' is 'oct'
    assert instrument.state().corners[0] == "oct"


def test_unknown_or_unsafe_preset_names_raise_clear_errors(make_instrument):
    instrument = make_instrument("fund")
    with pytest.raises(PresetError, match="no preset named"):
        instrument.select_preset("nope")
    with pytest.raises(GansynthLiveError, match="not allowed"):
        instrument.select_preset("../../etc/passwd")
    with pytest.raises(PresetError, match="morph setup"):
        instrument.corner_preset(1, "duo")
    assert instrument.state().preset == "fund"


def test_program_change_selects_presets_by_name_order(make_instrument):
    messages = []
    instrument = make_instrument("fund", messages=messages)
    instrument.select_program(1)  # duo, fund, oct
    assert instrument.state().preset == "fund"
    instrument.select_program(2)
    assert instrument.state().preset == "oct"
    instrument.select_program(99)  # reported, not raised (the MIDI thread must go on)
    assert instrument.state().preset == "oct" and "program 99" in messages[-1]


def test_save_preset_writes_a_morph_setup_that_loads_again(make_instrument):
    instrument = make_instrument("duo")
    instrument.corner_random(2)
    seed = int(instrument.state().corners[1].split()[1])
    instrument.set_envelope(release_s=1.25)
    path = instrument.save_preset("live take")
    saved = find_preset("live take")
    assert path.exists() and saved.corners == ("fund", "live take corner 2")
    assert find_preset("live take corner 2").seed == seed
    assert saved.envelope.release_s == 1.25
    with pytest.raises(PresetError, match="exists"):
        instrument.save_preset("live take")
    instrument.select_preset("fund")
    instrument.select_preset("live take")
    assert instrument.state().corners == ("fund", "live take corner 2")


def test_envelope_and_volume_reach_the_engine(make_instrument, engine):
    instrument = make_instrument("fund")
    wait_playable(instrument)
    render(engine, 0.05)
    instrument.set_volume(0.0)
    instrument.note_on(69, 127)
    silent = render(engine, 0.3)
    assert np.abs(silent[4800:]).max() < 1e-4  # master gain 0 (ramped in one block)
    instrument.set_volume(0.5)
    loud = render(engine, 0.3)
    assert np.abs(loud[4800:]).max() > 0.05
    instrument.set_envelope(release_s=2.0)
    instrument.note_off(69)
    tail = render(engine, 0.5)
    assert engine.stats().voices_active == 1 and np.abs(tail[-2400:]).max() > 1e-3


def test_recording_start_stop_writes_what_played(make_instrument, engine, tmp_path):
    instrument = make_instrument("fund")
    wait_playable(instrument)
    instrument.set_recording(True)
    instrument.note_on(69, 110)
    played = render(engine, 0.5)
    instrument.set_recording(False)
    path = instrument.recording.last_path
    assert path.parent == tmp_path / "rec" and not instrument.state().recording
    data, rate = sf.read(path, dtype="float32")
    assert rate == 48000 and data.shape == played.shape
    np.testing.assert_allclose(data, played, atol=2.0 / 2**23)  # 24-bit


def test_corner_latents_of_the_wrong_size_are_refused(make_instrument):
    with pytest.raises(PresetError, match="latent"):
        make_instrument(corners=[Corner("a", FUNDAMENTAL), Corner("b", np.ones(5))])
    instrument = make_instrument(corners=[Corner("a", FUNDAMENTAL), Corner("b", OCTAVE)])
    assert instrument.state().corners == ("a", "b")


def test_a_take_while_the_session_records(make_instrument, engine, tmp_path):
    instrument = make_instrument("fund")
    wait_playable(instrument)
    recording = instrument.recording
    recording.start_session(tmp_path / "session.wav")
    first = render(engine, 0.2)
    instrument.set_recording(True)
    instrument.note_on(69, 110)
    take = render(engine, 0.3)
    instrument.set_recording(False)
    last = render(engine, 0.1)
    assert recording.session_active and not recording.active
    assert recording.stop_all() == [tmp_path / "session.wav"]
    session_data, _ = sf.read(tmp_path / "session.wav", dtype="float32")
    take_data, _ = sf.read(recording.last_path, dtype="float32")
    np.testing.assert_allclose(session_data, np.concatenate([first, take, last]), atol=1e-6)
    np.testing.assert_allclose(take_data, take, atol=1e-6)
    assert engine.recorder is None


def test_a_flood_of_moves_ends_on_the_last_position(make_instrument):
    instrument = make_instrument("duo")
    wait_playable(instrument)
    for k in range(10_000):
        instrument.set_morph(x=(k % 128) / 127.0)
    instrument.set_morph(x=0.25)
    wait_playable(instrument)
    follower = instrument.follower
    follower.wait_pass()
    expected = follower.space.layers_at(0.25, 0.5)
    assert follower.layers.banks == expected.banks
    assert follower.layers.weights == pytest.approx(expected.weights)
    assert instrument.state().x == 0.25


def test_stepping_and_programs_skip_presets_of_another_model(make_instrument, presets_dir):
    """The default model's presets mean nothing to another model: stepping and program
    changes pass over them; seed-only presets fit any model."""
    from gansynth_live.presets import Preset, save_preset

    save_preset(Preset("other", model="default", latent=tuple([0.5] * 8)), presets_dir)
    save_preset(Preset("other duo", model="default", corners=("fund", "oct")), presets_dir)
    save_preset(Preset("any seed", model="default", seed=5), presets_dir)
    instrument = make_instrument()
    names = instrument.library.names()
    assert "other" not in names and "other duo" not in names
    assert {"any seed", "fund", "oct", "duo"} <= set(names)
    for number in range(len(names)):
        assert instrument.library.program(number) not in ("other", "other duo")


def test_a_take_left_running_stops_by_itself(make_instrument, engine):
    """OSC can start a take; nobody may fill the disk by never stopping it."""
    instrument = make_instrument("fund")
    wait_playable(instrument)
    recording = instrument.recording
    recording.max_take_s = 0.25
    instrument.set_recording(True)
    render(engine, 0.1)
    assert recording.stop_if_too_long() is None and recording.active
    render(engine, 0.2)
    deadline = time.monotonic() + 5.0  # the writer thread counts what it has written
    while recording.seconds < 0.25 and time.monotonic() < deadline:
        time.sleep(0.01)
    path = recording.stop_if_too_long()
    assert path is not None and not recording.active and not instrument.state().recording
    data, rate = sf.read(path, dtype="float32")
    assert 0.25 <= len(data) / rate <= 0.35
