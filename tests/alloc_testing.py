"""Drive the real callback through a busy performance and measure what each call allocates.

`tracemalloc.get_traced_memory()` around each callback call, with the peak
reset just before it: the peak rise is the most the callback had allocated
at once (numpy's buffers are traced too, through its tracemalloc domain),
the current rise what it kept. The test pushes events, swaps layers and
keeps the event objects alive between calls, so none of that is counted.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Callable

import numpy as np

from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine import Engine, EngineConfig, Recorder
from gansynth_live.engine.rt.callback import make_callback
from gansynth_live.engine.synthetic import synthetic_bank
from gansynth_live.events import (AllNotesOff, AllSoundOff, NoteOff, NoteOn, PitchBend,
                                  SetEnvelope, SetMasterGain, SustainPedal)

SR = 48000


def make_banks() -> list[BankLayers]:
    """Four banks and the morph positions the performance moves between (made up front)."""
    banks = [synthetic_bank(range(36, 85), SR, duration_s=0.5, harmonics=h, rolloff=r,
                            latent_id=f"b{k}", loop=k != 3)
             for k, (h, r) in enumerate([(6, 1.5), (3, 1.0), (1, 2.0), (4, 0.5)])]
    return [BankLayers.single(banks[0]),
            BankLayers(tuple(banks[:2]), (0.5, 0.5)),
            BankLayers(tuple(banks), (0.25, 0.25, 0.25, 0.25)),
            BankLayers((banks[2], banks[3]), (0.7, 0.3)),
            BankLayers.single(banks[3])]


def events_for(block: int) -> list:
    """A dense performance: chords past polyphony (steals), releases, pedal, bend, panic."""
    i = block % 400
    out: list = []
    pitch = 40 + (block * 7) % 40
    if block % 3 == 0:
        out += [NoteOn(pitch, 60 + block % 60, channel=block % 2),
                NoteOn(pitch + 4, 90, channel=block % 2)]
    if block % 5 == 2:
        out.append(NoteOff((40 + ((block - 6) * 7) % 40), channel=(block - 6) % 2))
    if i == 100:
        out.append(SustainPedal(True))
    if i == 160:
        out.append(SustainPedal(False))
    if block % 7 == 0:
        out.append(PitchBend(((block % 17) - 8) / 8.0, channel=block % 2))
    if i == 250:
        out.append(SetMasterGain(0.4 + 0.1 * (block % 3)))
    if i == 300:
        out.append(SetEnvelope(0.004, 0.3, 0.7, 0.2))
    if i == 350:
        out.append(AllNotesOff())
    if i == 390:
        out.append(AllSoundOff())
    return out


def _refill_float_free_list() -> None:
    """Give CPython's float free list back the floats this harness just kept alive.

    The events made above hold floats (a bend value, a gain) taken from the
    interpreter's free list of float objects. The callback makes transient
    floats too (its clock readings); in a real process those come from and
    return to that list without calling malloc, but with the list emptied by
    the harness the callback's first one would be a malloc counted against
    it. Making and dropping a few floats here restores the steady state.
    """
    floats = [i + 0.5 for i in range(16)]
    del floats


Host = Callable[[Engine, np.ndarray, int], Callable[[], None]]


def portaudio_host(engine: Engine, out: np.ndarray, frames: int) -> Callable[[], None]:
    """One block as PortAudio calls the callback (without its time_info and status)."""
    callback = make_callback(engine)
    return lambda: callback(out, frames, None, None)


def measure(tmp_path, blocks: int = 3000, warm_up: int = 800, frames: int = 256,
            host: Host = portaudio_host) -> tuple[np.ndarray, np.ndarray, Engine]:
    """Per measured callback: (peak rise, kept bytes), after `warm_up` unmeasured blocks.

    `host(engine, out, frames)` gives the call to measure: PortAudio's callback, or
    JACK's process callback over an inactive client's ports (test_jack_direct.py)."""
    config = EngineConfig(sample_rate=SR, polyphony=6, max_block_frames=1024,
                          morph_glide_s=0.01)
    engine = Engine(config)
    positions = make_banks()
    engine.set_layers(positions[0])
    recorder = Recorder(tmp_path / "take.wav", SR, buffer_s=(blocks * frames) / SR + 1.0)
    recorder.close()  # its writer thread (which allocates, in its thread) is gone; the
    # callback's side, the ring copy, goes on as in a take
    engine.recorder = recorder
    out = np.zeros((frames, 2), dtype=np.float32)
    call = host(engine, out, frames)
    peaks = np.zeros(blocks - warm_up, dtype=np.int64)
    kept = np.zeros(blocks - warm_up, dtype=np.int64)
    alive: list = []  # events stay referenced: popping them frees nothing in the callback
    get = tracemalloc.get_traced_memory
    gc.disable()
    tracemalloc.start()
    try:
        for block in range(blocks):
            for event in events_for(block):
                engine.push(event)
                alive.append(event)
            if block % 60 == 30:
                engine.set_layers(positions[(block // 60) % len(positions)])
            if block % 20 == 0:
                engine.collect()
            _refill_float_free_list()
            # every block goes through the same measuring lines (the warm-up too), so
            # their own first-run costs fall before the recorded blocks
            before = get()[0]
            tracemalloc.reset_peak()
            call()
            current, peak = get()
            if block >= warm_up:
                peaks[block - warm_up] = peak - before
                kept[block - warm_up] = current - before
            if len(alive) > 4096:
                del alive[:2048]
    finally:
        tracemalloc.stop()
        gc.enable()
    return peaks, kept, engine
