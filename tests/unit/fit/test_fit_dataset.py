"""The FluidSynth renderer and the samples-folder reader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from gansynth_live.fit.dataset import AUDIO_LENGTH, PEAK, DatasetError, load_rendered
from gansynth_live.fit.quality import in_tune, pitch_error_cents
from gansynth_live.fit.samples import load_samples, pitch_from_name


def test_rendered_set_is_pitched_normalised_notes(tiny_rendered):
    manifest = json.loads((tiny_rendered / "manifest.json").read_text())
    assert {s["name"] for s in manifest["sets"]} == {"flute", "trumpet"}
    notes = load_rendered(tiny_rendered)
    assert notes.waves.shape == (6, AUDIO_LENGTH)
    assert notes.voices == ("trumpet", "flute")  # ordered by GM program (56, 73)
    np.testing.assert_allclose(np.abs(notes.waves).max(axis=1), PEAK, rtol=1e-3)
    # The note starts at the window start and is over (released 3 s) by its end.
    onset_rms = np.sqrt((notes.waves[:, :1600] ** 2).mean(axis=1))
    tail_rms = np.sqrt((notes.waves[:, -1600:] ** 2).mean(axis=1))
    assert np.all(onset_rms > 1e-3)
    assert np.all(tail_rms < 0.05 * np.sqrt((notes.waves ** 2).mean(axis=1)))
    cents = [pitch_error_cents(w, p, 16000) for w, p in zip(notes.waves, notes.pitches)]
    assert in_tune(cents).all(), cents


def test_rendering_again_reuses_the_cache(tiny_rendered, soundfont):
    from gansynth_live.fit.dataset import RenderSettings, render_dataset
    from gansynth_live.fit.programs import by_name

    before = {p.name: p.stat().st_mtime_ns for p in tiny_rendered.glob("*.npy")}
    progs = by_name()
    settings = RenderSettings(soundfont, (progs["flute"], progs["trumpet"]), (48, 60, 72),
                              (100,))
    assert render_dataset(settings, tiny_rendered.parent) == tiny_rendered
    assert {p.name: p.stat().st_mtime_ns for p in tiny_rendered.glob("*.npy")} == before


def test_filters_select_voices_and_pitches(tiny_rendered):
    notes = load_rendered(tiny_rendered, names=["flute"], pitches=[60, 72])
    assert notes.voices == ("flute",)
    assert sorted(notes.pitches.tolist()) == [60, 72]
    with pytest.raises(DatasetError, match="not in the rendered set"):
        load_rendered(tiny_rendered, names=["kazoo"])


def test_samples_folder_layouts(tmp_path):
    t = np.arange(44100) / 44100.0
    (tmp_path / "bell").mkdir()
    sf.write(tmp_path / "bell" / "bell_c4_60.wav", 0.1 * np.sin(2 * np.pi * 261.6 * t), 44100)
    sf.write(tmp_path / "bell" / "62.wav", 0.1 * np.sin(2 * np.pi * 293.7 * t), 44100)
    sf.write(tmp_path / "reed_synthetic_001-064-100.wav",
             np.stack([0.2 * np.sin(2 * np.pi * 329.6 * t)] * 2, axis=1), 44100)
    sf.write(tmp_path / "bell" / "silent_65.wav", np.zeros(1000), 16000)
    sf.write(tmp_path / "bell" / "too_high_120.wav", 0.1 * np.ones(1000), 16000)
    notes = load_samples(tmp_path, range(24, 85))
    assert notes.voices == ("bell", "reed_synthetic_001")
    assert sorted(notes.pitches.tolist()) == [60, 62, 64]  # silent and out-of-range dropped
    assert notes.waves.shape[1] == AUDIO_LENGTH
    np.testing.assert_allclose(np.abs(notes.waves).max(axis=1), PEAK, rtol=1e-3)


def test_samples_folder_without_notes_is_a_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no audio")
    with pytest.raises(DatasetError, match="no usable notes"):
        load_samples(tmp_path, range(24, 85))
    with pytest.raises(DatasetError, match="does not exist"):
        load_samples(tmp_path / "nope", range(24, 85))


def _tone(pitch: int, seconds: float = 2.0, rate: int = 44100, harmonics: int = 4) -> np.ndarray:
    """A harmonic tone at a MIDI pitch (1/k partials), with a 5 ms fade in and out."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1))
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)
    return 0.2 * wave * fade


@pytest.mark.parametrize("stem, pitch", [
    ("vibes_60", 60), ("Piano C4", 60), ("vibes-A#3", 58), ("Db3", 49), ("db3", 49),
    ("Bb-1", 10), ("C-1", 0), ("G9", 127), ("bell_c4_60", 60), ("060", 60), ("note60", 60),
    ("cello_A3_1_fortissimo", 57), ("Piano.ff.E\u266d2", 39), ("harp F#5 soft", 78),
    ("bell", None), ("take A", None), ("rr", None),
])
def test_pitch_from_file_names(stem, pitch):
    found = pitch_from_name(stem)
    assert (found.pitch if found else None) == pitch


def test_samples_named_with_separators_and_note_names_or_detected(tmp_path):
    """Issue 22: vibes_60.wav, Piano C4.wav and vibes-A#3.wav were skipped; names with no
    pitch are detected; every file is reported, taken or skipped."""
    rate = 44100
    files = {"vibes_60.wav": 60, "vibes-A#3.wav": 58, "Piano C4.wav": 60,
             "strings/Db3.wav": 49, "strings/cello_Eb2_ff_rr2.wav": 39,
             "bell.wav": 67, "strings/long note.wav": 45}
    for name, pitch in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        sf.write(tmp_path / name, _tone(pitch, rate=rate), rate)
    sf.write(tmp_path / "noise.wav", 0.2 * np.random.default_rng(0).standard_normal(rate), rate)
    sf.write(tmp_path / "strings" / "hiss.wav",
             0.2 * np.random.default_rng(1).standard_normal(rate), rate)
    lines: list[str] = []
    notes = load_samples(tmp_path, range(24, 85), report=lines.append)
    assert notes.voices == ("Piano", "bell", "strings", "vibes")
    got = sorted((notes.voices[v], int(p)) for v, p in zip(notes.voice, notes.pitches))
    assert got == [("Piano", 60), ("bell", 67), ("strings", 39), ("strings", 45),
                   ("strings", 49), ("vibes", 58), ("vibes", 60)]
    report = "\n".join(lines)
    for name in [*files, "noise.wav", "strings/hiss.wav"]:
        assert sum(line.startswith(f"{name}: ") for line in lines) == 1, (name, report)
    assert "vibes_60.wav: vibes, MIDI 60 (from the name)" in lines
    assert "vibes-A#3.wav: vibes, MIDI 58 (A#3 in the name)" in lines
    assert any(line.startswith("bell.wav: bell, MIDI 67 (detected: 392.") for line in lines)
    assert any(line.startswith("strings/long note.wav: strings, MIDI 45 (detected: 110.")
               for line in lines), report
    assert "noise.wav: skipped: no pitch in the name and none detected" in report
    assert "strings/hiss.wav: skipped: no pitch in the name and none detected" in report
    assert lines[-1].startswith("samples: 7 notes of 4 instrument(s)") and "2 file(s) skipped" \
        in lines[-1]


def test_samples_report_out_of_range_and_silent_files(tmp_path):
    (tmp_path / "bell").mkdir()
    sf.write(tmp_path / "bell" / "C4.wav", _tone(60), 44100)
    sf.write(tmp_path / "bell" / "C9.wav", _tone(60), 44100)
    sf.write(tmp_path / "bell" / "quiet.wav", np.zeros(4000), 16000)
    lines: list[str] = []
    notes = load_samples(tmp_path, range(24, 85), report=lines.append)
    assert notes.pitches.tolist() == [60]
    assert "bell/C9.wav: skipped: MIDI 120 (C9 in the name) is outside the model's pitches " \
        "24..84" in lines
    assert "bell/quiet.wav: skipped: silent" in lines
