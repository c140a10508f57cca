"""The compiled kernels compute what their numpy oracle computes, and never compile while playing."""

import numpy as np
import pytest

import kernel_oracle
from engine_testing import SR
from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine import Engine, EngineConfig, render_offline, render_with_engine
from gansynth_live.engine.synthetic import synthetic_bank
from gansynth_live.events import (AllSoundOff, NoteOff, NoteOn, PitchBend, SetEnvelope, SetLayers,
                                  SustainPedal)

kernel_numba = pytest.importorskip("gansynth_live.engine.rt.kernel_numba")


def busy_session(bank):
    """A bit of everything: chords past polyphony, bends, pedal, a morph, one-shots, int16."""
    one_shots = synthetic_bank(range(40, 80, 5), SR, duration_s=0.4, loop=False, int16=True,
                               latent_id="one-shot")
    events = [(0.0, NoteOn(40 + 3 * i, 30 + 9 * i, channel=i % 2)) for i in range(10)]
    events += [(0.2, PitchBend(0.7, channel=1)), (0.25, SustainPedal(True)),
               (0.3, NoteOff(43)), (0.3, NoteOff(46, channel=1)),
               (0.35, SetLayers(BankLayers((bank, one_shots), (0.4, 0.6)))),
               (0.5, SetEnvelope(0.02, 0.1, 0.5, 0.15)), (0.55, SustainPedal(False)),
               (0.6, NoteOn(70, 127)), (0.6, NoteOn(71, 127)), (0.9, AllSoundOff()),
               (0.95, NoteOn(50, 90)), (1.1, NoteOff(50))]
    return events


def test_the_kernels_render_what_their_numpy_oracle_renders(bank):
    events = busy_session(bank)
    outs = {}
    for name, kernels in (("numba", None), ("oracle", kernel_oracle)):
        engine = Engine(EngineConfig(polyphony=6, morph_glide_s=0.05), kernels=kernels)
        engine.set_layers(BankLayers.single(bank))
        outs[name] = render_with_engine(engine, events, 1.5, block_frames=200)
    assert np.abs(outs["numba"]).max() > 0.1
    assert np.abs(outs["numba"] - outs["oracle"]).max() < 1e-5


def test_playing_compiles_nothing_after_warm_up(bank):
    kernel_numba.warm_up()
    before = kernel_numba.signature_count()
    render_offline(EngineConfig(polyphony=6), BankLayers.single(bank),
                   busy_session(bank), 1.5, block_frames=100)
    assert kernel_numba.signature_count() == before
