"""Finding and reading a GANSynth checkpoint in magenta's folder layout.

The `checkpoint` index file inside a stage folder names an absolute path on the
machine that trained the model, so it is never trusted: the newest
`model.ckpt-N.index` in the last stage folder is found by globbing instead.
Sampling uses the generator's exponential-moving-average shadows, which is what
magenta's custom variable getter swaps in at sampling time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from .config import ModelConfig

GENERATOR_SCOPE = "Generator/progressive_gan_generator"
EMA_SUFFIX = "/ExponentialMovingAverage"
_STAGE_RE = re.compile(r"^stage_(\d+)$")
_CKPT_RE = re.compile(r"^model\.ckpt-(\d+)\.index$")


@dataclass(frozen=True)
class CheckpointFiles:
    """Where the weights of the last training stage are."""

    stage_dir: Path
    stage_id: int
    prefix: Path  # path without .index / .data-*
    step: int


def layer_name(block: int, layer: str, param: str) -> str:
    """Checkpoint name of a generator parameter (`param` is 'kernel' or 'bias')."""
    inner = "conv2d/kernel" if param == "kernel" else "bias"
    return f"{GENERATOR_SCOPE}/progressive_gan_block_{block}/{layer}/{inner}"


def find_checkpoint(model_dir: Path) -> CheckpointFiles:
    """The newest checkpoint of the highest-numbered stage folder."""
    if not model_dir.exists():
        raise ModelLoadError(f"model folder '{model_dir}' does not exist")
    if not model_dir.is_dir():
        raise ModelLoadError(f"'{model_dir}' is not a folder; expected a GANSynth model folder")
    stages = sorted(
        (int(m.group(1)), p)
        for p in model_dir.iterdir()
        if p.is_dir() and (m := _STAGE_RE.match(p.name))
    )
    if not stages:
        raise ModelLoadError(f"no stage_* folder in '{model_dir}'; expected magenta's layout: "
                             "experiment.json + stage_NNNNN/model.ckpt-*")
    stage_id, stage_dir = stages[-1]
    ckpts = sorted(
        (int(m.group(1)), p)
        for p in stage_dir.iterdir()
        if (m := _CKPT_RE.match(p.name))
    )
    if not ckpts:
        raise ModelLoadError(f"no model.ckpt-*.index in '{stage_dir}'; the stage folder "
                             "holds no checkpoint")
    step, index = ckpts[-1]
    prefix = index.with_name(index.name[: -len(".index")])
    if not list(stage_dir.glob(prefix.name + ".data-*")):
        raise ModelLoadError(f"'{prefix}.index' has no .data-* file beside it; the "
                             "checkpoint is incomplete")
    return CheckpointFiles(stage_dir=stage_dir, stage_id=stage_id, prefix=prefix, step=step)


def num_blocks_for_stage(stage_id: int) -> int:
    """Generator blocks that exist at a progressive stage (magenta's get_stage_info)."""
    return (stage_id + 1) // 2 + 1


def read_generator_weights(
    files: CheckpointFiles, config: ModelConfig, *, ema: bool = True
) -> dict[str, np.ndarray]:
    """Generator weights by checkpoint name (without the EMA suffix), float32.

    Checks every shape against what `config` implies, so a checkpoint from another
    architecture fails here with a message rather than deep inside TensorFlow.
    """
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(files.prefix))
        available = reader.get_variable_to_shape_map()
    except Exception as exc:  # TF raises a zoo of types for damaged bundles
        raise ModelLoadError(f"cannot read checkpoint '{files.prefix}': "
                             f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                             " (truncated or not a TensorFlow checkpoint?)") from None

    num_blocks = min(num_blocks_for_stage(files.stage_id), config.num_resolutions)
    weights: dict[str, np.ndarray] = {}
    for block in range(1, num_blocks + 1):
        for layer in ("conv0", "conv1", "to_rgb"):
            for param in ("kernel", "bias"):
                name = layer_name(block, layer, param)
                stored = name + EMA_SUFFIX if ema else name
                if stored not in available:
                    what = "EMA shadow " if ema else ""
                    raise ModelLoadError(
                        f"checkpoint '{files.prefix}' has no {what}variable '{stored}'; "
                        "not a GANSynth progressive generator checkpoint")
                try:
                    value = reader.get_tensor(stored)
                except Exception as exc:
                    raise ModelLoadError(f"checkpoint '{files.prefix}': cannot read '{stored}' "
                                         f"({type(exc).__name__}); the data file may be "
                                         "truncated") from None
                weights[name] = np.asarray(value, dtype=np.float32)
    _check_shapes(weights, config, num_blocks, files.prefix)
    return weights


def expected_shapes(config: ModelConfig, num_blocks: int, num_pitches: int
                    ) -> dict[str, tuple[int, ...]]:
    """Shapes of every generator parameter for this architecture."""
    shapes: dict[str, tuple[int, ...]] = {}
    k = config.kernel_size
    for block in range(1, num_blocks + 1):
        c_out = config.num_filters(block)
        if block == 1:
            c_in = config.latent_size + num_pitches
            conv0 = (config.start_height, config.start_width, c_in, c_out)
        else:
            conv0 = (k, k, config.num_filters(block - 1), c_out)
        shapes[layer_name(block, "conv0", "kernel")] = conv0
        shapes[layer_name(block, "conv1", "kernel")] = (k, k, c_out, c_out)
        shapes[layer_name(block, "to_rgb", "kernel")] = (1, 1, c_out, 2)
        for layer, bias in (("conv0", c_out), ("conv1", c_out), ("to_rgb", 2)):
            shapes[layer_name(block, layer, "bias")] = (bias,)
    return shapes


def pitch_count(weights: dict[str, np.ndarray], config: ModelConfig) -> int:
    """Pitch classes, from block 1's input width (latent + one-hot pitch)."""
    return int(weights[layer_name(1, "conv0", "kernel")].shape[2]) - config.latent_size


def _check_shapes(weights: dict[str, np.ndarray], config: ModelConfig, num_blocks: int,
                  prefix: Path) -> None:
    num_pitches = pitch_count(weights, config)
    if num_pitches < 1:
        raise ModelLoadError(f"checkpoint '{prefix}': block 1 takes "
                             f"{num_pitches + config.latent_size} inputs, fewer than "
                             f"latent_vector_size {config.latent_size}+1")
    for name, shape in expected_shapes(config, num_blocks, num_pitches).items():
        if tuple(weights[name].shape) != shape:
            raise ModelLoadError(
                f"checkpoint '{prefix}': '{name}' has shape {tuple(weights[name].shape)}, "
                f"experiment.json implies {shape} (fmap_base/fmap_max/fmap_decay or "
                "latent size do not match the checkpoint)")
