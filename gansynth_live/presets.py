"""Presets: a named instrument (model + latent + envelope + gain) in a small file.

A preset is JSON or TOML. Shipped presets live in the repository's `presets/`
folder (inside the package once installed: shipped.py), user presets in the data dir's `presets/`; a user preset of the same
name wins. Names come from OSC and MIDI too, so every name goes through
`paths.child_path` and cannot leave those folders. Morph setups (a line or
square of corner presets) are presets with a `corners` list instead of a latent.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .documents import DocumentError, parse_json, parse_toml, shown
from .errors import GansynthLiveError
from .paths import child_path, data_dir
from .shipped import shipped_dir

SHIPPED_DIR = shipped_dir("presets")
_SUFFIXES = (".json", ".toml")
MAX_FILE_BYTES = 1 << 20
MAX_LATENT_ABS = 1000.0  # model latents are N(0, 1); far beyond this is a mistake, not a sound


class PresetError(GansynthLiveError):
    """A preset that is missing, malformed, or unsafe; the message names the file."""


@dataclass(frozen=True)
class Envelope:
    """ADSR in seconds (sustain is a level 0..1)."""

    attack_s: float = 0.005
    decay_s: float = 0.2
    sustain: float = 1.0
    release_s: float = 0.3

    def validated(self, where: str) -> "Envelope":
        """Self if every field is in range; the comparisons also refuse NaN, inf and any int
        too large for a float (math.isfinite would raise OverflowError on that one)."""
        for key, lo, hi in (("attack_s", 0.001, 10.0), ("decay_s", 0.0, 30.0),
                            ("sustain", 0.0, 1.0), ("release_s", 0.001, 30.0)):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not lo <= value <= hi:
                raise PresetError(f"{where}: envelope.{key} must be a number in {lo}..{hi}, "
                                  f"got {shown(value)}")
        return self


@dataclass(frozen=True)
class Preset:
    name: str
    model: str = "default"
    latent: tuple[float, ...] | None = None
    seed: int | None = None
    envelope: Envelope = field(default_factory=Envelope)
    gain_db: float = 0.0
    description: str = ""
    corners: tuple[str, ...] = ()  # a morph setup when non-empty
    resolution: int = 3            # morph grid points per axis

    @property
    def is_morph(self) -> bool:
        return bool(self.corners)

    def latent_vector(self, latent_size: int) -> np.ndarray:
        """The latent as float64; a seed draws it like `GanSynth.random_latents`."""
        if self.latent is not None:
            if len(self.latent) != latent_size:
                raise PresetError(f"preset {self.name!r} has a {len(self.latent)}-d latent; "
                                  f"the model needs {latent_size}")
            return np.asarray(self.latent, dtype=np.float64)
        if self.seed is None:
            raise PresetError(f"preset {self.name!r} has neither latent nor seed")
        return np.random.RandomState(self.seed).normal(size=[1, latent_size])[0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["envelope"] = asdict(self.envelope)
        data["latent"] = list(self.latent) if self.latent is not None else None
        data["corners"] = list(self.corners)
        return {k: v for k, v in data.items() if v not in (None, "", [])}


def _finite(value: Any, limit: float = 1e300) -> bool:
    """A number (not a bool) within +-limit: refuses NaN, inf and ints of hundreds of digits
    without converting them (float() of a 400-digit int raises OverflowError)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and -limit <= value <= limit


def _number(raw: dict, key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if not _finite(value):
        raise PresetError(f"{where}: {key} must be a finite number, got {shown(value)}")
    return float(value)


def preset_from_dict(raw: Any, where: str, default_name: str) -> Preset:
    """Validate a parsed preset file; every error names `where`."""
    if not isinstance(raw, dict):
        raise PresetError(f"{where}: expected a table/object at the top level")
    unknown = set(raw) - {"name", "model", "latent", "seed", "envelope", "gain_db",
                          "description", "corners", "resolution"}
    if unknown:
        raise PresetError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise PresetError(f"{where}: name must be a non-empty string")
    model = raw.get("model", "default")
    if not isinstance(model, str):
        raise PresetError(f"{where}: model must be a string")
    latent = raw.get("latent")
    if latent is not None:
        if not isinstance(latent, list) or not latent or not all(
                _finite(v, MAX_LATENT_ABS) for v in latent):
            raise PresetError(f"{where}: latent must be a list of finite numbers within "
                              f"+-{MAX_LATENT_ABS:g}")
        latent = tuple(float(v) for v in latent)
    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**32):
        raise PresetError(f"{where}: seed must be an integer in 0..2**32-1")
    corners = raw.get("corners", [])
    if not isinstance(corners, list) or not all(isinstance(c, str) for c in corners):
        raise PresetError(f"{where}: corners must be a list of preset names")
    if corners and not 2 <= len(corners) <= 4:
        raise PresetError(f"{where}: a morph setup needs 2 to 4 corners, got {len(corners)}")
    if not corners and latent is None and seed is None:
        raise PresetError(f"{where}: a preset needs a latent, a seed, or morph corners")
    resolution = raw.get("resolution", 3)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 2 <= resolution <= 33:
        raise PresetError(f"{where}: resolution must be an integer in 2..33")
    env_raw = raw.get("envelope", {})
    if not isinstance(env_raw, dict) or set(env_raw) - set(Envelope.__dataclass_fields__):
        raise PresetError(f"{where}: envelope must be a table with attack_s, decay_s, "
                          "sustain, release_s")
    defaults = Envelope()
    envelope = Envelope(**{k: _number(env_raw, k, getattr(defaults, k), where + ": envelope")
                           for k in Envelope.__dataclass_fields__}).validated(where)
    gain_db = _number(raw, "gain_db", 0.0, where)
    if not -60.0 <= gain_db <= 24.0:
        raise PresetError(f"{where}: gain_db must be in -60..24")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise PresetError(f"{where}: description must be a string")
    return Preset(name=name, model=model, latent=latent, seed=seed, envelope=envelope,
                  gain_db=gain_db, description=description, corners=tuple(corners),
                  resolution=resolution)


def load_preset_file(path: Path) -> Preset:
    where = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PresetError(f"{where}: larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{where}: cannot read ({exc})") from None
    try:
        raw = parse_toml(text) if path.suffix == ".toml" else parse_json(text)
    except DocumentError as exc:  # malformed, nested too deeply, a 5000-digit int, ...
        raise PresetError(f"{where}: {exc}") from None
    return preset_from_dict(raw, where, path.stem)


def preset_dirs(extra: Path | None = None) -> list[Path]:
    """Folders searched for presets, highest priority first."""
    dirs = [d for d in (extra, data_dir() / "presets", SHIPPED_DIR) if d is not None]
    return dirs


def find_preset(name: str, extra: Path | None = None) -> Preset:
    for folder in preset_dirs(extra):
        for suffix in _SUFFIXES:
            path = child_path(folder, name, suffix, what="preset name")
            if path.is_file():
                return load_preset_file(path)
    raise PresetError(f"no preset named {name!r} in {', '.join(map(str, preset_dirs(extra)))}")


def list_presets(extra: Path | None = None) -> list[tuple[Preset | None, Path, str]]:
    """(preset or None, path, error) for every preset file; user files shadow shipped ones."""
    seen: set[str] = set()
    found: list[tuple[Preset | None, Path, str]] = []
    for folder in preset_dirs(extra):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix not in _SUFFIXES or path.stem in seen or path.name.startswith("."):
                continue
            seen.add(path.stem)
            try:
                found.append((load_preset_file(path), path, ""))
            except PresetError as exc:
                found.append((None, path, str(exc)))
    return found


def save_preset(preset: Preset, folder: Path | None = None, overwrite: bool = False) -> Path:
    """Write `preset` as JSON atomically into `folder` (default: the user presets folder)."""
    folder = folder or data_dir() / "presets"
    folder.mkdir(parents=True, exist_ok=True)
    path = child_path(folder, preset.name, ".json", what="preset name")
    if path.exists() and not overwrite:
        raise PresetError(f"{path} exists; choose another name or overwrite it")
    fd, tmp = tempfile.mkstemp(prefix=".preset.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(preset.to_dict(), fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
