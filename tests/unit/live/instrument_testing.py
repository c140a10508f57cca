"""Helpers for the instrument tests: drive the engine in the test thread, wait for banks."""

from __future__ import annotations

import time

import numpy as np

from gansynth_live.live.instrument import Instrument
from gansynth_live.engine import Engine


def render(engine: Engine, seconds: float, block: int = 256) -> np.ndarray:
    """Run the engine's audio callback in this thread for `seconds` (no device)."""
    from gansynth_live.engine.rt.callback import make_callback

    callback = make_callback(engine)  # the very function PortAudio would call
    frames = int(seconds * engine.sample_rate)
    out = np.zeros((frames, 2), dtype=np.float32)
    for start in range(0, frames, block):
        chunk = out[start:start + block]
        callback(chunk, len(chunk), None, None)
        if start % (block * 64) == 0:
            engine.collect()
    return out


def wait_playable(instrument: Instrument, timeout: float = 30.0) -> None:
    """Until the layers at the current position are made of complete banks."""
    deadline = time.monotonic() + timeout
    follower = instrument.follower
    while time.monotonic() < deadline:
        follower.wait_pass(1.0)
        layers = follower.layers
        if layers is not None and all(bank.complete for bank in layers.banks):
            return
    raise AssertionError(f"banks not ready: {follower.progress().describe()}")
