"""GANSynth checkpoints in magenta's layout, sampled with TensorFlow 2."""

from .gansynth import GanSynth, PitchError, load_model

__all__ = ["GanSynth", "PitchError", "load_model"]
