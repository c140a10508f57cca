"""The mel warping matrices GANSynth was trained with, built bit-for-bit.

magenta widens narrow low-frequency bands *in place* on views of one edge array,
so a widened band also moves the centre and lower edge of its neighbours seen
later in the loop. A "clean" mel matrix (librosa, tf.signal, copied arrays)
decodes the released models' output to audibly different waves, so the aliasing
is reproduced on purpose. Everything is float64, as magenta computes it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_BREAK_HZ = 700.0
_HIGH_Q = 1127.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return _HIGH_Q * np.log(1.0 + np.asarray(hz, dtype=np.float64) / _BREAK_HZ)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return _BREAK_HZ * (np.exp(np.asarray(mel, dtype=np.float64) / _HIGH_Q) - 1.0)


@lru_cache(maxsize=4)
def linear_to_mel(num_bins: int, sample_rate: int) -> np.ndarray:
    """[linear bin, mel bin] weights, DC row zero; magenta's band widening included."""
    nyquist = sample_rate / 2.0
    linear_hz = np.linspace(0.0, nyquist, num_bins)[1:, np.newaxis]
    edges = _mel_edges(num_bins, sample_rate)
    min_width_hz = 1.5 * nyquist / float(num_bins)
    for i in range(num_bins):
        lower_hz, center_hz, upper_hz = mel_to_hz(edges[i : i + 3])
        if upper_hz - lower_hz < min_width_hz:
            ratio = 0.5 * min_width_hz / (center_hz + _BREAK_HZ)
            half_width_mel = _HIGH_Q * np.log(ratio + np.sqrt(1.0 + ratio**2))
            edges[i] = edges[i + 1] - half_width_mel
            edges[i + 2] = edges[i + 1] + half_width_mel
    lower = mel_to_hz(edges[:-2])[np.newaxis, :]
    center = mel_to_hz(edges[1:-1])[np.newaxis, :]
    upper = mel_to_hz(edges[2:])[np.newaxis, :]
    rising = (linear_hz - lower) / (center - lower)
    falling = (upper - linear_hz) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights = np.pad(weights, [[1, 0], [0, 0]])
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=4)
def mel_to_linear(num_bins: int, sample_rate: int) -> np.ndarray:
    """[mel bin, linear bin]: magenta's approximate inverse, M.T @ diag(1/colsum(M M.T)).

    Not the pseudo-inverse; a different inverse changes every decoded note.
    """
    m = linear_to_mel(num_bins, sample_rate)
    colsum = np.sum(m @ m.T, axis=0)
    safe = np.where(np.abs(colsum) > 1e-8, colsum, 1.0)
    d = np.where(np.abs(colsum) > 1e-8, 1.0 / safe, colsum)
    inverse = m.T * d[np.newaxis, :]
    inverse.setflags(write=False)
    return inverse


def _mel_edges(num_bins: int, sample_rate: int) -> np.ndarray:
    """num_bins + 2 equally spaced mel points from 0 Hz to Nyquist (a fresh array)."""
    return np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), num_bins + 2)


def mel_bin_hz(num_bins: int, sample_rate: int) -> np.ndarray:
    """Centre frequency (Hz) of each mel bin, before magenta's band widening."""
    return mel_to_hz(_mel_edges(num_bins, sample_rate)[1:-1])
