"""The plots exist, are PNGs, and show something (not a blank canvas)."""

from __future__ import annotations

import numpy as np
import pytest

from gansynth_live.studio.plots import (CQT_BINS_PER_OCTAVE, cqt_db, plot_cqt, plot_cqt_grid,
                                        plot_piano_roll)
from gansynth_live.studio.score import ScoreNote
from gansynth_live.studio.timbre_path import Timbre, TimbrePath, TimbrePoint

RATE = 16000


def tone(midi_pitch: float, seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 440.0 * 2 ** ((midi_pitch - 69) / 12) * t)).astype(
        np.float32)


def assert_png_with_content(path):
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    pixels = matplotlib.image.imread(str(path))
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert float(np.std(pixels[..., :3])) > 0.05  # not a blank canvas


def test_cqt_puts_a_tone_at_its_pitch():
    power, frame_s = cqt_db(tone(60.0, 2.0), RATE)
    assert power.shape[0] == CQT_BINS_PER_OCTAVE * 5          # MIDI 36 up to 2 x f(84): 5 octaves
    assert frame_s == pytest.approx(512 / RATE)
    loudest_bin = int(np.argmax(power[:, power.shape[1] // 2]))
    assert 36 + loudest_bin / 3 == pytest.approx(60.0, abs=0.34)


def test_cqt_plot(tmp_path):
    audio = np.concatenate([tone(48), tone(60), tone(72)])
    path = plot_cqt(np.stack([audio, audio], axis=1), RATE, tmp_path / "sub" / "c.png", "title")
    assert_png_with_content(path)


def test_cqt_grid(tmp_path):
    path = plot_cqt_grid([tone(p) for p in (40, 50, 60, 70, 80)], RATE,
                         ["a", "b", "c", "d", "e"], tmp_path / "grid.png", columns=3)
    assert_png_with_content(path)
    with pytest.raises(ValueError):
        plot_cqt_grid([], RATE, [], tmp_path / "none.png")


def test_piano_roll_with_timbre_path(tmp_path):
    notes = [ScoreNote(0.5 * i, 0.5 * i + 0.4, 48 + 3 * i, 30 + 8 * i, 0, key_up_s=0.5 * i + 0.2)
             for i in range(12)]
    notes.append(ScoreNote(1.0, 2.0, 88, 100, 0, transposed_by=-12))
    path = TimbrePath([TimbrePoint(0.0, Timbre("a", np.ones(4))),
                       TimbrePoint(3.0, Timbre("b", -np.ones(4))),
                       TimbrePoint(3.0, Timbre("c", np.arange(4.0)))], "spherical")
    out = plot_piano_roll(notes, tmp_path / "roll.png", path, range(24, 85), "t.mid", 7.0)
    assert_png_with_content(out)
    plain = plot_piano_roll(notes[:3], tmp_path / "plain.png")
    assert_png_with_content(plain)
