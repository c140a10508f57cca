"""A loaded GANSynth model: latents and pitches in, 16 kHz notes out.

This is magenta's `Model.generate_samples_from_z` without its training graph,
session, dataset or flag dict: the checkpoint's EMA generator weights, the
pitch one-hot and the mel/IF decoder, each compiled once with tf.function.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from ..errors import GansynthLiveError
from .checkpoint import find_checkpoint, num_blocks_for_stage, pitch_count, read_generator_weights
from .config import ModelConfig, read_config
from .fastgen import FastSampler
from .generator import Generator, compute_progress
from .prior import NORMAL, LatentPrior, read_prior
from .spectral import MelSpectralCodec, SpecLayout

ProgressFn = Callable[[int, int], None]

# With a GPU a whole bank (61 notes and the few above) goes in one or two batches.
GPU_BATCH_SIZE = 32


def gpus() -> list:
    """The GPUs TensorFlow sees, each set to allocate memory as it goes (memory growth:
    TensorFlow would otherwise take nearly all of it at the first op) and to full float32
    (TensorFloat-32 convolutions round to 10 mantissa bits: far outside the parity bounds).
    Both must be set before the first op; afterwards they stay as they were."""
    found = tf.config.list_physical_devices("GPU")
    for gpu in found:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised by an earlier op
            pass
    if found:
        tf.config.experimental.enable_tensor_float_32_execution(False)
    return found


_GPUS = gpus()


class PitchError(GansynthLiveError, ValueError):
    """A pitch the model has no one-hot class for."""


class LatentError(GansynthLiveError, ValueError):
    """Latent vectors of the wrong shape or with non-finite values."""


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    stage_id: int
    step: int
    num_blocks: int
    progress: float
    num_pitches: int
    fingerprint: str


class GanSynth:
    """A GANSynth generator with its decoder; thread-compatible, not thread-safe."""

    def __init__(self, config: ModelConfig, generator: Generator, info: ModelInfo,
                 jit_compile: bool = False, fast: bool = True) -> None:
        self.config = config
        self.generator = generator
        self.info = info
        # Where random instruments come from: N(0, 1) unless the folder has a prior.json
        # (load_model reads it; see prior.py).
        self.prior: LatentPrior = NORMAL
        can_fast = fast and config.kernel_size == 3 and config.scale_base == 2
        self._network = FastSampler(generator) if can_fast else generator
        height, width = config.spec_shape
        self.codec = MelSpectralCodec(
            SpecLayout(height, width, config.audio_length, config.sample_rate),
            config.mag_normalizer, config.p_normalizer)
        z_spec = tf.TensorSpec([None, config.latent_size], tf.float32)
        label_spec = tf.TensorSpec([None], tf.int32)
        spec_spec = tf.TensorSpec([None, height, width, 2], tf.float32)
        self._specgrams = tf.function(self._specgrams_impl, input_signature=[z_spec, label_spec],
                                      jit_compile=jit_compile)
        self._waves = tf.function(self.codec.melspecs_to_waves, input_signature=[spec_spec])

    # --- public ---------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def latent_size(self) -> int:
        return self.config.latent_size

    @property
    def pitch_range(self) -> range:
        """MIDI pitches the model was conditioned on (24..84 for the released models)."""
        return range(self.config.pitch_min, self.config.pitch_min + self.info.num_pitches)

    @property
    def fingerprint(self) -> str:
        """Hash of config and sampling weights: identifies the model in bank caches."""
        return self.info.fingerprint

    @property
    def default_batch_size(self) -> int:
        """magenta's sampling batch; on a GPU at least GPU_BATCH_SIZE (a bank in two)."""
        batch = self.config.batch_size_for_stage(self.info.stage_id)
        return max(batch, GPU_BATCH_SIZE) if _GPUS else batch

    def random_latents(self, n: int, seed: int | None = None) -> np.ndarray:
        """n latents [n, latent_size] in float64 from the model's prior; same seed, same rows.

        N(0, 1) as magenta's generate_z draws them for Google's models; a fitted model's
        prior.json (model/prior.py) draws blends of its fitted instruments instead.
        """
        return self.prior.draw(n, self.latent_size, seed)

    def labels(self, pitches: Sequence[int] | np.ndarray) -> np.ndarray:
        pitches = np.asarray(pitches)
        if pitches.ndim != 1:
            raise PitchError(f"pitches must be a 1-D sequence, got shape {pitches.shape}")
        if pitches.size and not np.issubdtype(pitches.dtype, np.integer):
            if not np.all(np.equal(np.mod(pitches, 1), 0)):
                raise PitchError("pitches must be whole MIDI note numbers")
        labels = pitches.astype(np.int64) - self.config.pitch_min
        bad = (labels < 0) | (labels >= self.info.num_pitches)
        if np.any(bad):
            lo, hi = self.pitch_range[0], self.pitch_range[-1]
            raise PitchError(f"pitch {int(pitches[bad][0])} is outside the model's range "
                             f"MIDI {lo}..{hi}")
        return labels.astype(np.int32)

    def generate_specgrams(self, z: np.ndarray, pitches: Sequence[int],
                           batch_size: int | None = None) -> np.ndarray:
        """Generator output after the denormalizer: [n, T, F, 2] log-mel power + mel IF."""
        return self._run(z, pitches, batch_size, decode=False)

    def generate(self, z: np.ndarray, pitches: Sequence[int], batch_size: int | None = None,
                 progress: ProgressFn | None = None) -> np.ndarray:
        """Notes for rows of `z` at `pitches`: float32 [n, audio_length] at sample_rate.

        Rows are independent: results do not depend on batching. `progress(done,
        total)` is called after each batch.
        """
        return self._run(z, pitches, batch_size, decode=True, progress=progress)

    # --- internals ----------------------------------------------------------------------
    def _specgrams_impl(self, z: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        one_hot = tf.one_hot(labels, self.info.num_pitches, dtype=tf.float32)
        return self.codec.denormalize(self._network(z, one_hot))

    def _run(self, z: np.ndarray, pitches: Sequence[int], batch_size: int | None,
             decode: bool, progress: ProgressFn | None = None) -> np.ndarray:
        z = np.asarray(z)
        if z.ndim == 1:
            z = z[np.newaxis, :]
        if z.ndim != 2 or z.shape[1] != self.latent_size:
            raise LatentError(f"latents must have shape (n, {self.latent_size}), "
                                    f"got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise LatentError("latents contain NaN or infinity")
        labels = self.labels(pitches)
        if len(labels) != len(z):
            raise LatentError(f"{len(z)} latents but {len(labels)} pitches")
        n = len(z)
        batch = max(1, int(batch_size or self.default_batch_size))
        z32 = z.astype(np.float32)  # magenta feeds float64 into a float32 placeholder
        height, width = self.config.spec_shape
        out = (np.empty((n, self.config.audio_length), np.float32) if decode
               else np.empty((n, height, width, 2), np.float32))
        for start in range(0, n, batch):
            stop = min(n, start + batch)
            specs = self._specgrams(tf.constant(z32[start:stop]), tf.constant(labels[start:stop]))
            out[start:stop] = (self._waves(specs) if decode else specs).numpy()
            if progress is not None:
                progress(stop, n)
        return out


def _fingerprint(config: ModelConfig, weights: dict[str, np.ndarray], pitch_min: int) -> str:
    digest = hashlib.sha256()
    digest.update(repr(sorted(config.to_json_dict().items())).encode())
    digest.update(str(pitch_min).encode())
    for name in sorted(weights):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(weights[name]).tobytes())
    return digest.hexdigest()[:16]


def load_model(path: str | Path, *, jit_compile: bool = False, fast: bool = True) -> GanSynth:
    """Load a GANSynth model folder in magenta's layout (experiment.json + stage_*/)."""
    model_dir = Path(path).expanduser()
    files = find_checkpoint(model_dir)
    config = read_config(model_dir)
    weights = read_generator_weights(files, config)
    num_blocks = min(num_blocks_for_stage(files.stage_id), config.num_resolutions)
    progress = compute_progress(files.step, config, num_blocks)
    num_pitches = pitch_count(weights, config)
    info = ModelInfo(path=model_dir, stage_id=files.stage_id, step=files.step,
                     num_blocks=num_blocks, progress=progress, num_pitches=num_pitches,
                     fingerprint=_fingerprint(config, weights, config.pitch_min))
    generator = Generator(config, num_pitches, num_blocks, progress, weights=weights)
    model = GanSynth(config, generator, info, jit_compile=jit_compile, fast=fast)
    model.prior = read_prior(model_dir, config.latent_size)
    return model
