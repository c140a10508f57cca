"""What `experiment.json` says about sampling, as a typed, frozen config.

magenta reads the file into a dict whose missing keys read as None and fills ~50
defaults into it; here only the keys that shape the generator and the decoder are
read, with magenta's defaults, and anything this code cannot reproduce is refused
with a message instead of silently sampling something else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError

# magenta's set_flags defaults for keys that experiment.json usually omits.
_DEFAULTS: dict[str, Any] = {
    "data_type": "mel",
    "audio_length": 64000,
    "sample_rate": 16000,
    "data_normalizer": "specgrams_prespecified_normalizer",
    "mag_normalizer_a": 0.0661371661726,
    "mag_normalizer_b": 0.113718730221,
    "p_normalizer_a": 0.8,
    "p_normalizer_b": 0.0,
    "batch_size_schedule": [16, 8],
    "stable_stage_num_images": 32,
    "transition_stage_num_images": 32,
    "train_progressive": True,
    "train_time_limit": None,
    "g_fn": "specgram",
    "latent_vector_size": 256,
    "kernel_size": 3,
    "start_height": 4,
    "start_width": 8,
    "scale_mode": "ALL",
    "scale_base": 2,
    "num_resolutions": 7,
    "simple_arch": False,
    "to_rgb_activation": "tanh",
    "fmap_base": 512,
    "fmap_decay": 1.0,
    "fmap_max": 128,
    # gansynth-live's own key: the MIDI pitch of one-hot index 0. magenta's NSynth
    # pitch table for the released models starts at MIDI 24.
    "pitch_min": 24,
}


@dataclass(frozen=True)
class ModelConfig:
    """The sampling-relevant part of a GANSynth experiment."""

    latent_size: int
    num_resolutions: int
    start_height: int
    start_width: int
    scale_base: int
    kernel_size: int
    fmap_base: float
    fmap_decay: float
    fmap_max: int
    audio_length: int
    sample_rate: int
    mag_normalizer: tuple[float, float]  # (a, b): normalized = a * x + b
    p_normalizer: tuple[float, float]
    batch_size_schedule: tuple[int, ...]
    stable_stage_num_images: int
    transition_stage_num_images: int
    train_progressive: bool
    pitch_min: int
    eval_batch_size: int | None = None

    def num_filters(self, block: int) -> int:
        """Channels of generator block `block` (1-based), as magenta computes them."""
        return int(min(self.fmap_base / math.pow(2.0, block * self.fmap_decay), self.fmap_max))

    def block_shape(self, block: int) -> tuple[int, int]:
        """(time frames, frequency bins) of block `block`'s feature map."""
        scale = self.scale_base ** (block - 1)
        return self.start_height * scale, self.start_width * scale

    @property
    def spec_shape(self) -> tuple[int, int]:
        return self.block_shape(self.num_resolutions)

    def batch_size_for_stage(self, stage_id: int) -> int:
        """magenta's sampling batch size: eval_batch_size, else the schedule's entry."""
        if self.eval_batch_size:
            return self.eval_batch_size
        schedule = list(self.batch_size_schedule)
        if len(schedule) < self.num_resolutions:
            schedule = [schedule[0]] * (self.num_resolutions - len(schedule)) + schedule
        return int(schedule[(stage_id + 1) // 2])

    def to_json_dict(self) -> dict[str, Any]:
        """The experiment.json keys that reproduce this config (for models we write)."""
        return {
            "data_type": "mel",
            "g_fn": "specgram",
            "latent_vector_size": self.latent_size,
            "num_resolutions": self.num_resolutions,
            "start_height": self.start_height,
            "start_width": self.start_width,
            "scale_mode": "ALL",
            "scale_base": self.scale_base,
            "kernel_size": self.kernel_size,
            "fmap_base": self.fmap_base,
            "fmap_decay": self.fmap_decay,
            "fmap_max": self.fmap_max,
            "audio_length": self.audio_length,
            "sample_rate": self.sample_rate,
            "mag_normalizer_a": self.mag_normalizer[0],
            "mag_normalizer_b": self.mag_normalizer[1],
            "p_normalizer_a": self.p_normalizer[0],
            "p_normalizer_b": self.p_normalizer[1],
            "batch_size_schedule": list(self.batch_size_schedule),
            "stable_stage_num_images": self.stable_stage_num_images,
            "transition_stage_num_images": self.transition_stage_num_images,
            "train_progressive": self.train_progressive,
            "pitch_min": self.pitch_min,
        }


def _refuse(path: Path, what: str) -> ModelLoadError:
    return ModelLoadError(f"{path}: {what}; gansynth-live samples magenta's mel + IF GANSynth "
                          "(configs mel_prog_hires and relatives) only")


def parse_config(raw: dict[str, Any], path: Path) -> ModelConfig:
    """Validate an experiment dict; `path` only names the file in errors."""
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{path}: expected a JSON object, got {type(raw).__name__}")
    if "jobs" in raw:
        raise _refuse(path, "hyper-parameter sweep files ('jobs') are not supported")
    flags = dict(_DEFAULTS)
    flags.update({k: v for k, v in raw.items() if v is not None})

    if flags["data_type"] != "mel":
        raise _refuse(path, f"data_type {flags['data_type']!r} is not 'mel'")
    if flags["g_fn"] != "specgram":
        raise _refuse(path, f"g_fn {flags['g_fn']!r} is not 'specgram'")
    if flags["scale_mode"] != "ALL":
        raise _refuse(path, f"scale_mode {flags['scale_mode']!r} is not 'ALL'")
    if flags["simple_arch"]:
        raise _refuse(path, "simple_arch is not supported")
    if flags["to_rgb_activation"] != "tanh":
        raise _refuse(path, f"to_rgb_activation {flags['to_rgb_activation']!r} is not 'tanh'")
    if flags["data_normalizer"] != "specgrams_prespecified_normalizer":
        raise _refuse(path, f"data_normalizer {flags['data_normalizer']!r} is not supported")
    if flags["train_time_limit"] is not None:
        raise _refuse(path, "train_time_limit (time-based progress) is not supported")

    try:
        config = ModelConfig(
            latent_size=int(flags["latent_vector_size"]),
            num_resolutions=int(flags["num_resolutions"]),
            start_height=int(flags["start_height"]),
            start_width=int(flags["start_width"]),
            scale_base=int(flags["scale_base"]),
            kernel_size=int(flags["kernel_size"]),
            fmap_base=float(flags["fmap_base"]),
            fmap_decay=float(flags["fmap_decay"]),
            fmap_max=int(flags["fmap_max"]),
            audio_length=int(flags["audio_length"]),
            sample_rate=int(flags["sample_rate"]),
            mag_normalizer=(float(flags["mag_normalizer_a"]), float(flags["mag_normalizer_b"])),
            p_normalizer=(float(flags["p_normalizer_a"]), float(flags["p_normalizer_b"])),
            batch_size_schedule=tuple(int(b) for b in flags["batch_size_schedule"]),
            stable_stage_num_images=int(flags["stable_stage_num_images"]),
            transition_stage_num_images=int(flags["transition_stage_num_images"]),
            train_progressive=bool(flags["train_progressive"]),
            pitch_min=int(flags["pitch_min"]),
            eval_batch_size=int(flags["eval_batch_size"]) if flags.get("eval_batch_size") else None,
        )
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path}: a value has the wrong type ({exc})") from None

    if config.latent_size < 1 or config.num_resolutions < 1 or not config.batch_size_schedule:
        raise _refuse(path, "latent_vector_size, num_resolutions and batch_size_schedule "
                            "must be positive")
    if config.scale_base != 2:
        raise _refuse(path, f"scale_base {config.scale_base} is not 2")
    if config.kernel_size % 2 != 1:
        raise _refuse(path, f"kernel_size {config.kernel_size} is not odd")
    if config.num_filters(config.num_resolutions) < 1:
        raise _refuse(path, "fmap_base/fmap_max leave the last block with no channels")
    bins = config.spec_shape[1]
    if bins & (bins - 1):
        raise _refuse(path, f"{bins} frequency bins is not a power of two")
    hop = bins // 2
    if hop * (config.spec_shape[0] - 1) + 2 * bins < config.audio_length:
        raise _refuse(path, "the spectrogram is too short for audio_length")
    return config


def read_config(model_dir: Path) -> ModelConfig:
    """Read `model_dir/experiment.json`, with errors that name the file."""
    path = model_dir / "experiment.json"
    if not path.is_file():
        raise ModelLoadError(f"no experiment.json in '{model_dir}'; expected magenta's "
                             "layout: experiment.json + stage_NNNNN/model.ckpt-*")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: not readable JSON ({exc})") from None
    return parse_config(raw, path)
