"""The one gain a whole track gets, so it never clips.

Nothing is normalised per note (magenta divides each note by its own
maximum, which fails on silent notes and erases the model's own loudness);
a render or an audition is scaled once, as a whole, to a chosen peak.
"""

from __future__ import annotations

import math

import numpy as np


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
