"""What `experiment.json` says about sampling, as a typed, frozen config.

magenta reads the file into a dict whose missing keys read as None and fills ~50
defaults into it; here only the keys that shape the generator and the decoder are
read, with magenta's defaults, and anything this code cannot reproduce is refused
with a message instead of silently sampling something else.

Every number is checked at the edge: its type (an int, or a float holding a
whole number, for counts; a finite float otherwise) and a range wide enough for
any GANSynth but narrow enough that the shapes derived from it stay small: an
`experiment.json` holding `1e999`, `NaN` or `num_resolutions: 5000` is one
ModelLoadError line, not an OverflowError from `int(inf)` or a 2**4999-bin
spectrogram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..documents import DocumentError, parse_json, shown
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

MAX_CONFIG_BYTES = 1 << 20
MAX_SPEC_CELLS = 1 << 21  # time frames x frequency bins; magenta's 128 x 1024 is 2**17

# Integer keys: (ModelConfig field, smallest, largest).
_INTS: dict[str, tuple[str, int, int]] = {
    "latent_vector_size": ("latent_size", 1, 4096),
    "num_resolutions": ("num_resolutions", 1, 12),
    "start_height": ("start_height", 1, 1024),
    "start_width": ("start_width", 1, 1024),
    "scale_base": ("scale_base", 1, 16),
    "kernel_size": ("kernel_size", 1, 15),
    "fmap_max": ("fmap_max", 1, 8192),
    "audio_length": ("audio_length", 1, 1 << 24),
    "sample_rate": ("sample_rate", 1000, 384000),
    "stable_stage_num_images": ("stable_stage_num_images", 0, 10**12),
    "transition_stage_num_images": ("transition_stage_num_images", 0, 10**12),
    "pitch_min": ("pitch_min", 0, 127),
}
# Float keys: (smallest, largest); normaliser scales (the `a`s) are divided by, so not 0.
_FLOATS: dict[str, tuple[float, float]] = {
    "fmap_base": (1.0, float(1 << 20)),
    "fmap_decay": (0.0, 16.0),
    "mag_normalizer_a": (-1e6, 1e6),
    "mag_normalizer_b": (-1e6, 1e6),
    "p_normalizer_a": (-1e6, 1e6),
    "p_normalizer_b": (-1e6, 1e6),
}
MAX_BATCH = 4096


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
        raise _refuse(path, f"data_type {shown(flags['data_type'])} is not 'mel'")
    if flags["g_fn"] != "specgram":
        raise _refuse(path, f"g_fn {shown(flags['g_fn'])} is not 'specgram'")
    if flags["scale_mode"] != "ALL":
        raise _refuse(path, f"scale_mode {shown(flags['scale_mode'])} is not 'ALL'")
    if flags["simple_arch"]:
        raise _refuse(path, "simple_arch is not supported")
    if flags["to_rgb_activation"] != "tanh":
        raise _refuse(path, f"to_rgb_activation {shown(flags['to_rgb_activation'])} is not "
                            "'tanh'")
    if flags["data_normalizer"] != "specgrams_prespecified_normalizer":
        raise _refuse(path, f"data_normalizer {shown(flags['data_normalizer'])} is not "
                            "supported")
    if flags["train_time_limit"] is not None:
        raise _refuse(path, "train_time_limit (time-based progress) is not supported")

    values: dict[str, Any] = {field: _integer(path, key, flags[key], lo, hi)
                              for key, (field, lo, hi) in _INTS.items()}
    numbers = {key: _real(path, key, flags[key], lo, hi) for key, (lo, hi) in _FLOATS.items()}
    for key in ("mag_normalizer_a", "p_normalizer_a"):
        if numbers[key] == 0.0:
            raise ModelLoadError(f"{path}: {key} is 0 (magenta divides by it)")
    schedule = flags["batch_size_schedule"]
    if not isinstance(schedule, list) or not 1 <= len(schedule) <= 64:
        raise ModelLoadError(f"{path}: batch_size_schedule must be a list of 1 to 64 batch "
                             f"sizes, got {shown(schedule)}")
    if not isinstance(flags["train_progressive"], bool):
        raise ModelLoadError(f"{path}: train_progressive has the wrong type: expected true or "
                             f"false, got {shown(flags['train_progressive'])}")
    eval_batch = flags.get("eval_batch_size")
    config = ModelConfig(
        **values,
        fmap_base=numbers["fmap_base"], fmap_decay=numbers["fmap_decay"],
        mag_normalizer=(numbers["mag_normalizer_a"], numbers["mag_normalizer_b"]),
        p_normalizer=(numbers["p_normalizer_a"], numbers["p_normalizer_b"]),
        batch_size_schedule=tuple(_integer(path, "batch_size_schedule", b, 1, MAX_BATCH)
                                  for b in schedule),
        train_progressive=flags["train_progressive"],
        eval_batch_size=_integer(path, "eval_batch_size", eval_batch, 1, MAX_BATCH)
        if eval_batch else None,
    )
    if config.train_progressive and not (config.stable_stage_num_images
                                         and config.transition_stage_num_images):
        raise ModelLoadError(f"{path}: a progressive model needs stable_stage_num_images and "
                             "transition_stage_num_images of at least 1 (progress divides "
                             "by them)")
    if config.scale_base != 2:
        raise _refuse(path, f"scale_base {config.scale_base} is not 2")
    if config.kernel_size % 2 != 1:
        raise _refuse(path, f"kernel_size {config.kernel_size} is not odd")
    if config.num_filters(config.num_resolutions) < 1:
        raise _refuse(path, "fmap_base/fmap_max leave the last block with no channels")
    if config.spec_shape[0] * config.spec_shape[1] > MAX_SPEC_CELLS:
        raise _refuse(path, f"a {config.spec_shape[0]} x {config.spec_shape[1]} spectrogram "
                            f"is larger than {MAX_SPEC_CELLS} cells")
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
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelLoadError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
        raw = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, DocumentError) as exc:
        raise ModelLoadError(f"{path}: not readable JSON ({exc})") from None
    return parse_config(raw, path)


def _integer(path: Path, key: str, value: Any, lo: int, hi: int) -> int:
    """An int in lo..hi; a float holding a whole number counts (JSON writers differ)."""
    if isinstance(value, float) and value.is_integer():  # False for inf and NaN
        value = int(value) if lo <= value <= hi else value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelLoadError(f"{path}: {key} has the wrong type: expected an integer in "
                             f"{lo}..{hi}, got {shown(value)}")
    if not isinstance(value, int) or not lo <= value <= hi:
        raise ModelLoadError(f"{path}: {key} = {shown(value)} is not an integer in {lo}..{hi}")
    return value


def _real(path: Path, key: str, value: Any, lo: float, hi: float) -> float:
    """A number in lo..hi (the comparisons refuse NaN, inf and ints too big for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelLoadError(f"{path}: {key} has the wrong type: expected a number in "
                             f"{lo:g}..{hi:g}, got {shown(value)}")
    if not lo <= value <= hi:
        raise ModelLoadError(f"{path}: {key} = {shown(value)} is not a number in "
                             f"{lo:g}..{hi:g}")
    return float(value)
