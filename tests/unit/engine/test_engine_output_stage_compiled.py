"""The compiled output stage (output_stage.output_block) against its numpy reference, sample for sample."""

import numpy as np
import pytest

from gansynth_live.engine.rt import jit
from gansynth_live.engine.rt.output_stage import OutputStage

pytest.importorskip("numba")


def test_the_compiled_output_stage_matches_the_numpy_one_bit_for_bit():
    jit.warm_up()
    rng = np.random.default_rng(1)
    compiled = OutputStage(48000, 0.8, 0.95, 0.05, 1024)
    reference = OutputStage(48000, 0.8, 0.95, 0.05, 1024)
    assert compiled.compiled
    for i in range(2000):
        n = int(rng.choice([1, 7, 32, 64, 256, 1024]))
        mix = (rng.standard_normal((n, 2)) * rng.choice([0.01, 0.5, 1.0, 3.0, 20.0]))
        mix = mix.astype(np.float32)
        if i % 500 == 3:
            mix[0, 0] = np.nan
        if i % 97 == 5:
            compiled.master_target = reference.master_target = float(rng.uniform(0.1, 1.5))
        a, b = np.empty_like(mix), np.empty_like(mix)
        assert compiled.process(mix, a) == reference.process_numpy(mix, b)
        np.testing.assert_array_equal(a, b)
        assert (compiled.master, compiled.limit, compiled.reduction_db) == \
            (reference.master, reference.limit, reference.reduction_db)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_level_meter_holds_the_output_peak_and_falls_20_db_in_1_7_s(compiled):
    jit.warm_up()
    stage = OutputStage(48000, 1.0, 0.95, 0.05, 1024)
    process = stage.process if compiled else stage.process_numpy
    out = np.empty((480, 2), dtype=np.float32)
    loud = np.full((480, 2), 0.5, dtype=np.float32)
    process(loud, out)
    assert stage.meter_db() == pytest.approx(20 * np.log10(0.5), abs=1e-6)
    silence = np.zeros((480, 2), dtype=np.float32)
    for _ in range(170):  # 1.7 s of 10 ms blocks
        process(silence, out)
    assert stage.meter_db() == pytest.approx(20 * np.log10(0.5) - 20.0, abs=1e-3)
    process(loud * 0.1, out)  # a quieter peak than the held level does not pull it up
    assert stage.meter_db() < 20 * np.log10(0.05) + 1e-6


def test_the_dsp_load_is_the_callbacks_share_of_its_period():
    from gansynth_live.engine.rt.counters import Counters, close_callback

    jit.warm_up()
    counters = Counters()
    period_s = 256 / 48000.0
    for _ in range(2000):  # ~10 s of blocks, each costing a quarter of the period
        close_callback(counters.ints, counters.costs, counters.cost_hist, period_s / 4, 256,
                       48000.0, 1.0 / counters.COST_BIN_S)
    assert counters.dsp_load == pytest.approx(0.25, rel=1e-3)
    for _ in range(200):  # ~1 s at 90 %: the load follows within a second
        close_callback(counters.ints, counters.costs, counters.cost_hist, period_s * 0.9, 256,
                       48000.0, 1.0 / counters.COST_BIN_S)
    assert 0.8 < counters.dsp_load < 0.9
