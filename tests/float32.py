"""Bounds for comparing float32 outputs, derived from float32 rounding.

Why not fixed absolute tolerances: the same float32 network run by two TensorFlow builds
differs by rounding only, but by how much depends on the kernels. TensorFlow 2.21's
oneDNN convolutions (on by default on x86) sum in another order than Eigen's, or than
magenta's TensorFlow 1, and the pixel norm over 4-channel maps and the denormalizer's
1/0.066 amplify the difference: a fixed 1e-4 held with one release and failed with the
next. Rounding error scales with the signal, so a bound here is a number of float32
epsilons of the reference's peak ("ulps of the peak"). A semantic mistake (raw weights
instead of the EMA shadows, a wrong pitch, a transposed kernel) moves values by a sizeable
fraction of the peak: millions of ulps, far above any bound used here.
"""

from __future__ import annotations

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)  # 1.19e-7


def ulps_of_peak(actual: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max, mean) absolute difference in float32 epsilons of the reference's peak."""
    unit = EPS32 * float(np.max(np.abs(reference)))
    diff = np.abs(np.asarray(actual, np.float64) - np.asarray(reference, np.float64))
    return float(diff.max() / unit), float(diff.mean() / unit)


def assert_within_ulps(actual: np.ndarray, reference: np.ndarray, max_ulps: float,
                       mean_ulps: float | None = None) -> None:
    """Fail with both figures when `actual` is further from `reference` than stated."""
    assert np.shape(actual) == np.shape(reference)
    worst, mean = ulps_of_peak(actual, reference)
    assert worst <= max_ulps, f"max {worst:.0f} ulps of the peak > {max_ulps}"
    if mean_ulps is not None:
        assert mean <= mean_ulps, f"mean {mean:.2f} ulps of the peak > {mean_ulps}"


# Measured on the tiny checkpoint against magenta's output and against a float64 run of
# our generator, and on the small random architectures of test_loading, with TensorFlow
# 2.21 (oneDNN on and off), both sampling paths and batch sizes 1..10: max 570..2,600
# ulps of the peak; mean 1.3..5 for waves, 0.5..2.4 for specgrams. The bounds leave a
# factor of about 3 for other builds and processors; the means are the sharper check.
NETWORK_MAX_ULPS = 8192
WAVE_MEAN_ULPS = 16
SPECGRAM_MEAN_ULPS = 6
