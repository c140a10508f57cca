"""Audition with the tiny model: files, seeds, presets, and using the result in render."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from gansynth_live.cli import main
from gansynth_live.presets import PresetError, find_preset
from gansynth_live.studio.audition import run_audition, save_audition_presets
from gansynth_live.studio.instruments import path_from_specs, seed_latent


def test_audition_writes_everything(tiny_model, tmp_path):
    out = tmp_path / "aud"
    result = run_audition(tiny_model, out, count=3, pitch=48, seed=40, gap_s=0.25,
                          model_name="tiny")
    assert result.seeds == (40, 41, 42)
    np.testing.assert_array_equal(result.latents[1], seed_latent(41, 256))
    np.testing.assert_allclose(result.waves, tiny_model.generate(result.latents, [48] * 3),
                               atol=1e-6)
    combined, rate = sf.read(out / "audition.wav")
    assert rate == 16000
    assert len(combined) == 3 * 64000 + 2 * 4000
    assert np.max(np.abs(combined)) == pytest.approx(10 ** (-1 / 20), abs=1e-4)
    gain = 10 ** (result.gain_db / 20)
    for i, path in enumerate(result.wav_paths):
        one, _ = sf.read(path)
        np.testing.assert_allclose(one, result.waves[i] * gain, atol=1e-5)  # one shared gain
        np.testing.assert_allclose(combined[i * 68000:i * 68000 + 64000], one, atol=1e-5)
    info = json.loads((out / "audition.json").read_text())
    assert info["pitch"] == 48 and [x["seed"] for x in info["instruments"]] == [40, 41, 42]
    assert (out / "audition.png").read_bytes()[:4] == b"\x89PNG"

    presets = tmp_path / "presets"
    paths = save_audition_presets(result, "found", presets, "tiny")
    assert [p.name for p in paths] == ["found-00.json", "found-01.json", "found-02.json"]
    with pytest.raises(PresetError, match="exists"):
        save_audition_presets(result, "found", presets, "tiny")
    preset = find_preset("found-02", presets)
    np.testing.assert_array_equal(preset.latent_vector(256), result.latents[2])
    path = path_from_specs(["found-02@0", f"audition:{out}:1@1", "seed:40@2"], 256, 3.0,
                           preset_dir=presets, model_name="tiny")
    np.testing.assert_array_equal(path.latents, result.latents[[2, 1, 0]])


def test_audition_command(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "a"
    code = main(["audition", "--model", str(tiny_model_dir), "--count", "2", "--seed", "5",
                 "--out", str(out), "--save-presets", "--no-plot", "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "seed:5" in text and "seed:6" in text
    assert (tmp_path / "data" / "presets" / "audition-5-01.json").is_file()
    assert not (out / "audition.png").exists()
    assert main(["audition", "--model", str(tiny_model_dir), "--pitch", "100", "--out",
                 str(out), "--quiet"]) == 2
    assert "outside the model's range" in capsys.readouterr().err
