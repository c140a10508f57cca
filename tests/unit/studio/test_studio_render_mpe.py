"""render --corners/--mpe (issue 19): MPE and polyphonic aftertouch files on serve's morph pad.

The tone model (tests/tone_model.py) makes a pure fundamental for one corner
preset ('fund') and a pure second harmonic for the other ('oct'), so a
note's own place on the pad shows as the balance of its two partials.
"""

from __future__ import annotations

import numpy as np
import pytest
from studio_midi_helpers import bend, cc, off, on, polytouch, write_midi
from tone_model import ToneModel, band_energy, peak_hz, write_tone_presets

from gansynth_live.cli import main
from gansynth_live.events import SetExpression, SetLayers
from gansynth_live.inputs.midi import MpeZone
from gansynth_live.presets import Envelope
from gansynth_live.studio.capture import capture
from gansynth_live.studio.note_paths import note_paths
from gansynth_live.studio.pad import (build_grid, expression_warning, pad_settings,
                                      resolve_corners)
from gansynth_live.studio.plots import PadPaths, plot_piano_roll
from gansynth_live.studio.render import RenderSettings, render_pad
from gansynth_live.studio.score import ScoreNote, read_messages, read_score

RATE = 16000
SECOND = 960  # ticks: 480 per beat at the default 120 bpm
SETTINGS = RenderSettings(sample_rate=RATE, envelope=Envelope(0.01, 0.2, 1.0, 0.1))
C4, A3 = 60, 57
BEND_OCTAVE_UP = 2048  # +12 semitones of the MPE member channels' +-48


def hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def centroid(audio: np.ndarray, f0_hz: float) -> float:
    """Spectral centroid of one tone-model note, in multiples of its fundamental (1..2)."""
    first, second = band_energy(audio, f0_hz, RATE), band_energy(audio, 2 * f0_hz, RATE)
    return (first + 2.0 * second) / (first + second)


def window(audio: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return audio[int(start_s * RATE):int(end_s * RATE)]


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presets")
    write_tone_presets(folder)
    return folder


@pytest.fixture(scope="module")
def model():
    return ToneModel()


def play(model, presets, path, **flags):
    """render_pad as `render PATH --corners ... [--mpe ...]` runs it."""
    pad = pad_settings(flags)
    anchors = resolve_corners(pad.corners, model.latent_size, model.prior, presets)
    skip_drums = not pad.mpe
    score = read_score(path, skip_drums=skip_drums)
    return score, render_pad(model, score, read_messages(path), anchors, pad, SETTINGS,
                             skip_drums=skip_drums)


def mpe_chord(folder, configuration_message: bool):
    """C4 on member channel 2 slid to the top, A3 on channel 3 slid to the bottom and bent
    up an octave; C4 lasts 1 s, A3 2 s. The zone comes from --mpe or from the file's RPN 6."""
    setup = [cc(101, 0), cc(100, 6), cc(6, 15)] if configuration_message else []
    track = setup + [cc(74, 127, channel=1), on(C4, channel=1),
                     cc(74, 0, channel=2), bend(BEND_OCTAVE_UP, channel=2), on(A3, channel=2),
                     off(C4, SECOND, channel=1), off(A3, SECOND, channel=2)]
    return write_midi(folder / f"chord-{configuration_message}.mid", [track])


@pytest.fixture(scope="module")
def chord(model, presets, tmp_path_factory):
    path = mpe_chord(tmp_path_factory.mktemp("mpe"), configuration_message=False)
    return play(model, presets, path, corners="fund,fund,oct,oct", mpe="lower", resolution="2")


@pytest.mark.parametrize("configuration_message, resolution",
                         [(False, "2"), (True, "2"), (False, "3")],
                         ids=["--mpe", "rpn-6", "--mpe-on-a-grid-point"])
def test_mpe_chord_notes_sound_at_their_own_timbre_and_the_bend_lands(
        model, presets, tmp_path, configuration_message, resolution):
    path = mpe_chord(tmp_path, configuration_message)
    flags = {} if configuration_message else {"mpe": "lower"}
    _, result = play(model, presets, path, corners="fund,fund,oct,oct", resolution=resolution,
                     **flags)
    both = window(result.audio, 0.2, 0.9)
    slid_up = centroid(both, hz(C4))  # CC74 127: y 0.75, toward the 'oct' corners
    slid_down = centroid(both, hz(A3 + 12))  # CC74 0: y 0.25, toward 'fund'
    if resolution == "2":  # one cell: y 0.75 is 3/4 'oct'
        assert slid_up > 1.8 and slid_down < 1.2
    else:  # the pad on the grid's centre point (the tone model plays it as 'fund'): each
        # note glides half way to its own row of grid points, up to 'oct' or down to 'fund'
        assert slid_up > 1.4 and slid_down < 1.1
    alone = window(result.audio, 1.3, 1.9)  # C4 and its release are over
    assert abs(1200 * np.log2(peak_hz(alone, RATE) / hz(A3 + 12))) < 5  # cents
    assert band_energy(alone, hz(A3), RATE) < 1e-6 * band_energy(alone, hz(A3 + 12), RATE)
    assert result.warning is None


def test_each_notes_path_is_drawn_from_its_own_expression(chord, tmp_path):
    score, result = chord
    by_pitch = {note.pitch: p for note, p in zip(score.notes, result.paths)}
    assert by_pitch[C4].y.tolist() == [0.75] and by_pitch[A3].y.tolist() == [0.25]
    assert all(p.expressive for p in result.paths)
    paths = PadPaths(("fund", "fund", "oct", "oct"), result.capture.pad, tuple(result.paths))
    roll = plot_piano_roll(score.notes, tmp_path / "roll.png", None, range(57, 73),
                           duration_s=score.duration_s, pad=paths)
    assert roll.stat().st_size > 10_000


def test_poly_aftertouch_moves_one_key_only(model, presets, tmp_path):
    track = [on(C4), on(64), polytouch(C4, 127, SECOND // 10), off(C4, SECOND), off(64)]
    path = write_midi(tmp_path / "aftertouch.mid", [track])
    score, result = play(model, presets, path, corners="fund,oct", resolution="2")  # pressure: x
    both = window(result.audio, 0.3, 0.9)
    assert centroid(both, hz(C4)) > 1.8  # x 0.75: mostly 'oct'
    assert centroid(both, hz(64)) == pytest.approx(1.5, abs=0.03)  # x 0.5: half and half
    by_pitch = {note.pitch: p for note, p in zip(score.notes, result.paths)}
    assert by_pitch[C4].x.tolist() == [0.5, 0.75] and by_pitch[C4].times_s[1] == \
        pytest.approx(0.1)
    assert by_pitch[64].x.tolist() == [0.5] and not by_pitch[64].expressive


def test_the_translator_records_pad_moves_and_expression_as_timed_events():
    messages = [(0.0, on(C4, channel=1)), (0.5, cc(1, 127)), (0.7, cc(74, 0, channel=1)),
                (0.8, polytouch(64, 127, channel=1)), (1.0, off(C4, channel=1))]
    recorded = capture(messages, lambda x, y: ("layers at", x, y), (0.5, 0.5),
                       (MpeZone.parse("lower:3"),))
    assert recorded.pad == ((0.0, 0.5, 0.5), (0.5, 1.0, 0.5))
    assert (0.5, SetLayers(("layers at", 1.0, 0.5))) in recorded.events
    assert (0.7, SetExpression(1, None, 0.0, -0.25)) in recorded.events
    note = ScoreNote(0.0, 1.0, C4, 100, 1)
    [path] = note_paths([note], recorded.events, recorded.pad)
    # the pad moves it at 0.5 s, its slide at 0.7 s; another key's aftertouch does not
    assert path.times_s.tolist() == [0.0, 0.5, 0.7]
    assert path.x.tolist() == [0.5, 1.0, 1.0] and path.y.tolist() == [0.5, 0.5, 0.25]


def test_a_channels_slide_before_the_note_counts_a_keys_aftertouch_before_it_does_not():
    events = [(0.0, SetExpression(2, None, 0.0, 0.25)), (0.1, SetExpression(3, 60, 0.25, 0.0))]
    notes = [ScoreNote(0.5, 1.0, 60, 100, 2), ScoreNote(0.5, 1.0, 60, 100, 3)]
    slid, touched = note_paths(notes, events, [(0.0, 0.5, 0.5)])
    assert (slid.x.tolist(), slid.y.tolist()) == ([0.5], [0.75])
    assert (touched.x.tolist(), touched.y.tolist(), touched.expressive) == ([0.5], [0.5], False)


def test_pad_defaults_let_expression_move_notes_even_on_a_grid_point(model, presets):
    pad = pad_settings({"corners": "fund,fund,oct,oct", "mpe": "lower"})
    assert pad.zones == (MpeZone(0, 15),) and pad.position == (0.5, 0.5)
    assert pad.resolution == 3  # serve's
    anchors = resolve_corners(pad.corners, model.latent_size, model.prior, presets)
    grid = build_grid(model, anchors, 3, [C4], RATE)  # 0.5,0.5 is a grid point of 3x3
    assert expression_warning(grid, 0.5, 0.5) is None
    layers = grid.layers_at(0.5, 0.5)
    assert len(layers.corners) == 9 and sum(w > 0 for w in layers.weights) == 1
    line = build_grid(model, anchors[:2], 2, [C4], RATE)
    assert "no y" in expression_warning(line, 0.5, 0.5)
    assert expression_warning(line, 0.5, 0.5, slide=False) is None


def test_render_command_plays_an_mpe_file_on_the_pad(tiny_model_dir, tmp_path, capsys):
    path = mpe_chord(tmp_path, configuration_message=False)
    out = tmp_path / "chord.wav"
    assert main(["render", str(path), "--model", str(tiny_model_dir), "--mpe", "--corners",
                 "seed:1,seed:2,seed:3,seed:4", "--plot", "--quiet", "--out", str(out)]) == 0
    assert out.is_file() and (tmp_path / "chord.roll.png").is_file()
    assert "2 with timbre of their own" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--corners", "seed:1"], "2 to 4 corners"),
    (["--mpe"], "needs --corners"),
    (["--corners", "seed:1,seed:2", "--mpe", "sideways"], "lower[:N] and/or upper[:N]"),
    (["--corners", "seed:1,seed:2", "--instrument", "seed:3"], "not with --corners"),
    (["--corners", "seed:1,seed:x"], "corner 'seed:x': seed:N needs a whole number"),
    (["--corners", "nope,seed:1"], "no preset named 'nope'"),
])
def test_bad_pad_flags_are_one_line_errors(tiny_model_dir, tmp_path, capsys, flags, message):
    path = mpe_chord(tmp_path, configuration_message=False)
    assert main(["render", str(path), "--model", str(tiny_model_dir), "--quiet", "--out",
                 str(tmp_path / "x.wav"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "x.wav").exists()


def test_the_expression_mapping_flags_reach_the_translator(model, presets, tmp_path):
    pad = pad_settings({"corners": "fund,oct", "expression_slide": "x",
                        "expression_depth": "0.5", "expression_curve": "linear"})
    assert (pad.expression.slide_axis, pad.expression.depth) == ("x", 0.5)
    track = [cc(74, 127, channel=1), on(C4, channel=1), off(C4, SECOND, channel=1)]
    path = write_midi(tmp_path / "slide-x.mid", [track])
    _, result = play(model, presets, path, corners="fund,oct", mpe="lower", resolution="2",
                     expression_slide="x", expression_depth="0.5")
    # slide +1 at depth 0.5 on x: the pad's 0.5 + 0.5 = all 'oct'
    assert centroid(window(result.audio, 0.2, 0.9), hz(C4)) > 1.95
    with pytest.raises(Exception, match="expression"):
        pad_settings({"corners": "fund,oct", "expression_slide": "z"})
