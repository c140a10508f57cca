"""Banks the engine cannot play and settings out of range fail loudly, before audio."""

import numpy as np
import pytest

from engine_testing import SR
from gansynth_live.banks.bank import BankLayers, NoteBank, NoteSlot
from gansynth_live.engine import BankLayoutError, Engine, EngineConfig, EngineConfigError
from gansynth_live.engine.layers import PitchTable
from gansynth_live.errors import GansynthLiveError


def bank_with(slot, samples=None):
    samples = np.zeros(1000, dtype=np.float32) if samples is None else samples
    return NoteBank(SR, samples, {slot.pitch: slot})


@pytest.mark.parametrize("slot, match", [
    (NoteSlot(60, 0, 2000, 0, 0, 1.0, 0.5), "outside"),
    (NoteSlot(60, 500, 400, 500, 500, 1.0, 0.5), "outside"),
    (NoteSlot(60, 0, 900, 800, 700, 1.0, 0.5), "out of order"),
    (NoteSlot(60, 0, 900, 950, 960, 1.0, 0.5), "out of order"),
])
def test_slots_outside_the_samples_are_refused(slot, match):
    engine = Engine(EngineConfig())
    with pytest.raises(BankLayoutError, match=match):
        engine.set_layers(BankLayers.single(bank_with(slot)))


def test_non_finite_samples_are_refused():
    samples = np.zeros(1000, dtype=np.float32)
    samples[10] = np.nan
    with pytest.raises(BankLayoutError, match="NaN"):
        PitchTable.build(bank_with(NoteSlot(60, 0, 900, 100, 800, 1.0, 0.5), samples), SR)


def test_empty_bank_is_refused():
    with pytest.raises(BankLayoutError, match="no notes"):
        PitchTable.build(NoteBank(SR, np.zeros(10, dtype=np.float32), {}), SR)


def test_tiny_loops_play_as_one_shots():
    table = PitchTable.build(bank_with(NoteSlot(60, 0, 900, 100, 102, 1.0, 0.5)), SR)
    assert table.loop_start[60] == table.loop_end[60] == 900


def test_table_maps_every_pitch_with_its_rate():
    samples = np.zeros(3000, dtype=np.float64)  # float64 is converted, read-only
    bank = NoteBank(16000, samples, {60: NoteSlot(60, 0, 1000, 100, 900, 1.0, 0.5),
                                     72: NoteSlot(72, 1000, 2000, 1100, 1900, 1.0, 0.5)})
    table = PitchTable.build(bank, SR)
    assert table.samples.dtype == np.float32 and not table.samples.flags.writeable
    assert table.start[60] == 0 and table.start[72] == 1000 and table.start[127] == 1000
    assert table.rate[60] == pytest.approx(1 / 3)
    assert table.rate[61] == pytest.approx(2 ** (1 / 12) / 3)  # from 60, the nearest
    assert table.rate[66] == pytest.approx(2 ** (-6 / 12) / 3)  # a tie: from above, slower
    assert table.rate[0] == pytest.approx(2 ** (-60 / 12) / 3)


@pytest.mark.parametrize("field, value", [
    ("sample_rate", 1000), ("polyphony", 0), ("max_block_frames", 8), ("sustain", 1.5),
    ("bank_slots", 4), ("queue_reserve", 5000), ("master_gain", -1.0),
])
def test_config_names_the_bad_setting(field, value):
    with pytest.raises(EngineConfigError, match=field) as info:
        EngineConfig(**{field: value})
    assert isinstance(info.value, GansynthLiveError)


def test_push_refuses_non_events():
    with pytest.raises(TypeError):
        Engine(EngineConfig()).push("note on 60")


@pytest.mark.parametrize("kernels", ["compiled", "oracle"])
def test_note_gain_scales_each_note(kernels):
    """int16 banks store notes at full scale and their level in NoteSlot.gain."""
    import kernel_oracle
    from gansynth_live.engine.offline import render_with_engine
    from gansynth_live.events import NoteOn

    n = SR
    t = np.arange(n) / SR
    tone = (np.sin(2 * np.pi * 220 * t) * 32000).astype(np.int16)
    samples = np.concatenate([tone, tone])
    slots = {60: NoteSlot(60, 0, n, 0, 0, 1.0, 0.5, gain=0.5),
             72: NoteSlot(72, n, 2 * n, n, n, 1.0, 0.5, gain=0.125)}
    bank = NoteBank(SR, samples, slots, scale=1 / 32768)
    config = EngineConfig(attack_s=0.001, sustain=1.0, decay_s=0.0, velocity_curve=0.0,
                          master_gain=1.0)

    def play(pitch):
        engine = Engine(config, kernels=kernel_oracle if kernels == "oracle" else None)
        engine.set_layers(BankLayers.single(bank))
        return render_with_engine(engine, [(0.0, NoteOn(pitch, 100))], 0.5)

    loud, quiet = play(60), play(72)
    ratio = np.abs(loud[SR // 10:]).max() / np.abs(quiet[SR // 10:]).max()
    assert ratio == pytest.approx(4.0, rel=0.02)
