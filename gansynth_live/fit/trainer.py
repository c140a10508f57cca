"""Fitting magenta's generator to a note set by latent optimisation (GLO).

Why not the paper's GAN: a progressive GAN with a discriminator needs days of
GPU time. Here every voice (instrument) gets one trainable latent, and the
generator plus the latents are fitted jointly to reconstruct that voice's notes
at every pitch (Bojanowski et al.'s Generative Latent Optimization). That is a
regression, so it converges on a CPU, resumes exactly and is deterministic for a
seed; the price is that only the fitted voices and the paths between them are
meaningful, not arbitrary random latents. Latents are kept on the sphere of
radius sqrt(latent_size), where N(0, 1) draws live, so random and slerped
latents stay at the scale the generator was trained on.

State lives in a run folder (run.json, state-<step>.npz, metrics.jsonl); the
model folder is exported from the EMA weights in magenta's layout.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from ..errors import GansynthLiveError
from ..model.checkpoint import layer_name
from ..model.config import ModelConfig, parse_config
from ..model.generator import Generator
from ..model.melscale import mel_bin_hz
from ..model.spectral import MelSpectralCodec, SpecLayout
from .losses import onset_l1, reconstruction_losses
from .notes import NoteSet
from .settings import FitSettings

STATE_PREFIX = "state-"
KEEP_STATES = 2


class FitError(GansynthLiveError):
    """A fit cannot start or resume."""


def model_config(settings: FitSettings) -> ModelConfig:
    raw = {"latent_vector_size": settings.latent_size, "num_resolutions": 7,
           "start_height": 2, "start_width": 16, "fmap_base": settings.fmap_base,
           "fmap_max": settings.fmap_max, "fmap_decay": settings.fmap_decay,
           "batch_size_schedule": [8], "pitch_min": settings.pitch_min}
    return parse_config(raw, Path("<fit settings>"))


def make_codec(config: ModelConfig) -> MelSpectralCodec:
    height, width = config.spec_shape
    return MelSpectralCodec(SpecLayout(height, width, config.audio_length, config.sample_rate),
                            config.mag_normalizer, config.p_normalizer)


def compute_targets(notes: NoteSet, config: ModelConfig,
                    progress: Callable[[int, int], None] | None = None,
                    batch: int = 16) -> np.ndarray:
    """Normalised mel + IF images of the notes, float16 [n, T, F, 2] (what the generator emits)."""
    codec = make_codec(config)
    if notes.waves.shape[1] != config.audio_length:
        raise FitError(f"notes have {notes.waves.shape[1]} samples, the model "
                       f"{config.audio_length}")

    @tf.function(input_signature=[tf.TensorSpec([None, config.audio_length], tf.float32)])
    def encode(w):
        return tf.clip_by_value(codec.normalize(codec.waves_to_melspecs(w)), -0.999, 0.999)

    height, width = config.spec_shape
    out = np.empty((len(notes), height, width, 2), np.float16)
    for start in range(0, len(notes), batch):
        stop = min(len(notes), start + batch)
        out[start:stop] = encode(tf.constant(notes.waves[start:stop])).numpy()
        if progress is not None:
            progress(stop, len(notes))
    return out


def if_bin_weights(settings: FitSettings, config: ModelConfig) -> tf.Tensor | None:
    """Per mel bin IF weight max(1, if_low_hz / f), capped at 16; None when off."""
    if settings.if_low_hz <= 0:
        return None
    _, width = config.spec_shape
    hz = mel_bin_hz(width, config.sample_rate)
    weight = np.clip(settings.if_low_hz / np.maximum(hz, 1e-3), 1.0, 16.0)
    return tf.constant(weight.astype(np.float32))


def batch_indices(seed: int, step: int, batch_size: int, n: int) -> np.ndarray:
    """Notes of a step: a fresh permutation per epoch, a pure function of (seed, step)."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    out = np.empty(batch_size, np.int64)
    for epoch in np.unique(positions // n):
        perm = np.random.default_rng([seed, int(epoch)]).permutation(n)
        sel = positions // n == epoch
        out[sel] = perm[positions[sel] % n]
    return out


class FitModel(tf.Module):
    """Generator, per-voice latents, their EMA shadows and Adam state."""

    def __init__(self, settings: FitSettings, config: ModelConfig, num_voices: int,
                 weights: dict[str, np.ndarray] | None = None,
                 latents: np.ndarray | None = None) -> None:
        super().__init__(name="fit_model")
        self.settings = settings
        self.config = config
        num_blocks = config.num_resolutions
        self.generator = Generator(config, settings.num_pitches, num_blocks,
                                   float(num_blocks - 1), weights=weights, seed=settings.seed)
        self.names = sorted(self.generator.params)
        self.pitch_kernel = layer_name(1, "conv0", "kernel")
        if weights is None:  # scaled one-hot, see FitSettings.pitch_gain
            k = self.generator.params[self.pitch_kernel]
            value = k.numpy()
            value[:, :, settings.latent_size:, :] *= settings.pitch_gain
            k.assign(value)
        rng = np.random.default_rng([settings.seed, 1])
        if latents is None:
            latents = rng.standard_normal((num_voices, settings.latent_size))
        self.radius = math.sqrt(settings.latent_size)
        self.latents = tf.Variable(self._project(np.asarray(latents, np.float32)), name="latents")
        self.variables_list = [self.generator.params[n] for n in self.names] + [self.latents]
        self.slot_names = self.names + ["latents"]
        self.ema = [tf.Variable(v, name=f"ema{i}") for i, v in enumerate(self.variables_list)]
        self.m = [tf.Variable(tf.zeros_like(v), name=f"m{i}")
                  for i, v in enumerate(self.variables_list)]
        self.v = [tf.Variable(tf.zeros_like(v), name=f"v{i}")
                  for i, v in enumerate(self.variables_list)]
        self.step = tf.Variable(0, dtype=tf.int64, name="step")
        self.lr = []
        for name, var in zip(self.slot_names, self.variables_list):
            if name == "latents":
                self.lr.append(tf.constant(settings.latent_learning_rate, tf.float32))
            elif name == self.pitch_kernel:
                scale = np.ones(var.shape, np.float32)
                scale[:, :, settings.latent_size:, :] = settings.pitch_gain
                self.lr.append(tf.constant(scale * settings.learning_rate))
            else:
                self.lr.append(tf.constant(settings.learning_rate, tf.float32))
        self.if_bin_weight = if_bin_weights(settings, config)
        self.codec = make_codec(config)
        self._step_fn = tf.function(self._train_step, jit_compile=settings.jit_compile)

    def _project(self, latents: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(latents, axis=1, keepdims=True)
        return (latents / np.maximum(norms, 1e-12) * self.radius).astype(np.float32)

    # --- training ------------------------------------------------------------------------
    def _train_step(self, voice: tf.Tensor, labels: tf.Tensor, targets: tf.Tensor
                    ) -> dict[str, tf.Tensor]:
        s = self.settings
        targets = tf.cast(targets, tf.float32)
        with tf.GradientTape() as tape:
            z = tf.gather(self.latents, voice)
            pred = self.generator(z, tf.one_hot(labels, s.num_pitches, dtype=tf.float32))
            losses = reconstruction_losses(pred, targets, self.config.mag_normalizer,
                                           s.floor_db, s.if_mask_db, s.weight_linear,
                                           s.weight_if, s.peak_weight,
                                           if_bin_weight=self.if_bin_weight,
                                           weight_envelope=s.weight_envelope)
            if s.weight_onset > 0.0:  # on decoded audio: both images through the decoder
                decode = self.codec.melspecs_to_waves
                onset = onset_l1(decode(self.codec.denormalize(pred)),
                                 decode(self.codec.denormalize(targets)),
                                 self.config.sample_rate)
                losses = {**losses, "onset": onset,
                          "total": losses["total"] + s.weight_onset * onset}
        grads = tape.gradient(losses["total"], self.variables_list)
        step = self.step + 1
        t = tf.cast(step, tf.float32)
        b1, b2 = s.adam_beta1, s.adam_beta2
        corr1 = 1.0 - tf.pow(b1, t)
        corr2 = 1.0 - tf.pow(b2, t)
        for var, grad, m, v, lr in zip(self.variables_list, grads, self.m, self.v, self.lr):
            if grad is None:  # to_rgb of the inner blocks: weighted 0 once fully grown
                continue
            grad = tf.convert_to_tensor(grad)
            m.assign(b1 * m + (1.0 - b1) * grad)
            v.assign(b2 * v + (1.0 - b2) * tf.square(grad))
            var.assign_sub(lr * (m / corr1) / (tf.sqrt(v / corr2) + 1.0e-8))
        self.latents.assign(self.radius * tf.math.l2_normalize(self.latents, axis=1))
        decay = tf.minimum(s.ema_decay, (1.0 + t) / (10.0 + t))
        for ema, var in zip(self.ema, self.variables_list):
            ema.assign(decay * ema + (1.0 - decay) * var)
        self.step.assign(step)
        return losses

    def train_step(self, voice: np.ndarray, labels: np.ndarray, targets: np.ndarray
                   ) -> dict[str, float]:
        out = self._step_fn(tf.constant(voice, tf.int32), tf.constant(labels, tf.int32),
                            tf.constant(targets))
        return {k: float(v) for k, v in out.items()}

    # --- state -----------------------------------------------------------------------------
    def ema_weights(self) -> dict[str, np.ndarray]:
        return {n: e.numpy() for n, e in zip(self.slot_names, self.ema) if n != "latents"}

    def ema_latents(self) -> np.ndarray:
        return self._project(self.ema[-1].numpy())

    def state_arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {"step": np.array(int(self.step.numpy()), np.int64)}
        for name, var, ema, m, v in zip(self.slot_names, self.variables_list, self.ema,
                                        self.m, self.v):
            arrays[f"raw:{name}"] = var.numpy()
            arrays[f"ema:{name}"] = ema.numpy()
            arrays[f"adam_m:{name}"] = m.numpy()
            arrays[f"adam_v:{name}"] = v.numpy()
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name, var, ema, m, v in zip(self.slot_names, self.variables_list, self.ema,
                                        self.m, self.v):
            for kind, target in (("raw", var), ("ema", ema), ("adam_m", m), ("adam_v", v)):
                key = f"{kind}:{name}"
                if key not in arrays or tuple(arrays[key].shape) != tuple(target.shape):
                    raise FitError(f"run state lacks '{key}' or its shape differs; the run "
                                   "folder belongs to another configuration")
                target.assign(arrays[key])
        self.step.assign(int(arrays["step"]))


# --- run folder ------------------------------------------------------------------------------
@dataclass
class RunInfo:
    """run.json: what a resumed fit needs to rebuild its data and model."""

    settings: FitSettings
    data: dict[str, Any]
    voices: list[str]
    programs: list[int | None]

    def to_json(self) -> dict[str, Any]:
        return {"format": 1, "settings": self.settings.to_json(), "data": self.data,
                "voices": self.voices, "programs": self.programs}

    @classmethod
    def read(cls, run_dir: Path) -> "RunInfo":
        path = run_dir / "run.json"
        try:
            raw = json.loads(path.read_text())
            return cls(FitSettings.from_json(raw["settings"]), raw["data"], list(raw["voices"]),
                       list(raw["programs"]))
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise FitError(f"cannot read '{path}' ({exc}); not a fit run folder?") from None

    def write(self, run_dir: Path) -> None:
        _atomic_write(run_dir / "run.json", json.dumps(self.to_json(), indent=1).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def latest_state(run_dir: Path) -> Path | None:
    states = sorted(run_dir.glob(f"{STATE_PREFIX}*.npz"),
                    key=lambda p: int(p.stem[len(STATE_PREFIX):]))
    return states[-1] if states else None


def save_state(model: FitModel, run_dir: Path) -> Path:
    step = int(model.step.numpy())
    path = run_dir / f"{STATE_PREFIX}{step:08d}.npz"
    tmp = run_dir / f".{path.name}.tmp"
    with open(tmp, "wb") as fh:
        np.savez(fh, **model.state_arrays())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    states = sorted(run_dir.glob(f"{STATE_PREFIX}*.npz"),
                    key=lambda p: int(p.stem[len(STATE_PREFIX):]))
    for old in states[:-KEEP_STATES]:
        old.unlink()
    return path


def load_state(model: FitModel, path: Path) -> None:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise FitError(f"cannot read run state '{path}': {exc}") from None
    model.load_state_arrays(arrays)


# --- the loop --------------------------------------------------------------------------------
@dataclass
class LoopHooks:
    """Callbacks of the training loop (all optional, called on the training thread)."""

    on_step: Callable[[int, dict[str, float]], None] | None = None
    on_export: Callable[[int], None] | None = None


def train(model: FitModel, notes: NoteSet, targets: np.ndarray, run_dir: Path, total_steps: int,
          checkpoint_every: int, export_every: int, log_every: int, hooks: LoopHooks) -> None:
    """Run until model.step == total_steps; saves state and exports on the way and at exit."""
    s = model.settings
    labels_all = (notes.pitches - s.pitch_min).astype(np.int32)
    metrics_path = run_dir / "metrics.jsonl"
    acc: dict[str, float] = {}
    count = 0
    tic = time.perf_counter()
    step = int(model.step.numpy())
    try:
        while step < total_steps:
            idx = batch_indices(s.seed, step, s.batch_size, len(notes))
            losses = model.train_step(notes.voice[idx], labels_all[idx], targets[idx])
            step += 1
            if not all(math.isfinite(v) for v in losses.values()):
                raise FitError(f"the loss became non-finite at step {step} ({losses}); lower "
                               "--learning-rate and resume from the last state")
            for k, v in losses.items():
                acc[k] = acc.get(k, 0.0) + v
            count += 1
            if hooks.on_step is not None:
                hooks.on_step(step, losses)
            if step % log_every == 0 or step == total_steps:
                elapsed = time.perf_counter() - tic
                row = {"step": step, "s_per_step": elapsed / count, "time": time.time(),
                       **{k: v / count for k, v in acc.items()}}
                with open(metrics_path, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                acc, count, tic = {}, 0, time.perf_counter()
            if step % checkpoint_every == 0:
                save_state(model, run_dir)
            if export_every and step % export_every == 0 and hooks.on_export is not None:
                hooks.on_export(step)
    except KeyboardInterrupt:
        save_state(model, run_dir)  # the step in flight either finished or never began
        raise
    save_state(model, run_dir)
