"""GANSynth checkpoints in magenta's layout, sampled with TensorFlow 2.

TensorFlow is imported on first use of `load_model` and friends, so that
commands which only move files (fetch-model, cache, preset) start instantly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gansynth import GanSynth, PitchError, load_model

__all__ = ["GanSynth", "PitchError", "load_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import gansynth

        return getattr(gansynth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
