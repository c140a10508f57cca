"""A stand-in for the GAN in serve tests: the real bank pipeline, tones whose pitch we know.

The tiny fixture checkpoint has random weights (noise at every pitch), so it
cannot show that a MIDI note 69 comes out at 440 Hz or that a morph moved
the timbre. `ToneModel` has the interface `BankService` uses (`generate`,
`pitch_range`, `latent_size`, ...) and renders, for each latent and pitch, a
4 s note (held 3 s, like NSynth) that is either the fundamental alone
(latent[0] >= 0) or the second harmonic alone (latent[0] < 0). Everything
after it (DC filter, soxr, loops, arena, cache, morph grid, engine) is the
production code.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from gansynth_live.model.prior import NORMAL

FUNDAMENTAL = np.ones(8)  # latent of a pure fundamental
OCTAVE = -np.ones(8)  # latent of a pure second harmonic


class ToneModel:
    sample_rate = 16000
    latent_size = 8
    default_batch_size = 8
    fingerprint = "tone-model-v1"
    prior = NORMAL  # magenta's N(0, 1): what random_latents draws (ModelSource.prior asks)

    def __init__(self, pitches: range = range(57, 73)) -> None:
        self.pitch_range = pitches
        self.config = SimpleNamespace(audio_length=64000)
        self.info = SimpleNamespace(path="tones")
        self.calls = 0

    def random_latents(self, n: int, seed: int | None = None) -> np.ndarray:
        return np.random.RandomState(seed).normal(size=[n, self.latent_size])

    def generate(self, z, pitches, batch_size=None, progress=None) -> np.ndarray:
        self.calls += 1
        t = np.arange(64000) / 16000.0
        envelope = np.clip(t / 0.01, 0.0, 1.0) * np.where(t < 3.0, 1.0, np.exp(-(t - 3.0) * 8))
        out = np.zeros((len(pitches), 64000), np.float32)
        for i, (latent, pitch) in enumerate(zip(np.asarray(z), pitches)):
            f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
            harmonic = 1 if latent[0] >= 0 else 2
            out[i] = 0.5 * envelope * np.sin(2 * np.pi * harmonic * f0 * t)
        return out


def tone_source(pitches: range = range(57, 73)):
    """A ModelSource over a ToneModel and BuildSettings that pre-render nothing above it."""
    from gansynth_live.banks.builder import BuildSettings
    from gansynth_live.banks.source import ModelSource

    model = ToneModel(pitches)
    return ModelSource(model=model, name="tones"), BuildSettings(highest_pitch=pitches[-1])


def write_tone_presets(folder) -> None:
    """Presets 'fund' and 'oct' (the two ToneModel timbres) and a morph setup 'duo'."""
    from gansynth_live.presets import Envelope, Preset, save_preset

    env = Envelope(attack_s=0.005, decay_s=0.1, sustain=1.0, release_s=0.05)
    save_preset(Preset("fund", model="tones", latent=tuple(FUNDAMENTAL), envelope=env), folder)
    save_preset(Preset("oct", model="tones", latent=tuple(OCTAVE), envelope=env), folder)
    save_preset(Preset("duo", model="tones", corners=("fund", "oct"), resolution=2,
                       envelope=env), folder)


def peak_hz(audio: np.ndarray, sample_rate: int = 48000) -> float:
    """Frequency of the strongest spectral peak of a (frames,) or (frames, 2) signal."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    window = np.hanning(len(mono))
    spectrum = np.abs(np.fft.rfft(mono * window))
    k = int(np.argmax(spectrum[1:])) + 1
    if 1 <= k < len(spectrum) - 1:  # parabolic interpolation on the log magnitude
        a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-20)
        k = k + 0.5 * (a - c) / (a - 2 * b + c)
    return float(k * sample_rate / len(mono))


def band_energy(audio: np.ndarray, f_hz: float, sample_rate: int = 48000,
                width_hz: float = 20.0) -> float:
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1.0 / sample_rate)
    return float(spectrum[np.abs(freqs - f_hz) < width_hz].sum())


def write_tone_square(folder) -> None:
    """A morph square 'rise' over presets of write_tone_presets: fundamental below, octave above.

    Four distinct corner latents, two of each ToneModel timbre: y (MPE slide, by default)
    moves a note from the fundamental to the octave, x changes nothing audible.
    """
    from gansynth_live.presets import Envelope, Preset, save_preset

    env = Envelope(attack_s=0.005, decay_s=0.1, sustain=1.0, release_s=0.05)
    other = np.where(np.arange(8) % 2 == 0, 1.0, -1.0)  # latent[0] keeps each one's timbre
    save_preset(Preset("fund2", model="tones", latent=tuple(other), envelope=env), folder)
    save_preset(Preset("oct2", model="tones", latent=tuple(-other), envelope=env), folder)
    save_preset(Preset("rise", model="tones", corners=("fund", "fund2", "oct", "oct2"),
                       resolution=2, envelope=env), folder)
