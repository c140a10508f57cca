"""Rendering an NSynth-like note set from a General MIDI SoundFont with FluidSynth.

One MIDI file per (program, velocity) plays every pitch in turn; the FluidSynth
command-line renderer (reverb and chorus off) writes it at 48 kHz, which is
resampled to 16 kHz with soxr (FluidSynth's own interpolation aliases when it
transposes samples up at a low output rate) and cut into 4 s notes: held 3 s,
released, and silenced with All Sound Off after the window so a long release
never leaks into the next note. Each note is peak-normalised to 0.5, as
training wants a level that does not depend on the program's volume.

The set is cached as float16 .npy files plus a manifest.json in a data folder
outside the repository; re-running with the same settings reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import GansynthLiveError
from .notes import NoteSet
from .programs import GM_PROGRAMS, Program

SAMPLE_RATE = 16000
AUDIO_LENGTH = 64000
RENDER_RATE = 48000
HOLD_S = 3.0
PERIOD_S = 4.5  # note-on to note-on; the 4 s window plus room for All Sound Off
LEAD_IN_S = 0.5
PEAK = 0.5
SILENT_PEAK = 1.0e-4  # a note quieter than this before normalisation is dropped
DEFAULT_PITCHES = tuple(range(24, 85))
DEFAULT_VELOCITIES = (50, 100, 127)
_FORMAT_VERSION = 1


class DatasetError(GansynthLiveError):
    """The training notes cannot be rendered or read."""


@dataclass(frozen=True)
class RenderSettings:
    soundfont: Path
    programs: tuple[Program, ...] = GM_PROGRAMS
    pitches: tuple[int, ...] = DEFAULT_PITCHES
    velocities: tuple[int, ...] = DEFAULT_VELOCITIES

    def key(self) -> str:
        """Names the cache folder: SoundFont (name, size, mtime) and pitches.

        Programs and velocities are not part of it: they are rendered into the same
        folder as they are first asked for, one (program, velocity) set at a time.
        """
        st = self.soundfont.stat()
        text = json.dumps([_FORMAT_VERSION, self.soundfont.name, st.st_size, int(st.st_mtime),
                           list(self.pitches)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _note_midi(path: Path, program: int, pitches: Sequence[int], velocity: int) -> None:
    """A type-0 MIDI file: program change, then each pitch held HOLD_S, PERIOD_S apart."""
    import mido

    ticks_per_s = 960  # 480 ticks per beat at 120 bpm
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    events: list[tuple[float, mido.Message]] = []
    for i, pitch in enumerate(pitches):
        start = LEAD_IN_S + i * PERIOD_S
        events.append((start, mido.Message("note_on", note=pitch, velocity=velocity)))
        events.append((start + HOLD_S, mido.Message("note_off", note=pitch, velocity=0)))
        # All Sound Off just after the window: cuts any release tail before the next note.
        events.append((start + AUDIO_LENGTH / SAMPLE_RATE + 0.05,
                       mido.Message("control_change", control=120, value=0)))
    events.append((LEAD_IN_S + len(pitches) * PERIOD_S, mido.MetaMessage("end_of_track")))
    now = 0
    for t, msg in events:
        tick = int(round(t * ticks_per_s))
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.save(path)


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise DatasetError("the 'fluidsynth' program is not installed; on Debian/Ubuntu: "
                           "apt-get install fluidsynth fluid-soundfont-gm")
    return exe


def render_program(soundfont: Path, program: int, pitches: Sequence[int], velocity: int,
                   workdir: Path) -> np.ndarray:
    """float32 [len(pitches), AUDIO_LENGTH] raw (not normalised) notes at SAMPLE_RATE."""
    import soundfile as sf
    import soxr

    midi = workdir / f"p{program}_v{velocity}.mid"
    wav = workdir / f"p{program}_v{velocity}.wav"
    _note_midi(midi, program, pitches, velocity)
    cmd = [_fluidsynth(), "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5",
           "-r", str(RENDER_RATE), "-O", "float", "-T", "wav", "-F", str(wav),
           str(soundfont), str(midi)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0 or not wav.is_file():
        raise DatasetError(f"fluidsynth failed on program {program}: "
                           f"{(proc.stderr or proc.stdout).strip()[:300]}")
    audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    wav.unlink()
    mono = audio.mean(axis=1)
    mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="VHQ").astype(np.float32)
    notes = np.zeros((len(pitches), AUDIO_LENGTH), np.float32)
    for i in range(len(pitches)):
        start = int(round((LEAD_IN_S + i * PERIOD_S) * SAMPLE_RATE))
        chunk = mono[start:start + AUDIO_LENGTH]
        notes[i, :len(chunk)] = chunk
    return notes


def normalise(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak-normalised notes and a mask of the audible ones."""
    peaks = np.abs(notes).max(axis=1)
    audible = peaks >= SILENT_PEAK
    out = np.zeros_like(notes)
    out[audible] = notes[audible] * (PEAK / peaks[audible, None])
    return out, audible


def render_dataset(settings: RenderSettings, data_dir: Path,
                   progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Render (or reuse) the note set under data_dir/<key>/; returns that folder."""
    if not settings.soundfont.is_file():
        raise DatasetError(f"SoundFont '{settings.soundfont}' does not exist")
    folder = Path(data_dir) / settings.key()
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    if manifest is None:
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"format": _FORMAT_VERSION, "soundfont": str(settings.soundfont),
                    "sample_rate": SAMPLE_RATE, "audio_length": AUDIO_LENGTH,
                    "hold_s": HOLD_S, "peak": PEAK, "sets": []}
    if manifest.get("pitches", list(settings.pitches)) != list(settings.pitches):
        raise DatasetError(f"'{manifest_path}' holds other pitches; use another --data-dir")
    manifest["pitches"] = list(settings.pitches)
    done = {(s["name"], s["velocity"]) for s in manifest["sets"]}
    jobs = [(p, v) for p in settings.programs for v in settings.velocities
            if (p.name, v) not in done]
    total = len(settings.programs) * len(settings.velocities)
    with tempfile.TemporaryDirectory(prefix="gansynth-render-") as tmp:
        for i, (prog, velocity) in enumerate(jobs):
            if progress is not None:
                progress(total - len(jobs) + i, total, f"{prog.name} v{velocity}")
            raw = render_program(settings.soundfont, prog.program, settings.pitches, velocity,
                                 Path(tmp))
            notes, audible = normalise(raw)
            fname = f"{prog.name}_v{velocity}.npy"
            tmp_file = folder / f".{fname}.tmp"
            with open(tmp_file, "wb") as fh:
                np.save(fh, notes.astype(np.float16), allow_pickle=False)
            os.replace(tmp_file, folder / fname)
            manifest["sets"].append({
                "name": prog.name, "program": prog.program, "family": prog.family,
                "velocity": velocity, "file": fname, "pitches": list(settings.pitches),
                "audible": [bool(a) for a in audible]})
            _write_json(manifest_path, manifest)  # after each set: an interrupted render resumes
    if progress is not None:
        progress(total, total, "done")
    return folder


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def load_rendered(folder: Path, velocities: Iterable[int] | None = None,
                  names: Iterable[str] | None = None,
                  pitches: Iterable[int] | None = None) -> NoteSet:
    """The rendered notes, filtered; one voice per instrument (per velocity if several)."""
    manifest_path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read '{manifest_path}': {exc}") from None
    vel_set = set(velocities) if velocities is not None else None
    name_set = set(names) if names is not None else None
    pitch_set = set(pitches) if pitches is not None else None
    sets = [s for s in manifest["sets"]
            if (vel_set is None or s["velocity"] in vel_set)
            and (name_set is None or s["name"] in name_set)]
    if name_set is not None:
        missing = name_set - {s["name"] for s in sets}
        if missing:
            raise DatasetError(f"instruments not in the rendered set: {sorted(missing)}")
    if not sets:
        raise DatasetError(f"no rendered notes match in '{folder}'")
    several = len({s["velocity"] for s in sets}) > 1
    order = sorted(sets, key=lambda s: (s["program"], s["velocity"]))
    waves, pitches_out, voice, voices, programs = [], [], [], [], []
    for s in order:
        data = np.load(Path(folder) / s["file"], allow_pickle=False)
        keep = np.array(s["audible"], bool)
        if pitch_set is not None:
            keep &= np.isin(np.array(s["pitches"]), list(pitch_set))
        if not keep.any():
            continue
        voices.append(f"{s['name']}@{s['velocity']}" if several else s["name"])
        programs.append(int(s["program"]))
        waves.append(data[keep].astype(np.float32))
        pitches_out.append(np.array(s["pitches"], np.int32)[keep])
        voice.append(np.full(int(keep.sum()), len(voices) - 1, np.int32))
    return NoteSet(waves=np.concatenate(waves), pitches=np.concatenate(pitches_out),
                   voice=np.concatenate(voice), voices=tuple(voices), programs=tuple(programs),
                   sample_rate=int(manifest["sample_rate"]))
