"""GANSynth's progressive-GAN generator as a TensorFlow 2 module.

The forward pass keeps magenta's op order where rounding would otherwise drift
(equalized-learning-rate scale applied to the conv output, rsqrt pixel norm
after the leaky ReLU, nearest-neighbour upscaling by pixel repetition): the
output is amplified by 1/0.066 in the denormalizer, so small reorderings show.
Parameters are tf.Variables named like magenta's checkpoint so the same module
samples a released model and is what `fit` trains.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from .checkpoint import expected_shapes, layer_name
from .config import ModelConfig


def pixel_norm(x: tf.Tensor) -> tf.Tensor:
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=3, keepdims=True) + 1.0e-8)


def upscale(x: tf.Tensor, factor: int) -> tf.Tensor:
    """Nearest-neighbour upscaling in H and W (each pixel repeated factor x factor)."""
    if factor == 1:
        return x
    shape = tf.shape(x)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    x = tf.reshape(x, [b, h, 1, w, 1, c])
    x = tf.tile(x, [1, 1, factor, 1, factor, 1])
    return tf.reshape(x, [b, h * factor, w * factor, c])


def he_scale(kernel_shape: tuple[int, ...], slope: float) -> float:
    fan_in = float(np.prod(kernel_shape[:-1]))
    return float(np.sqrt(2.0 / ((1.0 + slope**2) * fan_in)))


def compute_progress(step: int, config: ModelConfig, num_blocks: int) -> float:
    """magenta's training progress (block index being faded in) from the image count."""
    if not config.train_progressive:
        return float(num_blocks - 1)
    stable, transition = config.stable_stage_num_images, config.transition_stage_num_images
    capped = min(step, num_blocks * stable + (num_blocks - 1) * transition - 1)
    per_stage = stable + transition
    fraction = max(0.0, float(capped % per_stage - stable) / float(transition))
    return float(capped // per_stage) + fraction


def block_alpha(block: int, progress: float) -> float:
    """Weight of block `block`'s to_rgb output in the final image."""
    return max(0.0, min(progress - (block - 2), block - progress))


class Generator(tf.Module):
    """latent [B,Z] + pitch one-hot [B,P] -> normalized mel/IF image [B,T,F,2]."""

    def __init__(self, config: ModelConfig, num_pitches: int, num_blocks: int,
                 progress: float, weights: dict[str, np.ndarray] | None = None,
                 seed: int | None = None, dtype: tf.DType = tf.float32) -> None:
        super().__init__(name="gansynth_generator")
        self.dtype = dtype
        self.config = config
        self.num_pitches = num_pitches
        self.num_blocks = num_blocks
        self.alphas = [block_alpha(b, progress) for b in range(1, num_blocks + 1)]
        shapes = expected_shapes(config, num_blocks, num_pitches)
        rng = np.random.default_rng(seed)
        self.params: dict[str, tf.Variable] = {}
        for name, shape in shapes.items():
            if weights is not None:
                value = weights[name]
            elif name.endswith("bias"):
                value = np.zeros(shape, np.float32)
            else:  # equalized learning rate: unit-variance kernels, scaled at run time
                value = rng.standard_normal(shape).astype(np.float32)
            self.params[name] = tf.Variable(np.asarray(value, dtype.as_numpy_dtype), dtype=dtype,
                                            name=name.replace("/", "."))

    def assign(self, weights: dict[str, np.ndarray]) -> None:
        for name, var in self.params.items():
            var.assign(weights[name])

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {name: var.numpy() for name, var in self.params.items()}

    def _conv(self, x: tf.Tensor, block: int, layer: str, padding: str,
              slope: float) -> tf.Tensor:
        kernel = self.params[layer_name(block, layer, "kernel")]
        bias = self.params[layer_name(block, layer, "bias")]
        scale = he_scale(tuple(kernel.shape), slope)
        y = tf.nn.conv2d(x, kernel, strides=1, padding=padding)
        return tf.constant(scale, self.dtype) * y + bias

    def _conv_act(self, x: tf.Tensor, block: int, layer: str, padding: str = "SAME"
                  ) -> tf.Tensor:
        return pixel_norm(tf.nn.leaky_relu(self._conv(x, block, layer, padding, 0.0), 0.2))

    def __call__(self, z: tf.Tensor, one_hot: tf.Tensor) -> tf.Tensor:
        cfg = self.config
        x = tf.concat([z, one_hot], axis=1)[:, tf.newaxis, tf.newaxis, :]
        x = pixel_norm(x)
        x = tf.pad(x, [[0, 0], [cfg.start_height - 1] * 2, [cfg.start_width - 1] * 2, [0, 0]])
        x = self._conv_act(x, 1, "conv0", "VALID")
        x = self._conv_act(x, 1, "conv1")
        features = [x]
        for block in range(2, self.num_blocks + 1):
            x = upscale(x, cfg.scale_base)
            x = self._conv_act(x, block, "conv0")
            x = self._conv_act(x, block, "conv1")
            features.append(x)
        output = None
        for block, (feat, alpha) in enumerate(zip(features, self.alphas), start=1):
            if alpha == 0.0:
                continue  # magenta multiplies by 0; skipping is exact and saves the work
            rgb = tf.tanh(self._conv(feat, block, "to_rgb", "SAME", 1.0))
            rgb = upscale(rgb, cfg.scale_base ** (cfg.num_resolutions - block))
            rgb = rgb * alpha if alpha != 1.0 else rgb
            output = rgb if output is None else output + rgb
        return output


def parameter_count(config: ModelConfig, num_pitches: int) -> int:
    return sum(math.prod(s) for s in
               expected_shapes(config, config.num_resolutions, num_pitches).values())
