"""experiment.json numbers checked at the edge: hostile values are one ModelLoadError line.

Issue 15: `1e999` escaped as OverflowError (int(inf)), `NaN` as ValueError from
inside the generator's channel count, `num_resolutions: 5000` asked for a
spectrogram of 2**4999 bins, and deep nesting as RecursionError.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gansynth_live.errors import ModelLoadError
from gansynth_live.model.config import parse_config, read_config

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "gansynth-tiny" / "experiment.json"


@pytest.fixture
def model_dir(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "experiment.json")
    return tmp_path


def write_with(model_dir: Path, text: str) -> None:
    """The fixture's experiment.json with raw JSON text spliced in (1e999, NaN, ...)."""
    body = FIXTURE.read_text().rstrip().rstrip("}")
    (model_dir / "experiment.json").write_text(body + "," + text + "}")


def test_the_fixture_reads(model_dir):
    config = read_config(model_dir)
    assert config.spec_shape == (128, 1024) and config.latent_size == 256


@pytest.mark.parametrize("text,match", [
    ('"num_resolutions": 1e999', "num_resolutions"),
    ('"latent_vector_size": 1e999', "latent_vector_size"),
    ('"fmap_base": 1e999', "fmap_base"),
    ('"fmap_decay": NaN', "fmap_decay"),
    ('"mag_normalizer_a": NaN', "mag_normalizer_a"),
    ('"p_normalizer_b": -Infinity', "p_normalizer_b"),
    ('"mag_normalizer_a": 0', "divides"),
    ('"num_resolutions": 5000', "num_resolutions"),
    ('"start_width": 4096', "start_width"),
    ('"audio_length": 1' + "0" * 400, "audio_length"),
    ('"fmap_base": 1' + "0" * 400, "fmap_base"),
    ('"sample_rate": ' + "9" * 5000, "not readable JSON"),
    ('"batch_size_schedule": [8, 1e999]', "batch_size_schedule"),
    ('"batch_size_schedule": 8', "batch_size_schedule"),
    ('"eval_batch_size": NaN', "eval_batch_size"),
    ('"transition_stage_num_images": 0', "transition_stage_num_images"),
    ('"train_progressive": "false"', "train_progressive"),
    ('"kernel_size": 3.5', "kernel_size"),
    ('"pitch_min": -5', "pitch_min"),
    ('"scale_mode": ' + "[" * 30 + "]" * 30, "scale_mode"),
    ('"x": ' + "[" * 100000 + "]" * 100000, "nested too deeply"),
])
def test_hostile_numbers_are_one_line_errors(model_dir, text, match):
    write_with(model_dir, text)
    with pytest.raises(ModelLoadError, match=match) as info:
        read_config(model_dir)
    message = str(info.value)
    assert "experiment.json" in message and "\n" not in message and len(message) < 400


def test_whole_number_floats_still_count():
    raw = json.loads(FIXTURE.read_text())
    raw.update(num_resolutions=7.0, fmap_max=32.0, fmap_base=512)
    config = parse_config(raw, Path("experiment.json"))
    assert config.num_resolutions == 7 and isinstance(config.num_resolutions, int)
    assert config.fmap_base == 512.0 and isinstance(config.fmap_base, float)
