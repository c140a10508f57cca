"""Check the soak's session recording: the WAV's frames, its samples, its last moments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TAIL_S = 0.25
FLOOR_DBFS = -200.0


@dataclass(frozen=True)
class WavCheck:
    frames: int
    valid: bool  # opens, finite, within full scale (the limiter's promise)
    peak_dbfs: float
    tail_dbfs: float  # peak of the last TAIL_S: silence when nothing is left sounding
    problem: str = ""


def _dbfs(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else FLOOR_DBFS


def check_wav(path: Path, rate: int, block_frames: int = 1 << 18) -> WavCheck:
    """Read the whole file in blocks (a long take need not fit in memory twice)."""
    import soundfile as sf

    if not path.exists():
        return WavCheck(0, False, FLOOR_DBFS, FLOOR_DBFS, "no file")
    try:
        info = sf.info(str(path))
        if info.samplerate != rate:
            return WavCheck(info.frames, False, FLOOR_DBFS, FLOOR_DBFS,
                            f"rate {info.samplerate}, expected {rate}")
        peak, finite, tail = 0.0, True, np.zeros((0, info.channels), np.float32)
        for block in sf.blocks(str(path), blocksize=block_frames, dtype="float32",
                               always_2d=True):
            finite = finite and bool(np.isfinite(block).all())
            peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
            tail = np.concatenate([tail, block])[-int(TAIL_S * rate):]
    except (RuntimeError, OSError) as exc:  # soundfile's LibsndfileError is a RuntimeError
        return WavCheck(0, False, FLOOR_DBFS, FLOOR_DBFS, str(exc))
    peak_dbfs = 20.0 * np.log10(peak) if peak > 0 else FLOOR_DBFS
    problem = "" if finite else "non-finite samples"
    if peak > 1.0:
        problem = problem or f"peak {peak_dbfs:.1f} dBFS above full scale"
    return WavCheck(info.frames, not problem, peak_dbfs, _dbfs(tail), problem)
