"""Loading: other architectures, and clear errors for everything a user can get wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from float32 import NETWORK_MAX_ULPS, SPECGRAM_MEAN_ULPS, assert_within_ulps

from gansynth_live.cli import main
from gansynth_live.errors import ModelLoadError
from gansynth_live.model import PitchError, load_model
from gansynth_live.model.config import parse_config
from gansynth_live.model.export import write_model_dir
from gansynth_live.model.generator import Generator


def small_config(**overrides):
    raw = {"fmap_base": 256, "fmap_max": 16, "fmap_decay": 1.0, "latent_vector_size": 8,
           "num_resolutions": 4, "start_height": 2, "start_width": 16,
           "batch_size_schedule": [4], "audio_length": 1024, "sample_rate": 16000,
           "stable_stage_num_images": 10, "transition_stage_num_images": 10}
    raw.update(overrides)
    return parse_config(raw, Path("test.json"))


@pytest.mark.parametrize("overrides,pitches", [
    ({}, 61),
    ({"fmap_base": 1024, "fmap_max": 24, "fmap_decay": 0.5}, 61),
    ({"latent_vector_size": 16, "pitch_min": 36}, 12),
])
def test_round_trip_other_architectures(tmp_path, overrides, pitches):
    config = small_config(**overrides)
    gen = Generator(config, pitches, config.num_resolutions, float(config.num_resolutions - 1),
                    seed=1)
    ema = gen.numpy_weights()
    raw = {k: v + 1.0 for k, v in ema.items()}
    write_model_dir(tmp_path / "m", config, ema, raw)
    model = load_model(tmp_path / "m")
    assert model.config == config
    assert len(model.pitch_range) == pitches and model.pitch_range[0] == config.pitch_min
    z = model.random_latents(3, seed=0)
    p = [model.pitch_range[0], model.pitch_range[-1], model.pitch_range[1]]
    waves = model.generate(z, p)
    assert waves.shape == (3, config.audio_length)
    assert np.all(np.isfinite(waves)) and np.max(np.abs(waves)) > 0
    expect = model.codec.denormalize(gen(z.astype(np.float32),
                                         np.eye(pitches, dtype=np.float32)[
                                             np.array(p) - config.pitch_min])).numpy()
    assert_within_ulps(model.generate_specgrams(z, p), expect, NETWORK_MAX_ULPS,
                       SPECGRAM_MEAN_ULPS)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "nope")


def test_no_stage_folder(tmp_path):
    (tmp_path / "experiment.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="no stage_"):
        load_model(tmp_path)


@pytest.fixture
def tiny_copy(tmp_path, tiny_model_dir):
    dest = tmp_path / "tiny"
    shutil.copytree(tiny_model_dir, dest)
    return dest


def test_no_experiment_json(tiny_copy):
    (tiny_copy / "experiment.json").unlink()
    with pytest.raises(ModelLoadError, match="no experiment.json"):
        load_model(tiny_copy)


def test_bad_json(tiny_copy):
    (tiny_copy / "experiment.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not readable JSON"):
        load_model(tiny_copy)


def test_no_checkpoint_in_stage(tiny_copy):
    for f in (tiny_copy / "stage_00012").glob("model.ckpt-*"):
        f.unlink()
    with pytest.raises(ModelLoadError, match="no model.ckpt"):
        load_model(tiny_copy)


def test_truncated_checkpoint(tiny_copy):
    data = next((tiny_copy / "stage_00012").glob("*.data-*"))
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="truncated|cannot read"):
        load_model(tiny_copy)


def test_garbage_index(tiny_copy):
    index = next((tiny_copy / "stage_00012").glob("*.index"))
    index.write_bytes(b"this is not a tensor bundle" * 10)
    with pytest.raises(ModelLoadError, match="cannot read checkpoint"):
        load_model(tiny_copy)


def test_foreign_checkpoint(tmp_path, tiny_model_dir):
    from gansynth_live.model.export import write_checkpoint

    shutil.copy(tiny_model_dir / "experiment.json", tmp_path / "experiment.json")
    (tmp_path / "stage_00012").mkdir()
    write_checkpoint(tmp_path / "stage_00012" / "model.ckpt-5", {"dense/kernel": np.ones(3)})
    with pytest.raises(ModelLoadError, match="not a GANSynth"):
        load_model(tmp_path)


def test_channel_mismatch(tiny_copy):
    cfg = json.loads((tiny_copy / "experiment.json").read_text())
    cfg["fmap_max"] = 64
    (tiny_copy / "experiment.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="has shape"):
        load_model(tiny_copy)


@pytest.mark.parametrize("key,value,match", [
    ("data_type", "linear", "data_type"),
    ("g_fn", "wavegan", "g_fn"),
    ("scale_mode", "H", "scale_mode"),
    ("latent_vector_size", "many", "wrong type"),
])
def test_unsupported_config(tiny_copy, key, value, match):
    cfg = json.loads((tiny_copy / "experiment.json").read_text())
    cfg[key] = value
    (tiny_copy / "experiment.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=match):
        load_model(tiny_copy)


def test_ignores_checkpoint_file_absolute_path(tiny_copy):
    # The fixture's `checkpoint` names /tmp/gansynth/...; make it name garbage too.
    (tiny_copy / "stage_00012" / "checkpoint").write_text('model_checkpoint_path: "/x/y"\n')
    assert load_model(tiny_copy).info.step == 11000000


def test_bad_pitches_and_latents(tiny_model):
    with pytest.raises(PitchError, match="outside"):
        tiny_model.generate(tiny_model.random_latents(1), [90])
    with pytest.raises(PitchError):
        tiny_model.generate(tiny_model.random_latents(1), [60.5])
    with pytest.raises(ValueError, match="shape"):
        tiny_model.generate(np.zeros((1, 3)), [60])
    with pytest.raises(ValueError, match="NaN"):
        tiny_model.generate(np.full((1, 256), np.nan), [60])


def test_cli_sample_writes_wavs(tmp_path, tiny_model_dir, tiny_model):
    import soundfile as sf

    rc = main(["sample", "--model", str(tiny_model_dir), "--count", "2", "--pitch", "48",
               "--seed", "7", "--out", str(tmp_path)])
    assert rc == 0
    files = sorted(tmp_path.glob("*.wav"))
    assert len(files) == 2
    audio, rate = sf.read(files[0], dtype="float32")
    assert rate == 16000 and audio.shape == (64000,)
    expected = tiny_model.generate(tiny_model.random_latents(2, seed=7), [48, 48])
    np.testing.assert_allclose(audio, expected[0], atol=1e-6)


def test_cli_user_error_is_one_line(tmp_path, capsys):
    rc = main(["sample", "--model", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
