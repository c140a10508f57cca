"""Reading a user's own notes from a folder of audio files.

Layouts understood:
* DIR/<instrument>/<anything><pitch>.wav : one folder per instrument; the MIDI
  pitch is the last number in the file name (`C4_60.wav`, `060.wav`);
* NSynth names anywhere under DIR: `<instrument>-<pitch>-<velocity>.wav`
  (e.g. `guitar_acoustic_010-060-100.wav`), instrument from the name.
Files are mixed to mono, resampled to 16 kHz, cut or padded to 4 s and
peak-normalised like the rendered set.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .dataset import AUDIO_LENGTH, SAMPLE_RATE, DatasetError, normalise
from .notes import NoteSet

_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
_NSYNTH = re.compile(r"^(?P<inst>.+)-(?P<pitch>\d{3})-(?P<vel>\d{3})$")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def _label(path: Path, root: Path) -> tuple[str, int] | None:
    stem = path.stem
    m = _NSYNTH.match(stem)
    if m:
        return m.group("inst"), int(m.group("pitch"))
    m = _LAST_NUMBER.search(stem)
    if m is None or path.parent == root:
        return None
    return path.parent.name, int(m.group(1))


def load_samples(root: Path, pitch_range: range) -> NoteSet:
    import soundfile as sf
    import soxr

    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"--samples folder '{root}' does not exist")
    found: dict[str, list[tuple[int, Path]]] = {}
    skipped = 0
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in _AUDIO_SUFFIXES or not path.is_file():
            continue
        label = _label(path, root)
        if label is None or label[1] not in pitch_range:
            skipped += 1
            continue
        found.setdefault(label[0], []).append((label[1], path))
    if not found:
        raise DatasetError(f"no usable notes in '{root}' ({skipped} files skipped): use "
                           "DIR/<instrument>/<name><MIDI pitch>.wav or NSynth names "
                           f"<instrument>-<pitch>-<velocity>.wav with pitches "
                           f"{pitch_range[0]}..{pitch_range[-1]}")
    waves, pitches, voice = [], [], []
    voices = sorted(found)
    for v, name in enumerate(voices):
        for pitch, path in found[name]:
            try:
                audio, rate = sf.read(path, dtype="float32", always_2d=True)
            except (RuntimeError, sf.LibsndfileError) as exc:
                raise DatasetError(f"cannot read '{path}': {exc}") from None
            mono = audio.mean(axis=1)
            if rate != SAMPLE_RATE:
                mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="VHQ")
            note = np.zeros(AUDIO_LENGTH, np.float32)
            note[:min(len(mono), AUDIO_LENGTH)] = mono[:AUDIO_LENGTH]
            waves.append(note)
            pitches.append(pitch)
            voice.append(v)
    notes, audible = normalise(np.stack(waves))
    full = NoteSet(waves=notes, pitches=np.array(pitches, np.int32),
                   voice=np.array(voice, np.int32), voices=tuple(voices),
                   programs=tuple(None for _ in voices), sample_rate=SAMPLE_RATE)
    return full.subset(audible)
