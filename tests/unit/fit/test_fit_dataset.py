"""The FluidSynth renderer and the samples-folder reader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from gansynth_live.fit.dataset import AUDIO_LENGTH, PEAK, DatasetError, load_rendered
from gansynth_live.fit.quality import in_tune, pitch_error_cents
from gansynth_live.fit.samples import load_samples


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
