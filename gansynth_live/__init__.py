"""gansynth-live: GANSynth as a playable real-time instrument."""

__version__ = "0.1.0"
