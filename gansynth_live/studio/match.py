"""Find the instrument you hear: the latent whose note sounds closest to a recording.

Two stages, both scored by one multi-resolution spectral distance:

1. A search over candidates, generated at the target's pitch in batches: the
   model's named instruments first (its instruments.json, the fitted voices of
   a model like the default one, and the shipped presets made for it,
   `named_candidates`), then `candidates` random latents, each drawn from the
   model's prior (model/prior.py) with its own seed (so a random best one is
   also `seed:N`). The named ones ranked by distance say which instrument the
   recording is nearest to.
2. Gradient descent from the best candidate, through the TensorFlow generator
   and the mel/IF decoder (both differentiable), with Adam on the latent.
   After every step the latent is put back on the sphere of its starting norm:
   the generator was trained on Gaussian latents, whose norm is always close
   to sqrt(latent_size), and far from it the sound degrades. The best latent
   seen is kept, so descent can only improve on the search.

The distance compares the first L samples (L = the target's length, at most
the model's 4 s) after scaling both sounds to unit RMS, so it measures timbre
and envelope, not level. Per FFT size (2048, 1024, 512, 256; hop = size/4, Hann
window) it adds spectral convergence ||S_t - S_g||_F / ||S_t||_F and the mean
absolute difference of log magnitudes (floored 60 dB under the target's peak,
so inaudible noise floors don't dominate), then averages over sizes: large
frames judge the harmonics, small ones the attack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import GansynthLiveError
from .instruments import seed_latent

ProgressFn = Callable[[int, int], None]
MIN_TARGET_S = 0.25
FLOOR_RATIO = 1e-3  # -60 dB


class MatchError(GansynthLiveError):
    """A target recording that cannot be used, or a bad match setting."""


@dataclass(frozen=True)
class MatchSettings:
    candidates: int = 128
    steps: int = 100
    learning_rate: float = 0.01
    seed: int = 0
    fft_sizes: tuple[int, ...] = (2048, 1024, 512, 256)
    batch_size: int | None = None


@dataclass(frozen=True)
class MatchResult:
    latent: np.ndarray            # float64 [latent_size], the best found
    wave: np.ndarray              # its note, float32 [audio_length]
    pitch: int
    best_seed: int                # seed of the best random candidate
    distance_search: float        # best distance of the search, named or random ("before")
    distance_final: float         # after gradient descent ("after")
    search_distances: np.ndarray  # every random candidate's distance
    history: tuple[float, ...] = field(default=())  # distance at each descent step
    # (label, distance) of every named candidate, nearest first: "instrument NAME" or
    # "preset NAME" (a preset whose latent is also an instrument's is not repeated)
    named: tuple[tuple[str, float], ...] = field(default=())
    start: str = ""               # the candidate descent started from (a label or seed:N)

    @property
    def nearest(self) -> str | None:
        """The named candidate nearest to the target (None when the model has none)."""
        return self.named[0][0] if self.named else None


def load_target(path: Path, sample_rate: int, max_length: int) -> np.ndarray:
    """A recorded note: mono, at the model's rate, starting at its onset, at most 4 s."""
    import soundfile as sf
    import soxr

    try:
        audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (OSError, RuntimeError, ValueError) as exc:  # soundfile: RuntimeError/LibsndfileError
        raise MatchError(f"cannot read audio file '{path}': {exc}") from None
    x = audio.mean(axis=1)
    if not np.all(np.isfinite(x)):
        raise MatchError(f"'{path}' contains NaN or infinite samples")
    if rate != sample_rate and len(x):
        x = soxr.resample(x, rate, sample_rate, quality="VHQ")
    frame = max(1, int(0.005 * sample_rate))
    n = len(x) // frame
    if n == 0:
        raise MatchError(f"'{path}' is too short")
    energy = np.mean(np.square(x[:n * frame].reshape(n, frame)), axis=1)
    if energy.max() <= 0.0:
        raise MatchError(f"'{path}' is silent")
    onset = int(np.argmax(energy > energy.max() * 1e-4)) * frame  # first frame within 40 dB
    start = max(0, onset - int(0.002 * sample_rate))
    x = x[start:start + max_length]
    if len(x) < MIN_TARGET_S * sample_rate:
        raise MatchError(f"'{path}' holds {len(x) / sample_rate:.2f} s of sound after its onset; "
                         f"at least {MIN_TARGET_S} s are needed")
    return x.astype(np.float32)


def estimate_pitch(target: np.ndarray, sample_rate: int, pitch_range: range) -> int:
    """The MIDI pitch of a recorded note (median YIN estimate over its first second)."""
    import librosa

    lo = float(librosa.midi_to_hz(pitch_range[0] - 1))
    hi = min(float(librosa.midi_to_hz(pitch_range[-1] + 1)), sample_rate / 2.5)
    x = np.asarray(target[:sample_rate], np.float64)
    f0 = librosa.yin(x, fmin=lo, fmax=hi, sr=sample_rate, frame_length=2048)
    f0 = f0[np.isfinite(f0)]
    if not len(f0):
        raise MatchError("could not estimate the target's pitch; pass --pitch")
    pitch = int(round(float(librosa.hz_to_midi(np.median(f0)))))
    if pitch not in pitch_range:
        raise MatchError(f"the target's pitch looks like MIDI {pitch}, outside the model's "
                         f"{pitch_range[0]}..{pitch_range[-1]}; pass --pitch")
    return pitch


class SpectralDistance:
    """Multi-resolution spectral distance to one fixed target, in TensorFlow (differentiable)."""

    def __init__(self, target: np.ndarray, fft_sizes: Sequence[int] = (2048, 1024, 512, 256)):
        import tensorflow as tf

        self.length = int(len(target))
        self.fft_sizes = tuple(int(n) for n in fft_sizes if n <= self.length)
        if not self.fft_sizes:
            raise MatchError("the target is shorter than the smallest FFT size")
        t = tf.constant(np.asarray(target, np.float32)[None, :])
        t = self._unit_rms(t)
        self._targets = [self._magnitude(t, n) for n in self.fft_sizes]
        # log magnitudes are compared above a floor 60 dB under the target's peak:
        # otherwise bins the ear cannot hear (a clean note's noise floor) dominate
        self._floors = [FLOOR_RATIO * tf.reduce_max(m) for m in self._targets]

    @staticmethod
    def _unit_rms(x):
        import tensorflow as tf

        return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + 1e-12)

    @staticmethod
    def _magnitude(x, n: int):
        import tensorflow as tf

        spec = tf.signal.stft(x, frame_length=n, frame_step=n // 4, fft_length=n,
                              window_fn=tf.signal.hann_window, pad_end=True)
        # sqrt with a floor: |z| has an infinite gradient at 0
        return tf.sqrt(tf.square(tf.math.real(spec)) + tf.square(tf.math.imag(spec)) + 1e-12)

    def __call__(self, waves):
        """Distance of each row of `waves` [B, >= length] to the target: [B]."""
        import tensorflow as tf

        x = self._unit_rms(tf.convert_to_tensor(waves, tf.float32)[:, :self.length])
        total = 0.0
        for n, target, floor in zip(self.fft_sizes, self._targets, self._floors):
            mag = self._magnitude(x, n)
            diff = mag - target
            convergence = tf.sqrt(tf.reduce_sum(tf.square(diff), axis=[1, 2])) / tf.sqrt(
                tf.reduce_sum(tf.square(target)))
            log_mag = tf.reduce_mean(
                tf.abs(tf.math.log(mag + floor) - tf.math.log(target + floor)), axis=[1, 2])
            total = total + convergence + log_mag
        return total / len(self.fft_sizes)


def named_candidates(model, model_name: str | None = None) -> list[tuple[str, np.ndarray]]:
    """(label, latent) of the model's instruments.json and, when `model_name` (the model
    as the user named it) is given, of the shipped presets made for it; a preset whose
    latent is an instrument's is left out. [] for a model without either (Google's)."""
    from .. import presets
    from ..fit.instruments import InstrumentsError, read_instruments

    out: list[tuple[str, np.ndarray]] = []
    path = getattr(getattr(model, "info", None), "path", None)
    if path is not None:
        try:
            table = read_instruments(path, model.latent_size)
        except InstrumentsError:
            table = {}
        out.extend((f"instrument {name}", latent) for name, (_, latent) in table.items())
    folder = presets.SHIPPED_DIR  # looked up here: tests replace it
    files = sorted(folder.glob("*.json")) if model_name is not None and folder.is_dir() else []
    for file in files:
        try:
            preset = presets.load_preset_file(file)
        except presets.PresetError:
            continue
        if preset.model != model_name or preset.is_morph or preset.latent is None \
                or len(preset.latent) != model.latent_size:
            continue
        latent = np.asarray(preset.latent, np.float64)
        if not any(np.allclose(latent, z, atol=1e-6) for _, z in out):
            out.append((f"preset {preset.name}", latent))
    return out


def score_latents(model, distance: SpectralDistance, pitch: int, latents: np.ndarray,
                  batch_size: int | None = None, progress: ProgressFn | None = None,
                  done: int = 0, total: int | None = None) -> np.ndarray:
    """The distance of each latent's note at `pitch`, in batches."""
    count = len(latents)
    total = count if total is None else total
    batch = int(batch_size or model.default_batch_size)
    distances = np.empty(count)
    for start in range(0, count, batch):
        stop = min(count, start + batch)
        waves = model.generate(latents[start:stop], [pitch] * (stop - start), batch_size=batch)
        distances[start:stop] = distance(waves).numpy()
        if progress is not None:
            progress(done + stop, total)
    return distances


def random_search(model, distance: SpectralDistance, pitch: int, settings: MatchSettings,
                  progress: ProgressFn | None = None, done: int = 0,
                  total: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(distances, seeds) of `candidates` latents from the model's prior, seed by seed
    from settings.seed."""
    count = int(settings.candidates)
    seeds = np.array([(settings.seed + i) % 2**32 for i in range(count)], dtype=np.int64)
    prior = getattr(model, "prior", None)
    z = np.stack([seed_latent(int(s), model.latent_size, prior) for s in seeds])
    distances = score_latents(model, distance, pitch, z, settings.batch_size, progress,
                              done, count + done if total is None else total)
    return distances, seeds


def gradient_function(model, distance: SpectralDistance, pitch: int, z) -> Callable:
    """() -> (distance, d distance / dz) of the note at `pitch` from the latent variable
    `z` [1, latent_size]: eager as returned, `descend` compiles it with tf.function.

    Compiled, TensorFlow's graph optimiser (grappler) logs "remapper failed: ...
    fanout 'gradient_tape/LeakyRelu_N/LeakyReluGrad' exist for missing node" once
    (hidden outside --debug, console.py). Harmless: the remapper pass (op fusion)
    is then skipped for this graph and the other passes still run. Measured on the
    shipped default model (target seed 7, start seed 2, MIDI 60, TF 2.21 CPU): the
    compiled gradient is bit for bit the one compiled with the remapper turned off
    (tf.config.optimizer.set_experimental_options({"remapping": False})), 2.5e-4
    relative from the eager one (no grappler at all; float32 reduction order), and
    its directional derivatives match central differences (h = 1e-3) to 0.0-1.3 %
    along the gradient and three random directions; a step takes 158 ms here
    (156 ms with the remapper off). test_studio_match.py checks the same on the
    tiny model.
    """
    import tensorflow as tf

    label = int(model.labels([pitch])[0])
    one_hot = tf.one_hot([label], model.info.num_pitches, dtype=tf.float32)
    network, codec = model._network, model.codec

    def loss_and_gradient():
        with tf.GradientTape() as tape:
            wave = codec.melspecs_to_waves(codec.denormalize(network(z, one_hot)))
            loss = distance(wave)[0]
        return loss, tape.gradient(loss, z)

    return loss_and_gradient


def descend(model, distance: SpectralDistance, start: np.ndarray, pitch: int, steps: int,
            learning_rate: float, progress: ProgressFn | None = None
            ) -> tuple[np.ndarray, float, list[float]]:
    """Adam on the latent, projected back to its starting norm; returns the best seen."""
    import tensorflow as tf

    z = tf.Variable(np.asarray(start, np.float32)[None, :])
    radius = float(np.linalg.norm(start))
    loss_and_gradient = tf.function(gradient_function(model, distance, pitch, z))

    m = np.zeros(start.shape, np.float64)
    v = np.zeros(start.shape, np.float64)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    best_z, best = np.asarray(start, np.float64), np.inf
    history: list[float] = []
    for step in range(steps + 1):
        loss, grad = loss_and_gradient()
        loss = float(loss.numpy())
        history.append(loss)
        current = z.numpy()[0].astype(np.float64)
        if np.isfinite(loss) and loss < best:
            best, best_z = loss, current
        if step == steps:
            break
        g = grad.numpy()[0].astype(np.float64)
        if not np.all(np.isfinite(g)):
            break  # a NaN gradient ends the descent; the best latent so far stands
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** (step + 1))
        v_hat = v / (1 - beta2 ** (step + 1))
        nxt = current - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        nxt *= radius / max(np.linalg.norm(nxt), 1e-12)
        z.assign(nxt[None, :].astype(np.float32))
        if progress is not None:
            progress(step + 1, steps)
    return best_z, best, history


def match_note(model, target: np.ndarray, pitch: int, settings: MatchSettings = MatchSettings(),
               search_progress: ProgressFn | None = None,
               descent_progress: ProgressFn | None = None,
               named: Sequence[tuple[str, np.ndarray]] | None = None) -> MatchResult:
    """Search (named candidates, then random ones), then descend; see the module docstring.

    `named` defaults to `named_candidates(model)`; pass [] for a random search only.
    """
    if settings.candidates < 1:
        raise MatchError("at least one random candidate is needed")
    if settings.steps < 0 or not settings.learning_rate > 0:
        raise MatchError("steps must be >= 0 and the learning rate > 0")
    model.labels([pitch])
    distance = SpectralDistance(target[:model.config.audio_length], settings.fft_sizes)
    named = named_candidates(model) if named is None else list(named)
    total = len(named) + int(settings.candidates)
    named_d = (score_latents(model, distance, pitch, np.stack([z for _, z in named]),
                             settings.batch_size, search_progress, 0, total)
               if named else np.empty(0))
    distances, seeds = random_search(model, distance, pitch, settings, search_progress,
                                     len(named), total)
    best_index = int(np.argmin(distances))
    prior = getattr(model, "prior", None)
    start = seed_latent(int(seeds[best_index]), model.latent_size, prior)
    start_label, before = f"seed:{int(seeds[best_index])}", float(distances[best_index])
    ranking = sorted(zip((label for label, _ in named), named_d.tolist()), key=lambda r: r[1])
    if named and ranking[0][1] <= before:
        start_label, before = ranking[0]
        start = np.asarray(dict(named)[start_label], np.float64)
    latent, final, history = descend(model, distance, start, pitch, settings.steps,
                                     settings.learning_rate, descent_progress)
    wave = model.generate(latent[None, :], [pitch])[0]
    return MatchResult(latent=latent, wave=wave, pitch=int(pitch),
                       best_seed=int(seeds[best_index]),
                       distance_search=before, distance_final=final,
                       search_distances=distances, history=tuple(history),
                       named=tuple((label, float(d)) for label, d in ranking),
                       start=start_label)
