"""CPU per sounding voice: the engine and FluidSynth, measured the same way.

Both render offline the same MIDI file twice, once holding one note and once holding
`many`, for `seconds` of audio at 48 kHz, 128-frame blocks; the difference in CPU time
divided by the extra notes and the audio's length is the cost of one voice, as a share
of one core in real time. FluidSynth runs as its command-line renderer (`-F`, reverb
and chorus off, CPU from the child's rusage: process start and loading the SoundFont
cancel out in the difference); the engine renders a synthetic looped bank through the
live callback (engine/offline.py) in this process.

FluidSynth's preset is General MIDI program 16 (drawbar organ: it sustains while held);
one FluidSynth note may start more than one sample voice (stereo or layered zones), so
the figure is per note held, on both sides.
"""

from __future__ import annotations

import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RATE = 48000
BLOCK = 128
PROGRAM = 16


@dataclass(frozen=True)
class VoiceCost:
    renderer: str
    one_s: float  # CPU seconds, one note held
    many_s: float  # CPU seconds, `many` notes held
    many: int
    seconds: float

    @property
    def core_pct_per_voice(self) -> float:
        return 100.0 * (self.many_s - self.one_s) / (self.many - 1) / self.seconds


def _pitches(n: int) -> list[int]:
    return [36 + (i * 5) % 49 for i in range(n)]  # spread over 36..84, distinct up to 49


def _write_midi(path: Path, notes: int, seconds: float) -> None:
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks a second
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("program_change", program=PROGRAM, time=0))
    for pitch in _pitches(notes):
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
    first = True
    for pitch in _pitches(notes):
        track.append(mido.Message("note_off", note=pitch, time=int(seconds * 960) if first else 0))
        first = False
    mid.save(path)


def _fluid_cpu_s(midi: Path, out: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-z", str(BLOCK),
                    "-o", "synth.polyphony=256", "-F", str(out), "-r", str(RATE), SF2,
                    str(midi)], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _engine_cpu_s(notes: int, seconds: float) -> tuple[float, int]:
    from gansynth_live.banks.bank import BankLayers
    from gansynth_live.engine import Engine, EngineConfig, render_with_engine
    from gansynth_live.engine.synthetic import synthetic_bank
    from gansynth_live.events import NoteOff, NoteOn

    bank = synthetic_bank(range(36, 85), RATE, harmonics=6, rolloff=1.3)
    engine = Engine(EngineConfig(polyphony=128, release_s=0.05))
    engine.set_layers(BankLayers.single(bank))
    events = [(0.0, NoteOn(p, 90)) for p in _pitches(notes)]
    render_with_engine(engine, events, 0.5, block_frames=BLOCK)  # warm-up (kernel compile)
    t0 = time.process_time()
    render_with_engine(engine, [], seconds, block_frames=BLOCK)
    took = time.process_time() - t0
    voices = engine.stats().voices_active
    render_with_engine(engine, [(0.0, NoteOff(p)) for p in _pitches(notes)], 0.2,
                       block_frames=BLOCK)
    return took, voices


def measure(many: int = 48, seconds: float = 20.0) -> list[VoiceCost]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        costs = []
        for n in (1, many):
            midi = Path(tmp) / f"held{n}.mid"
            _write_midi(midi, n, seconds)
            costs.append(_fluid_cpu_s(midi, Path(tmp) / "out.wav"))
        out.append(VoiceCost("FluidSynth (FluidR3_GM organ, reverb/chorus off)", *costs, many,
                             seconds))
    one, _ = _engine_cpu_s(1, seconds)
    many_s, voices = _engine_cpu_s(many, seconds)
    if voices != many:
        raise RuntimeError(f"the engine held {voices} voices, expected {many}")
    out.append(VoiceCost("gansynth-live engine (one bank)", one, many_s, many, seconds))
    return out


if __name__ == "__main__":
    for cost in measure():
        print(f"{cost.renderer}: {cost.core_pct_per_voice:.3f} % of a core per voice "
              f"({cost.one_s:.2f} s / {cost.many_s:.2f} s CPU for 1 / {cost.many} notes)")
