"""Reading a user's own notes from a folder of audio files.

Each file is one note. Its instrument and pitch come from its place and name:

* NSynth names anywhere under DIR: `<instrument>-<pitch>-<velocity>.wav`
  (e.g. `guitar_acoustic_010-060-100.wav`), instrument from the name;
* otherwise the pitch is a note name in the file name, the last one if there
  are several: a letter A-G, a sharp (`#`) or flat (`b`) and an octave, with
  C4 = MIDI 60 (`Piano C4.wav`, `vibes-A#3.wav`, `Db3.wav`, `C-1.wav`), set
  off by separators (space, `_`, `-`, `.`) or the ends of the name;
* or else the last number in the name, a MIDI pitch (`vibes_60.wav`, `060.wav`);
* or else, with no pitch in the name (`bell.wav`), the pitch is detected
  (librosa's pYIN, median over the voiced frames of the first 1.5 s after
  the onset) and rounded to the nearest MIDI note.

Instrument: the folder a file is in (DIR/<instrument>/...), or for a file
directly in DIR the rest of its name (`vibes_60.wav` and `vibes-A#3.wav` are
both "vibes"; a name with nothing but a pitch takes DIR's own name).
Each file's outcome (instrument and pitch, and where the pitch came from; or
why it was skipped: out of the model's pitch range, silent, no pitch found)
is reported on a line of its own.

Files are mixed to mono, resampled to 16 kHz, cut or padded to 4 s and
peak-normalised like the rendered set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .dataset import AUDIO_LENGTH, SAMPLE_RATE, SILENT_PEAK, DatasetError, normalise
from .notes import NoteSet

_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
_NSYNTH = re.compile(r"^(?P<inst>.+)-(?P<pitch>\d{3})-(?P<vel>\d{3})$")
_NOTE = re.compile(r"(?<![A-Za-z0-9])(?P<letter>[A-Ga-g])(?P<accidental>[#\u266fb\u266d]?)"
                   r"(?P<octave>-1|\d)(?![A-Za-z0-9])")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_SEPARATORS = " _-.,+()[]"
_SEMITONES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
DETECT_SECONDS = 1.5  # of the note after its onset, for pitch detection
MIN_VOICED = 0.3  # share of voiced frames below which a file has no clear pitch
MIN_PROBABILITY = 0.5  # pYIN's voiced probability a frame needs to count as voiced

Report = Callable[[str], None]


@dataclass(frozen=True)
class NamePitch:
    """The pitch a file name gives: MIDI number, the text it came from, where it was."""

    pitch: int
    text: str
    start: int
    end: int


def note_number(letter: str, accidental: str, octave: int) -> int:
    """MIDI number of a note name: C4 = 60, C#4 = Db4 = 61, C-1 = 0."""
    shift = {"#": 1, "\u266f": 1, "b": -1, "\u266d": -1}.get(accidental, 0)
    return 12 * (octave + 1) + _SEMITONES[letter.lower()] + shift


def pitch_from_name(stem: str) -> NamePitch | None:
    """The pitch in a file name (without its suffix), or None if it holds none.

    The last note name wins over numbers (`cello_A3_1_ff` is A3, not 1);
    without a note name, the last number is the MIDI pitch.
    """
    notes = list(_NOTE.finditer(stem))
    if notes:
        m = notes[-1]
        pitch = note_number(m["letter"], m["accidental"], int(m["octave"]))
        return NamePitch(pitch, m.group(0), m.start(), m.end())
    m = _LAST_NUMBER.search(stem)
    if m is None:
        return None
    return NamePitch(int(m.group(1)), m.group(1), m.start(), m.end())


def _instrument_from_stem(stem: str, named: NamePitch | None, fallback: str) -> str:
    if named is None:
        return stem.strip(_SEPARATORS) or fallback
    before = stem[:named.start].strip(_SEPARATORS)
    after = stem[named.end:].strip(_SEPARATORS)
    return before or after or fallback


def _label(path: Path, root: Path) -> tuple[str, NamePitch | None, str]:
    """(instrument, pitch from the name or None, how the name gave it)."""
    stem = path.stem
    m = _NSYNTH.match(stem)
    if m:
        pitch = int(m.group("pitch"))
        return m.group("inst"), NamePitch(pitch, m.group("pitch"), m.start("pitch"),
                                          m.end("pitch")), "NSynth name"
    named = pitch_from_name(stem)
    if path.parent != root:
        instrument = path.parent.name
    else:
        instrument = _instrument_from_stem(stem, named, root.resolve().name or "samples")
    if named is None:
        return instrument, None, ""
    how = "from the name" if named.text.isdigit() else f"{named.text} in the name"
    return instrument, named, how


def _read_note(path: Path) -> np.ndarray:
    """The file as one mono note at 16 kHz, cut or padded to 4 s."""
    import soundfile as sf
    import soxr

    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise DatasetError(f"cannot read '{path}': {exc}") from None
    mono = audio.mean(axis=1)
    if rate != SAMPLE_RATE and len(mono):
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="VHQ")
    note = np.zeros(AUDIO_LENGTH, np.float32)
    note[:min(len(mono), AUDIO_LENGTH)] = mono[:AUDIO_LENGTH]
    return note


def detect_pitch(note: np.ndarray, pitch_range: range,
                 sample_rate: int = SAMPLE_RATE) -> tuple[int, float] | None:
    """(MIDI pitch, median f0 in Hz) of a note by pYIN, or None if it has no clear pitch.

    Looks at up to DETECT_SECONDS from the onset (the first sample within 40 dB of
    the peak), searching a semitone beyond the pitch range either side; at least
    MIN_VOICED of the frames must be voiced with probability MIN_PROBABILITY.
    """
    import librosa

    peak = float(np.max(np.abs(note))) if len(note) else 0.0
    if peak < SILENT_PEAK:
        return None
    onset = int(np.argmax(np.abs(note) >= 0.01 * peak))
    segment = np.asarray(note[onset:onset + int(DETECT_SECONDS * sample_rate)], np.float32)
    frame = 2048
    if len(segment) < frame:
        segment = np.pad(segment, (0, frame - len(segment)))
    fmin = float(librosa.midi_to_hz(pitch_range[0] - 1))
    fmax = min(float(librosa.midi_to_hz(pitch_range[-1] + 1)), sample_rate / 2.5)
    f0, voiced, probability = librosa.pyin(segment, fmin=fmin, fmax=fmax, sr=sample_rate,
                                           frame_length=frame)
    # pYIN calls about half the frames of white noise voiced, but with a probability
    # near 0.01 (a clean tone: 0.98): count only the frames it is sure of
    good = voiced & (probability >= MIN_PROBABILITY) & np.isfinite(f0)
    if not good.any() or good.mean() < MIN_VOICED:
        return None
    hz = float(np.median(f0[good]))
    return int(round(float(librosa.hz_to_midi(hz)))), hz


def _cents(hz: float, pitch: int) -> float:
    return 1200.0 * float(np.log2(hz / (440.0 * 2.0 ** ((pitch - 69) / 12.0))))


def load_samples(root: Path, pitch_range: range, report: Report | None = None) -> NoteSet:
    """Every usable note under `root` (see the module docstring); `report` gets one line
    per audio file saying what was taken from it, or why it was skipped, then a summary."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"--samples folder '{root}' does not exist")
    say = report or (lambda line: None)
    span = f"{pitch_range[0]}..{pitch_range[-1]}"
    taken: list[tuple[str, int, np.ndarray, Path, str]] = []
    skipped = 0
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in _AUDIO_SUFFIXES or not path.is_file():
            continue
        shown = path.relative_to(root).as_posix()
        instrument, named, how = _label(path, root)
        if named is not None and named.pitch not in pitch_range:
            say(f"{shown}: skipped: MIDI {named.pitch} ({how}) is outside the model's "
                f"pitches {span}")
            skipped += 1
            continue
        note = _read_note(path)
        if float(np.max(np.abs(note))) < SILENT_PEAK:
            say(f"{shown}: skipped: silent")
            skipped += 1
            continue
        if named is not None:
            pitch = named.pitch
        else:
            found = detect_pitch(note, pitch_range)
            if found is None:
                say(f"{shown}: skipped: no pitch in the name and none detected (name it "
                    "like 'C4' or '60')")
                skipped += 1
                continue
            pitch, hz = found
            if pitch not in pitch_range:
                say(f"{shown}: skipped: detected MIDI {pitch} ({hz:.1f} Hz) is outside the "
                    f"model's pitches {span}")
                skipped += 1
                continue
            how = f"detected: {hz:.1f} Hz, {round(_cents(hz, pitch)):+d} cents"
        taken.append((instrument, pitch, note, path, how))
        say(f"{shown}: {instrument}, MIDI {pitch} ({how})")
    if not taken:
        raise DatasetError(f"no usable notes in '{root}' ({skipped} files skipped): use "
                           "files named with their pitch, e.g. DIR/<instrument>/C4.wav, "
                           "DIR/<instrument>_60.wav or NSynth names "
                           "<instrument>-<pitch>-<velocity>.wav, or clearly pitched notes, "
                           f"with pitches {span}")
    voices = sorted({t[0] for t in taken})
    index = {name: v for v, name in enumerate(voices)}
    taken.sort(key=lambda t: (index[t[0]], str(t[3])))
    notes, audible = normalise(np.stack([t[2] for t in taken]))
    full = NoteSet(waves=notes, pitches=np.array([t[1] for t in taken], np.int32),
                   voice=np.array([index[t[0]] for t in taken], np.int32),
                   voices=tuple(voices), programs=tuple(None for _ in voices),
                   sample_rate=SAMPLE_RATE)
    say(f"samples: {len(taken)} notes of {len(voices)} instrument(s) "
        f"({', '.join(voices)}); {skipped} file(s) skipped")
    return full.subset(audible)
