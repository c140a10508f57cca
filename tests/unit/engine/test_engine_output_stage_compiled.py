"""The compiled output stage (limiter.output_block) against its numpy reference, sample for sample."""

import numpy as np
import pytest

from gansynth_live.engine.rt import jit
from gansynth_live.engine.rt.limiter import OutputStage

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
