"""Offline rendering through the live code path: the same callback, driven block by block.

`render_offline` builds an Engine, then calls the very callback that
PortAudio would call, on consecutive slices of one output array. Events are
applied at their exact frame: the block is cut there (variable block sizes
are also what PortAudio may deliver), unless `quantize=True`: then blocks
have a fixed size and an event waits for the next block boundary, as it
does in the live stream. Events keep the order they are given in: before a
`SetLayers` the events queued so far are applied (by a zero-length block, as
when the queue is full), so a note-on given before a layer change starts on
the old layers and one given after it on the new ones, even at the same frame.
Runs in the calling thread; no audio device is touched.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from ..banks.bank import BankLayers
from ..events import Event, SetLayers
from .rt.callback import make_callback
from .config import EngineConfig
from .engine import Engine

TimedEvent = tuple[float, Event]
Progress = Callable[[int, int], None]  # (frames rendered, frames in all)
PROGRESS_BLOCKS = 64  # report progress (and collect) every this many blocks


def render_offline(config: EngineConfig | None, layers: BankLayers | None,
                   timed_events: Iterable[TimedEvent], duration_s: float, *,
                   block_frames: int = 256, quantize: bool = False,
                   progress: Progress | None = None) -> np.ndarray:
    """Render `duration_s` seconds of `timed_events` (seconds, event) to float32 (frames, 2).

    Events at or after `duration_s` are not applied. `SetLayers` events swap
    banks at their time, like `Engine.set_layers` during a live set.
    `progress(done, total)` is called now and then with frames rendered.
    """
    engine = Engine(config)
    if layers is not None:
        engine.set_layers(layers)
    return render_with_engine(engine, timed_events, duration_s, block_frames=block_frames,
                              quantize=quantize, progress=progress)


def render_with_engine(engine: Engine, timed_events: Iterable[TimedEvent], duration_s: float, *,
                       block_frames: int = 256, quantize: bool = False,
                       progress: Progress | None = None) -> np.ndarray:
    """Like `render_offline` with an existing engine (its state carries over between calls)."""
    if block_frames < 1:
        raise ValueError("block_frames must be at least 1")
    rate = engine.sample_rate
    total = int(round(duration_s * rate))
    out = np.zeros((total, 2), dtype=np.float32)
    callback = make_callback(engine)
    events = sorted(((float(t), e) for t, e in timed_events), key=lambda item: item[0])
    pos = 0
    blocks = 0

    def render_until(frame: int) -> None:
        nonlocal pos, blocks
        while pos < frame:
            n = min(block_frames, frame - pos)
            if quantize:
                n = min(block_frames - pos % block_frames, total - pos)
            callback(out[pos:pos + n], n, None, None)
            pos += n
            blocks += 1
            if blocks % PROGRESS_BLOCKS == 0:
                engine.collect()
                if progress is not None:
                    progress(pos, total)

    queued = False  # events pushed since the last block
    for t, event in events:
        frame = int(round(t * rate))
        if frame >= total:
            break
        if frame > pos:
            render_until(frame)
            queued = False
        if isinstance(event, SetLayers):
            if queued:  # apply what came before the layer change, on the old layers
                callback(out[pos:pos], 0, None, None)
                queued = False
            engine.set_layers(event.layers)
            continue
        while not engine.push(event):  # queue full: apply what waits, without advancing time
            callback(out[pos:pos], 0, None, None)
        queued = True
    render_until(total)
    engine.collect()
    if progress is not None:
        progress(total, total)
    return out
