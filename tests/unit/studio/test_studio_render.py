"""Rendering MIDI with the tiny fixture model: parity with magenta's latents, end to end."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from studio_midi_helpers import off, on, tempo, write_midi

from gansynth_live.cli import main
from gansynth_live.errors import GansynthLiveError
from gansynth_live.studio.instruments import path_from_specs
from gansynth_live.studio.notegen import generate_notes
from gansynth_live.studio.render import RenderSettings, plan_render, render_plan
from gansynth_live.studio.score import read_score


def magenta_slerp(p0, p1, t):
    omega = np.arccos(np.dot(np.squeeze(p0 / np.linalg.norm(p0)),
                             np.squeeze(p1 / np.linalg.norm(p1))))
    so = np.sin(omega)
    return np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1


def magenta_z_notes(start_times, z_instruments, t_instruments):
    """magenta 2.1.4 generate_util.get_z_notes, from its definition."""
    out = []
    for t in start_times:
        idx = np.searchsorted(t_instruments, t, side="left") - 1
        if idx.item() == t_instruments.size - 1:
            idx -= 1
        interp = (t - t_instruments[idx]) / (t_instruments[idx + 1] - t_instruments[idx])
        out.append(magenta_slerp(z_instruments[idx], z_instruments[idx + 1], interp))
    return np.vstack(out)


@pytest.fixture
def riff(tmp_path):
    """Format 1, a tempo change, overlapping notes, all pitches inside 36..84."""
    conductor = [tempo(100), tempo(150, time=4 * 480)]
    pitches = [48, 55, 60, 64, 67, 72, 60, 52, 84, 36]
    # each note starts 240 ticks after the previous one and lasts 360 ticks
    events = []
    for i, pitch in enumerate(pitches):
        events.append((i * 240, on(pitch, velocity=40 + 8 * i)))
        events.append((i * 240 + 360, off(pitch)))
    events.sort(key=lambda e: (e[0], e[1].type == "note_on"))
    track, last = [], 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    return write_midi(tmp_path / "riff.mid", [conductor, track])


def test_latents_per_note_match_magentas_interpolation(tiny_model, riff):
    score = read_score(riff)
    assert len(score.notes) == 10
    seeds, times = [11, 22, 33], [-0.0001, 1.2, score.duration_s]
    specs = [f"seed:{s}@{t!r}" for s, t in zip(seeds, times)]
    path = path_from_specs(specs, tiny_model.latent_size, score.duration_s, "spherical")
    plan = plan_render(score, path, tiny_model.pitch_range, "drop")
    assert plan.range_fit.dropped == 0
    # expected, from magenta's definitions: generate_z-style draws per instrument, onsets
    z_instruments = np.stack([np.random.RandomState(s).normal(size=[1, 256])[0] for s in seeds])
    onsets = np.array([n.start_s for n in score.notes])
    expected = magenta_z_notes(onsets, z_instruments, np.array(times))
    np.testing.assert_allclose(plan.latents, expected, rtol=0, atol=1e-12)
    assert plan.source_pitches.tolist() == [n.pitch for n in score.notes]
    # and each note is the model's note for exactly that latent and pitch
    generated = generate_notes(tiny_model, plan.latents, plan.source_pitches)
    reference = tiny_model.generate(expected, [n.pitch for n in score.notes])
    np.testing.assert_allclose(generated.waves[generated.index], reference, atol=1e-6)


def test_render_end_to_end(tiny_model, riff):
    score = read_score(riff)
    path = path_from_specs(["seed:1@0", "seed:2@2"], 256, score.duration_s)
    plan = plan_render(score, path, tiny_model.pitch_range)
    result = render_plan(tiny_model, plan, RenderSettings(sample_rate=22050, peak_db=-3.0))
    audio = result.audio
    assert audio.dtype == np.float32 and audio.shape[1] == 2
    assert np.all(np.isfinite(audio))
    assert np.max(np.abs(audio)) == pytest.approx(10 ** (-3 / 20), rel=1e-4)
    last_end = max(n.end_s for n in score.notes)
    assert len(audio) == pytest.approx((last_end + 0.3) * 22050, abs=2)
    first_onset = int(score.notes[1].start_s * 22050)
    assert np.max(np.abs(audio[:first_onset])) > 0  # the first note sounds from the start
    assert result.distinct_notes == 10


def test_one_instrument_generates_each_pitch_once(tiny_model, tmp_path):
    notes = [on(60), off(60, 240), on(60), off(60, 240), on(67), off(67, 240), on(60),
             off(60, 240)]
    score = read_score(write_midi(tmp_path / "rep.mid", [notes]))
    path = path_from_specs(["seed:4"], 256, score.duration_s)
    generated = generate_notes(tiny_model, *_plan_arrays(plan_render(score, path,
                                                                      tiny_model.pitch_range)))
    assert len(generated.waves) == 2 and generated.index.tolist() == [0, 0, 1, 0]


def _plan_arrays(plan):
    return plan.latents, plan.source_pitches


def test_out_of_range_notes_are_resampled_or_moved(tiny_model, tmp_path):
    notes = [on(96), off(96, 480), on(12), off(12, 480)]
    score = read_score(write_midi(tmp_path / "far.mid", [notes]))
    path = path_from_specs(["seed:4"], 256, score.duration_s)
    kept = plan_render(score, path, tiny_model.pitch_range, "resample")
    assert [n.pitch for n in kept.notes] == [96, 12]
    assert kept.source_pitches.tolist() == [84, 24]
    result = render_plan(tiny_model, kept, RenderSettings())
    assert np.max(np.abs(result.audio)) > 0
    moved = plan_render(score, path, tiny_model.pitch_range, "octave")
    assert [n.pitch for n in moved.notes] == [84, 24]
    assert plan_render(score, path, tiny_model.pitch_range, "drop").notes == ()


def test_absurdly_long_renders_are_refused(tiny_model, tmp_path):
    notes = [tempo(4), on(60), off(60, 480 * 300)]  # 300 beats at 4 bpm: 75 minutes
    score = read_score(write_midi(tmp_path / "long.mid", [notes]))
    plan = plan_render(score, path_from_specs(["seed:1"], 256, 1.0), tiny_model.pitch_range)
    with pytest.raises(GansynthLiveError, match="minutes"):
        render_plan(tiny_model, plan)


def test_render_command(tiny_model_dir, riff, tmp_path, capsys):
    out = tmp_path / "out" / "riff.wav"
    code = main(["render", str(riff), "--model", str(tiny_model_dir), "--instrument",
                 "seed:1@0", "--instrument", "seed:2@1:00", "--slerp", "--sample-rate", "48000",
                 "--out", str(out), "--plot", "--quiet"])
    assert code == 0
    audio, rate = sf.read(out)
    assert rate == 48000 and audio.shape[1] == 2 and np.max(np.abs(audio)) < 1.0
    for suffix in (".cqt.png", ".roll.png"):
        png = out.with_suffix("").with_name("riff" + suffix)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "10 notes" in capsys.readouterr().out


def test_render_command_errors(tiny_model_dir, tmp_path, capsys):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x20\x00\x90")
    assert main(["render", str(bad), "--model", str(tiny_model_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "broken.mid" in err and "not a valid MIDI file" in err and "Traceback" not in err
    empty = write_midi(tmp_path / "empty.mid", [[tempo(120)]])
    assert main(["render", str(empty), "--model", str(tiny_model_dir), "--quiet"]) == 2
    assert "no notes" in capsys.readouterr().err
    good = write_midi(tmp_path / "g.mid", [[on(60), off(60, 480)]])
    assert main(["render", str(good), "--model", str(tiny_model_dir), "--instrument",
                 "seed:1@0", "--instrument", "seed:2", "--quiet"]) == 2
    assert "every --instrument" in capsys.readouterr().err
