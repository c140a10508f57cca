"""The latent prior: blends of fitted instruments for the default model, N(0, 1) for magenta's."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gansynth_live.fit.instruments import read_instruments
from gansynth_live.model.prior import (NORMAL, PRIOR_FILE, PriorError, fitted_radius,
                                       read_prior)
from gansynth_live.model.registry import resolve_model


def test_default_model_records_a_blend_prior():
    path = resolve_model(None)
    raw = json.loads((path / PRIOR_FILE).read_text(encoding="utf-8"))
    assert raw["prior"] == "blend"
    prior = read_prior(path, 256)
    assert not prior.is_normal and len(prior.names) >= 10
    table = read_instruments(path)
    assert prior.radius == pytest.approx(fitted_radius([z for _, z in table.values()]))
    assert "blends of" in prior.describe()


def test_blend_draws_are_deterministic_per_seed_and_on_the_fitted_sphere():
    path = resolve_model(None)
    prior = read_prior(path, 256)
    a = prior.draw(6, 256, seed=1234)
    assert a.shape == (6, 256) and a.dtype == np.float64
    np.testing.assert_array_equal(a, prior.draw(6, 256, seed=1234))
    np.testing.assert_array_equal(a[:3], prior.draw(3, 256, seed=1234))  # prefix, as N(0, 1)
    assert not np.array_equal(a, prior.draw(6, 256, seed=1235))
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), prior.radius)
    # each draw sits near its fitted instruments, unlike an N(0, 1) draw
    pool = prior.latents / np.linalg.norm(prior.latents, axis=1, keepdims=True)
    near = (a / prior.radius) @ pool.T
    gauss = np.random.RandomState(0).normal(size=(6, 256))
    far = (gauss / np.linalg.norm(gauss, axis=1, keepdims=True)) @ pool.T
    assert near.max(axis=1).min() > 0.6 > 0.3 > far.max()


def test_default_model_random_latents_use_the_prior():
    from gansynth_live.model import load_model

    path = resolve_model(None)
    model = load_model(path)
    assert not model.prior.is_normal
    np.testing.assert_array_equal(model.random_latents(4, seed=7),
                                  read_prior(path, 256).draw(4, 256, seed=7))
    assert not np.allclose(model.random_latents(4, seed=7),
                           np.random.RandomState(7).normal(size=(4, 256)))


def test_magenta_model_keeps_normal(tiny_model, tiny_model_dir):
    assert read_prior(tiny_model_dir) is NORMAL
    assert tiny_model.prior.is_normal
    np.testing.assert_array_equal(tiny_model.random_latents(3, seed=5),
                                  np.random.RandomState(5).normal(size=(3, 256)))


def _folder(tmp_path, prior: dict | str, names=("a", "b", "c")):
    rng = np.random.RandomState(0)
    (tmp_path / "instruments.json").write_text(json.dumps(
        {n: {"program": None, "latent": list(rng.normal(size=4))} for n in names}))
    (tmp_path / PRIOR_FILE).write_text(prior if isinstance(prior, str) else json.dumps(prior))
    return tmp_path


def test_prior_file_variants(tmp_path):
    assert read_prior(_folder(tmp_path, {"prior": "normal"})).is_normal
    p = read_prior(_folder(tmp_path, {"prior": "blend", "instruments": ["a", "c"],
                                      "mix": [1, 1], "noise": 0.0}), 4)
    z = p.draw(5, 4, seed=1)
    table = read_instruments(tmp_path)
    pool = [table["a"][1], table["c"][1]]
    assert all(any(np.allclose(row, q) for q in pool) for row in z)  # mix 1: an instrument


@pytest.mark.parametrize("bad", [
    "not json", '["blend"]', {"prior": "gamma"}, {"prior": "blend", "instruments": ["zz"]},
    {"prior": "blend", "mix": [3, 2]}, {"prior": "blend", "mix": [1, 9]},
    {"prior": "blend", "alpha": -1}, {"prior": "blend", "noise": "x"},
    {"prior": "blend", "extra": 1}, {"prior": "blend", "instruments": 3}])
def test_malformed_prior_files_are_refused(tmp_path, bad):
    with pytest.raises(PriorError):
        read_prior(_folder(tmp_path, bad), 4)


def test_blend_prior_refuses_a_model_of_another_latent_size(tmp_path):
    with pytest.raises(PriorError):
        read_prior(_folder(tmp_path, {"prior": "blend"}), 8)


def test_sample_help_shows_the_prior(tiny_model_dir, capsys):
    from gansynth_live.cli import build_parser
    from gansynth_live.model.prior import describe_prior_file

    assert describe_prior_file(tiny_model_dir) == NORMAL.describe()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "prior of the default model: blends of 2-3 of the pitched fitted instruments" in text


def test_fit_export_writes_the_prior_the_default_model_ships(tmp_path):
    from gansynth_live.fit.instruments import prior_json

    path = resolve_model(None)
    latents = np.stack([z for _, z in read_instruments(path).values()])
    assert json.loads(prior_json(latents)) == json.loads((path / PRIOR_FILE).read_text())
    folder = _folder(tmp_path, prior_json(np.ones((3, 4))).decode())
    prior = read_prior(folder, 4)  # "pitched": no data_in_tune recorded counts as in tune
    assert prior.names == ("a", "b", "c") and prior.radius == 2.0
