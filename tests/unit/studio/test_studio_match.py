"""Finding a latent from a recorded note, with the tiny model."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from gansynth_live.cli import main
from gansynth_live.console import is_chatter
from gansynth_live.presets import find_preset
from gansynth_live.studio.instruments import seed_latent
from gansynth_live.studio.match import (MatchError, MatchSettings, SpectralDistance, descend,
                                        estimate_pitch, gradient_function, load_target,
                                        match_note)

RATE = 16000


def test_distance_is_zero_for_itself_level_blind_and_grows_with_difference():
    rng = np.random.RandomState(0)
    t = np.arange(RATE) / RATE
    a = np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t)
    distance = SpectralDistance(a.astype(np.float32))
    square = np.sign(np.sin(2 * np.pi * 220 * t)) * np.exp(-3 * t)
    hiss = a + 0.003 * rng.normal(size=RATE)  # noise 40 dB under the note
    got = distance(np.stack([a, 4 * a, hiss, square]).astype(np.float32)).numpy()
    assert got[0] == pytest.approx(0.0, abs=1e-5)
    assert got[1] == pytest.approx(0.0, abs=1e-3)   # level does not count
    assert 0.01 < got[2] < got[3]                   # a little hiss is closer than a new timbre


def test_load_target_aligns_resamples_and_refuses_junk(tmp_path):
    t = np.arange(int(1.5 * 44100)) / 44100
    note = 0.3 * np.sin(2 * np.pi * 440 * t)
    audio = np.concatenate([np.zeros(22050), note])
    sf.write(tmp_path / "n.wav", np.stack([audio, audio], 1), 44100)
    target = load_target(tmp_path / "n.wav", RATE, 64000)
    assert len(target) == pytest.approx(1.5 * RATE, abs=60)  # leading silence removed
    assert np.max(np.abs(target[:100])) < 0.3
    assert estimate_pitch(target, RATE, range(24, 85)) == 69
    sf.write(tmp_path / "silent.wav", np.zeros(RATE), RATE)
    sf.write(tmp_path / "short.wav", 0.1 * np.ones(800), RATE)
    (tmp_path / "junk.wav").write_bytes(b"RIFF....not audio")
    for name, message in [("silent.wav", "silent"), ("short.wav", "at least"),
                          ("junk.wav", "cannot read"), ("missing.wav", "cannot read")]:
        with pytest.raises(MatchError, match=message):
            load_target(tmp_path / name, RATE, 64000)


def test_random_search_finds_a_candidate_equal_to_the_target(tiny_model):
    target = tiny_model.generate(seed_latent(7, 256)[None], [60])[0]
    result = match_note(tiny_model, target, 60, MatchSettings(candidates=6, steps=0, seed=4))
    assert result.best_seed == 7                      # seeds 4..9 include the target's
    assert result.distance_search == pytest.approx(0.0, abs=1e-4)
    assert np.argmin(result.search_distances) == 3
    np.testing.assert_allclose(result.latent, seed_latent(7, 256))
    assert result.search_distances.max() > 0.5


def test_gradient_descent_improves_and_keeps_the_norm(tiny_model):
    truth = seed_latent(1000, 256)
    target = tiny_model.generate(truth[None], [60])[0]
    start = np.sqrt(1 - 0.3 ** 2) * truth + 0.3 * np.random.RandomState(5).normal(size=256)
    distance = SpectralDistance(target)
    latent, best, history = descend(tiny_model, distance, start, 60, steps=8,
                                    learning_rate=0.01)
    assert len(history) == 9 and np.all(np.isfinite(history))
    assert best < history[0] - 0.05                    # descent moved towards the target
    assert np.linalg.norm(latent) == pytest.approx(np.linalg.norm(start), rel=1e-5)
    assert best == pytest.approx(float(distance(tiny_model.generate(latent[None], [60]))[0]),
                                 abs=2e-3)


def test_match_command(tiny_model, tiny_model_dir, tmp_path, capsys):
    target = tiny_model.generate(seed_latent(3, 256)[None], [55])[0]
    sf.write(tmp_path / "rec.wav", 0.5 * target / np.max(np.abs(target)), RATE)
    presets = tmp_path / "presets"
    code = main(["match", str(tmp_path / "rec.wav"), "--pitch", "55", "--model",
                 str(tiny_model_dir), "--candidates", "3", "--steps", "2", "--preset-dir",
                 str(presets), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "best random" in text and "after 2 descent steps" in text
    preset = find_preset("match-rec", presets)
    assert len(preset.latent) == 256
    matched, rate = sf.read(tmp_path / "rec.match.wav")
    ab, _ = sf.read(tmp_path / "rec.ab.wav")
    assert rate == RATE and len(matched) == 64000 and len(ab) == 64000 + 8000 + 64000
    assert np.max(np.abs(ab)) <= 0.8913
    assert main(["match", str(tmp_path / "rec.wav"), "--pitch", "55", "--model",
                 str(tiny_model_dir), "--preset-dir", str(presets), "--quiet"]) == 2
    assert "exists" in capsys.readouterr().err


def test_the_descent_gradient_survives_grappler_s_remapper_failure(tiny_model):
    """Compiled, the gradient graph makes grappler log "remapper failed: ... LeakyReluGrad"
    (issue 22). The gradient descend uses is the same with the remapper turned off, close
    to the eager one (no grappler at all), and matches finite differences."""
    import tensorflow as tf

    target = tiny_model.generate(seed_latent(7, 256)[None], [60])[0]
    distance = SpectralDistance(target)
    start = seed_latent(2, 256)
    z = tf.Variable(start.astype(np.float32)[None, :])
    loss, grad = (t.numpy().astype(np.float64)
                  for t in tf.function(gradient_function(tiny_model, distance, 60, z))())
    eager = gradient_function(tiny_model, distance, 60, z)()[1].numpy().astype(np.float64)
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        plain = tf.function(gradient_function(tiny_model, distance, 60, z))()[1].numpy()
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before.get("remapping",
                                                                               True)})
    size = np.linalg.norm(grad)
    assert size > 0 and np.all(np.isfinite(grad))
    assert np.linalg.norm(grad - plain) <= 1e-6 * size
    assert np.linalg.norm(grad - eager) <= 1e-2 * size
    # central differences along the gradient's direction (float32 loss: h = 3e-4)
    direction, h = grad[0] / size, 3e-4
    ends = []
    for sign in (1, -1):
        z.assign((start + sign * h * direction).astype(np.float32)[None, :])
        ends.append(float(tf.function(gradient_function(tiny_model, distance, 60, z))()[0]))
    assert (ends[0] - ends[1]) / (2 * h) == pytest.approx(size, rel=0.05)


def test_match_prints_no_tensorflow_errors(tiny_model_dir, tmp_path):
    """`match` used to print grappler's "remapper failed" error line (issue 22)."""
    t = np.arange(int(0.6 * RATE)) / RATE
    sf.write(tmp_path / "note.wav", 0.3 * np.sin(2 * np.pi * 261.63 * t) * np.exp(-3 * t), RATE)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(GANSYNTH_LIVE_DATA_DIR=str(tmp_path / "data"),
               GANSYNTH_LIVE_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, "-m", "gansynth_live", "match", str(tmp_path / "note.wav"),
         "--model", str(tiny_model_dir), "--candidates", "4", "--steps", "2", "--quiet",
         "--preset-dir", str(tmp_path / "presets")],
        capture_output=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert b"after 2 descent steps" in result.stdout
    assert b"remapper" not in result.stderr and b"LeakyRelu" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if is_chatter(line)]
    assert result.stderr == b"", result.stderr[-2000:]
    assert (tmp_path / "note.match.wav").is_file()


@pytest.mark.shipped_presets
def test_match_starts_from_the_default_model_s_instruments(tmp_path, capsys):
    """A note rendered from a fitted instrument of the default model: `match` finds that
    instrument among its three nearest candidates and says so."""
    from gansynth_live.fit.instruments import read_instruments
    from gansynth_live.model import load_model
    from gansynth_live.model.registry import resolve_model
    from gansynth_live.studio.match import named_candidates

    path = resolve_model(None)
    model = load_model(path)
    table = read_instruments(path)
    named = named_candidates(model, "default")
    labels = [label for label, _ in named]
    assert len(labels) == len(set(labels)) >= len(table)
    assert [x for x in labels if x.startswith("instrument ")] == [f"instrument {n}" for n in table]
    # the shipped presets of the default model are its instruments' latents: not repeated
    assert not any(x.startswith("preset ") for x in labels)
    note = model.generate(table["cello"][1][None], [55])[0][:int(2.5 * RATE)]
    note = note + 0.01 * np.max(np.abs(note)) * np.random.RandomState(0).normal(size=len(note))
    result = match_note(model, note.astype(np.float32), 55,
                        MatchSettings(candidates=4, steps=0), named=named)
    top3 = [label for label, _ in result.named[:3]]
    assert "instrument cello" in top3
    assert result.start == result.nearest == top3[0]
    assert result.distance_search == pytest.approx(result.named[0][1])
    sf.write(tmp_path / "cello.wav", 0.5 * note / np.max(np.abs(note)), RATE)
    assert main(["match", str(tmp_path / "cello.wav"), "--pitch", "55", "--candidates", "2",
                 "--steps", "0", "--preset-dir", str(tmp_path / "presets"), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"nearest of the model's {len(named)} instruments: instrument " in text
    assert "start instrument " in text
