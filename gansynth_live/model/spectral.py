"""Mel + instantaneous-frequency spectrograms <-> 16 kHz audio, in TensorFlow.

Both directions follow magenta's SpecgramsHelper op for op (float32 constants,
divisions where it divides, all STFT padding at the front), because the decoder
runs after a generator trained on exactly this transform: any "tidier" variant
changes the sound. The forward direction exists for `fit`, which trains on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .melscale import linear_to_mel, mel_to_linear

_EPS = 1.0e-6


@dataclass(frozen=True)
class SpecLayout:
    """STFT geometry implied by the spectrogram shape and audio length."""

    frames: int
    bins: int
    audio_length: int
    sample_rate: int

    @property
    def nfft(self) -> int:
        return 2 * self.bins

    @property
    def hop(self) -> int:
        return self.nfft // 4  # overlap 0.75

    @property
    def pad_left(self) -> int:
        return self.hop * (self.frames - 1) + self.nfft - self.audio_length


def _diff_time(x: tf.Tensor) -> tf.Tensor:
    return x[:, 1:, :] - x[:, :-1, :]


def instantaneous_frequency(phase: tf.Tensor) -> tf.Tensor:
    """Unwrapped phase differences over time (axis 1 of [B,T,F]), in units of pi.

    magenta computes a discontinuity threshold and never uses it; so neither do we.
    """
    dd = _diff_time(phase)
    ddmod = tf.math.floormod(dd + np.pi, 2.0 * np.pi) - np.pi
    at_minus_pi = tf.logical_and(tf.equal(ddmod, -np.pi), tf.greater(dd, 0))
    ddmod = tf.where(at_minus_pi, tf.ones_like(ddmod) * np.pi, ddmod)
    correction = ddmod - dd
    correction = tf.concat([tf.zeros_like(phase[:, :1, :]), tf.cumsum(correction, axis=1)], 1)
    unwrapped = phase + correction
    return tf.concat([unwrapped[:, :1, :], _diff_time(unwrapped)], axis=1) / np.pi


class MelSpectralCodec:
    """Converts between normalized mel+IF images [B,T,F,2] and waves [B,N]."""

    def __init__(self, layout: SpecLayout, mag_normalizer: tuple[float, float],
                 p_normalizer: tuple[float, float]) -> None:
        self.layout = layout
        self._mel2lin = tf.constant(mel_to_linear(layout.bins, layout.sample_rate),
                                    dtype=tf.float32)
        self._lin2mel = tf.constant(linear_to_mel(layout.bins, layout.sample_rate),
                                    dtype=tf.float32)
        self._norm_a = tf.constant([mag_normalizer[0], p_normalizer[0]], dtype=tf.float32)
        self._norm_b = tf.constant([mag_normalizer[1], p_normalizer[1]], dtype=tf.float32)

    # --- generator space <-> physical mel + IF -------------------------------------
    def denormalize(self, images: tf.Tensor) -> tf.Tensor:
        """Generator output in [-1, 1] to log-mel power + mel IF (magenta divides)."""
        return (images - self._norm_b) / self._norm_a

    def normalize(self, melspecs: tf.Tensor) -> tf.Tensor:
        return melspecs * self._norm_a + self._norm_b

    # --- decoding ------------------------------------------------------------------
    def melspecs_to_waves(self, melspecs: tf.Tensor) -> tf.Tensor:
        """[B,T,F,2] log-mel power + mel IF to [B, audio_length] float32 audio."""
        log_mel_power = melspecs[:, :, :, 0]
        mel_if = melspecs[:, :, :, 1]
        power = tf.tensordot(tf.exp(log_mel_power), self._mel2lin, 1)
        log_mag = 0.5 * tf.math.log(power + _EPS)
        mel_phase = tf.cumsum(mel_if * np.pi, axis=-2)
        phase = tf.tensordot(mel_phase, self._mel2lin, 1)
        inst_freq = instantaneous_frequency(phase)
        mag = tf.exp(log_mag)
        phase = tf.cumsum(inst_freq * np.pi, axis=-2)
        stfts = tf.complex(mag, 0.0) * tf.complex(tf.cos(phase), tf.sin(phase))
        stfts = tf.pad(stfts, [[0, 0], [0, 0], [1, 0]])  # zero DC bin in front
        lay = self.layout
        waves = tf.signal.inverse_stft(
            stfts, frame_length=lay.nfft, frame_step=lay.hop, fft_length=lay.nfft,
            window_fn=tf.signal.inverse_stft_window_fn(lay.hop))
        return waves[:, lay.pad_left : lay.pad_left + lay.audio_length]

    # --- encoding (for training) -------------------------------------------------------
    def waves_to_melspecs(self, waves: tf.Tensor) -> tf.Tensor:
        """[B, audio_length] audio to [B,T,F,2] log-mel power + mel IF."""
        lay = self.layout
        padded = tf.pad(waves, [[0, 0], [lay.pad_left, 0]])
        stfts = tf.signal.stft(padded, frame_length=lay.nfft, frame_step=lay.hop,
                               fft_length=lay.nfft, pad_end=False)[:, :, 1:]
        log_mag = tf.math.log(tf.abs(stfts) + _EPS)
        inst_freq = instantaneous_frequency(tf.math.angle(stfts))
        power = tf.exp(2.0 * log_mag)
        phase = tf.cumsum(inst_freq * np.pi, axis=-2)
        log_mel_power = tf.math.log(tf.tensordot(power, self._lin2mel, 1) + _EPS)
        mel_if = instantaneous_frequency(tf.tensordot(phase, self._lin2mel, 1))
        return tf.stack([log_mel_power, mel_if], axis=-1)
