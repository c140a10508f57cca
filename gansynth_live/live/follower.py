"""The layer thread: corners and morph position in, BankLayers swapped into the engine out.

Inputs (MIDI, OSC) only write the latest wish (corners, position, pitches
played) and wake this thread, so a flood of XY-pad or program-change messages
never piles up work: whatever arrived since the last pass is handled once.
Each pass (every `tick_s` when idle, at once when woken, but at most every
`min_interval_s`: an XY pad or a CC flood cannot make it spin):

1. new corners: build the next `TimbreSpace` (taking over the old one's
   banks where latents match), then release the old one;
2. new position: let the space fill banks near it first (re-prioritising
   the worker's queue at most every `focus_interval_s`);
3. pitches played since the last pass: ask unfinished banks for them first;
4. compute the layers at the position; if they differ from what the engine
   plays (other banks, or weights moved by more than 1e-4), hand them to
   `Engine.set_layers`, which prepares tables here and swaps one reference.

Banks that fill in while nobody moves are picked up by the idle tick, so the
sound improves as the worker publishes finer banks.

Threads: `set_anchors`, `move`, `note_played`, `progress` from any thread;
the rest is this thread's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np

from ..banks.bank import BankLayers
from ..engine import Engine
from .timbre_space import BankProgress, TimbreSpace

log = logging.getLogger(__name__)

SpaceFactory = Callable[[np.ndarray, "TimbreSpace | None", int], TimbreSpace]
"""(corner latents, the space they replace, grid resolution) -> the new space."""


def same_layers(a: BankLayers | None, b: BankLayers | None, tolerance: float = 1e-4) -> bool:
    if a is None or b is None:
        return a is b
    if len(a.banks) != len(b.banks) or any(x is not y for x, y in zip(a.banks, b.banks)):
        return False
    return all(abs(x - y) <= tolerance for x, y in zip(a.weights, b.weights))


class LayerFollower:
    """Keeps the engine playing the layers at the current corners and position."""

    def __init__(self, engine: Engine, make_space: SpaceFactory, *, tick_s: float = 0.1,
                 min_interval_s: float = 0.005, focus_interval_s: float = 0.2,
                 report: Callable[[str], None] = print) -> None:
        self.engine = engine
        self.make_space = make_space
        self.tick_s = float(tick_s)
        self.min_interval_s = float(min_interval_s)
        self.focus_interval_s = float(focus_interval_s)
        self._focus_due = False
        self._last_focus = -1e9
        self.report = report
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending_anchors: tuple[np.ndarray, int] | None = None
        self._position = (0.5, 0.5)
        self._moved = True
        self._played = np.zeros(128, dtype=bool)
        self._space: TimbreSpace | None = None
        self._layers: BankLayers | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._passes = 0
        # counters
        self.swaps = 0
        self.errors = 0
        self.last_error = ""

    # --- any thread ---------------------------------------------------------------------
    def set_anchors(self, anchors: np.ndarray, resolution: int = 3) -> None:
        """Play between these corner latents from now on (the latest call wins)."""
        with self._lock:
            self._pending_anchors = (np.array(anchors, dtype=np.float64), int(resolution))
        self._wake.set()

    def move(self, x: float, y: float) -> None:
        with self._lock:
            self._position = (float(x), float(y))
            self._moved = True
        self._wake.set()

    def note_played(self, pitch: int) -> None:
        """Remember a played pitch (cheap: one array store; read by the next pass)."""
        self._played[pitch] = True

    @property
    def space(self) -> TimbreSpace | None:
        return self._space

    @property
    def layers(self) -> BankLayers | None:
        """What the engine was last handed."""
        return self._layers

    def progress(self) -> BankProgress:
        space = self._space
        return space.progress() if space is not None else BankProgress()

    def wait_pass(self, timeout: float = 5.0) -> bool:
        """Block until one full pass has run after this call (tests, startup)."""
        with self._idle:
            target = self._passes + 2
            self._wake.set()
            return self._idle.wait_for(lambda: self._passes >= target, timeout)

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> "LayerFollower":
        self._thread = threading.Thread(target=self._run, name="gansynth-live layers",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._space is not None:
            self._space.release(None)

    # --- layer thread -------------------------------------------------------------------
    def _run(self) -> None:
        last = -1e9
        while not self._stop.is_set():
            self._wake.wait(self.tick_s)
            rest = last + self.min_interval_s - time.monotonic()
            if rest > 0:
                time.sleep(rest)
            last = time.monotonic()
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._pass()
            except Exception as exc:  # noqa: BLE001 - keep following; report once per kind
                self.errors += 1
                text = f"{type(exc).__name__}: {exc}"
                if text != self.last_error:
                    self.report(f"timbre update failed: {text}")
                    log.exception("layer follower pass failed")
                self.last_error = text
            with self._idle:
                self._passes += 1
                self._idle.notify_all()

    def _pass(self) -> None:
        with self._lock:
            anchors, self._pending_anchors = self._pending_anchors, None
            (x, y), moved, self._moved = self._position, self._moved, False
        if anchors is not None:
            old = self._space
            self._space = self.make_space(anchors[0], old, anchors[1])
            if old is not None:
                old.release(self._space)
            moved = True
        space = self._space
        if space is None:
            return
        self._focus_due = self._focus_due or moved
        now = time.monotonic()
        if self._focus_due and now - self._last_focus >= self.focus_interval_s:
            space.focus(x, y)
            self._focus_due = False
            self._last_focus = now
        played = np.flatnonzero(self._played)
        if played.size:
            self._played[played] = False
            space.prioritize(int(p) for p in played)
        layers = space.layers_at(x, y)
        if layers is not None and not same_layers(layers, self._layers):
            self.engine.set_layers(layers)
            self._layers = layers
            self.swaps += 1
