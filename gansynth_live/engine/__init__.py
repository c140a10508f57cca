"""The live engine: voices, morphing layers, mixer and audio output.

Public API (what `serve` and `render` use):
- `EngineConfig`, `Engine` (push events, set_layers, stats, collect),
- `AudioStream` (plays an Engine through PortAudio; context manager),
- `Recorder` (the live output to a file, from a non-real-time thread),
- `render_offline` (the same code, block by block, into an array).

`AudioStream` imports sounddevice only when opened, so a JACK server started
after this package is imported is still found.
"""

from .config import EngineConfig, EngineConfigError
from .engine import Engine, EngineStats
from .layers import BankLayoutError
from .offline import render_offline, render_with_engine
from .recorder import Recorder, RecorderError
from .stream import AudioDeviceError, AudioDeviceLost, AudioStream

__all__ = ["AudioDeviceError", "AudioDeviceLost", "AudioStream", "BankLayoutError", "Engine", "EngineConfig",
           "EngineConfigError", "EngineStats", "Recorder", "RecorderError", "render_offline",
           "render_with_engine"]
