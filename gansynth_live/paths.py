"""Where gansynth-live keeps things, and a guard against paths escaping them.

User-facing names (preset names, model names, cache keys) may come from OSC or
MIDI, so every name that becomes a file goes through `child_path`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

from .errors import GansynthLiveError

APP = "gansynth-live"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+-]{0,127}")  # used with fullmatch


class UnsafePathError(GansynthLiveError):
    """A name that would leave its folder or is not a plain file name."""


def data_dir() -> Path:
    """Downloaded models and user presets (GANSYNTH_LIVE_DATA_DIR overrides)."""
    return Path(os.environ.get("GANSYNTH_LIVE_DATA_DIR") or platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Note-bank cache (GANSYNTH_LIVE_CACHE_DIR overrides)."""
    return Path(os.environ.get("GANSYNTH_LIVE_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def check_name(name: str, what: str = "name") -> str:
    """Accept only a plain, short file-name-like string (no separators, no leading dot)."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or name.endswith("."):
        raise UnsafePathError(
            f"{what} {name!r} is not allowed: use letters, digits, space, '_', '-', '.', '+' "
            "(no path separators, at most 128 characters, not starting with '.')")
    return name


def child_path(folder: Path, name: str, suffix: str = "", what: str = "name") -> Path:
    """folder/name+suffix, refusing anything that could resolve outside `folder`."""
    check_name(name, what)
    path = folder / f"{name}{suffix}"
    root = folder.resolve()
    if root not in path.resolve().parents:
        raise UnsafePathError(f"{what} {name!r} resolves outside '{folder}'")
    return path
