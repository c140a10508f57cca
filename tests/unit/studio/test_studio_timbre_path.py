"""The timbre path against magenta's get_z_notes, written out here from its definition."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gansynth_live.presets import Preset, save_preset
from gansynth_live.studio.instruments import (InstrumentError, parse_spec, path_from_specs,
                                              random_path, read_audition_latents, seed_latent)
from gansynth_live.studio.timbre_path import (Timbre, TimbreError, TimbrePath, TimbrePoint,
                                         slerp)


# --- magenta 2.1.4, generate_util.py, restated from its definition -------------------------
def magenta_slerp(p0, p1, t):
    omega = np.arccos(np.dot(np.squeeze(p0 / np.linalg.norm(p0)),
                             np.squeeze(p1 / np.linalg.norm(p1))))
    so = np.sin(omega)
    return np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1


def magenta_get_z_notes(start_times, z_instruments, t_instruments, mix=magenta_slerp):
    z_notes = []
    for t in start_times:
        idx = np.searchsorted(t_instruments, t, side="left") - 1
        if idx.item() == t_instruments.size - 1:
            idx -= 1
        t_left, t_right = t_instruments[idx], t_instruments[idx + 1]
        interp = (t - t_left) / (t_right - t_left)
        z_notes.append(mix(z_instruments[idx], z_instruments[idx + 1], interp))
    return np.vstack(z_notes)


def magenta_lerp(p0, p1, t):
    return (1.0 - t) * p0 + t * p1
# ------------------------------------------------------------------------------------------


def path_of(latents, times, interpolation="linear"):
    return TimbrePath([TimbrePoint(t, Timbre(f"i{i}", z))
                       for i, (t, z) in enumerate(zip(times, latents))], interpolation)


@pytest.fixture
def instruments():
    rng = np.random.RandomState(3)
    return rng.normal(size=[4, 256]), np.array([-0.0001, 2.0, 5.5, 9.0])


def onsets_inside(t_instruments):
    rng = np.random.RandomState(8)
    inside = rng.uniform(t_instruments[0] + 1e-3, t_instruments[-1], 40)
    return np.concatenate([inside, t_instruments[1:]])  # instrument times themselves too


def test_spherical_matches_magenta_get_z_notes(instruments):
    z, t = instruments
    onsets = onsets_inside(t)
    got = path_of(z, t, "spherical").latents_at(onsets)
    expected = magenta_get_z_notes(onsets, z, t)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_linear_uses_magentas_rule_with_a_straight_line(instruments):
    z, t = instruments
    onsets = onsets_inside(t)
    got = path_of(z, t, "linear").latents_at(onsets)
    expected = magenta_get_z_notes(onsets, z, t, mix=magenta_lerp)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert not np.allclose(got, magenta_get_z_notes(onsets, z, t))  # the two modes differ


def test_outside_the_span_holds_the_end_instruments(instruments):
    z, t = instruments
    path = path_of(z, t)
    got = path.latents_at([-5.0, t[0], 9.0, 9.5, 100.0])
    np.testing.assert_array_equal(got, z[[0, 0, 3, 3, 3]])


def test_same_instrument_twice_holds_it_without_nan():
    z = np.random.RandomState(1).normal(size=256)
    with np.errstate(all="ignore"):
        broken = magenta_slerp(z, z, 0.5)  # magenta: 0/0 when the latents are parallel
    assert not np.all(np.isfinite(broken)) or not np.allclose(broken, z)
    path = path_of([z, z, 2 * z], [0.0, 4.0, 8.0], "spherical")
    got = path.latents_at([1.0, 3.0, 6.0])
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got[:2], [z, z])
    np.testing.assert_allclose(got[2], 1.5 * z)  # parallel: linear fallback
    np.testing.assert_allclose(slerp(z, -z, 0.25), 0.5 * z)


def test_equal_times_switch_instantly():
    z = np.eye(3)
    path = path_of(z, [0.0, 5.0, 5.0])
    got = path.latents_at([2.5, 5.0, 5.0001])
    np.testing.assert_allclose(got, [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_one_instrument_and_weights(instruments):
    z, t = instruments
    single = path_of(z[:1], [3.0])
    np.testing.assert_array_equal(single.latents_at([0.0, 10.0]), z[[0, 0]])
    weights = path_of(z, t).weights_at(np.linspace(-1, 10, 50))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert np.all(weights >= 0)


def test_unsorted_points_and_bad_paths():
    z = np.eye(4)[:2]
    path = path_of(z, [5.0, 0.0])
    np.testing.assert_allclose(path.latents_at([0.0]), z[[1]])
    with pytest.raises(TimbreError):
        TimbrePath([])
    with pytest.raises(TimbreError):
        path_of(z, [0.0, 1.0], "cubic")
    with pytest.raises(TimbreError):
        TimbrePath([TimbrePoint(0, Timbre("a", np.ones(3))),
                    TimbrePoint(1, Timbre("b", np.ones(4)))])
    with pytest.raises(TimbreError):
        Timbre("nan", np.array([0.0, np.nan]))


def test_random_path_is_magentas_get_random_instruments():
    path = random_path(256, total_time_s=20.0, secs_per_instrument=6.0, seed=11)
    n = int(20.0 / 6.0)
    np.testing.assert_array_equal(path.times, np.linspace(-0.0001, 20.0, n))
    np.testing.assert_array_equal(path.latents, np.random.RandomState(11).normal(size=[n, 256]))
    assert len(random_path(256, 3.0, 6.0, seed=1).times) == 2  # magenta would fail with 0


def test_parse_specs():
    spec = parse_spec("audition:some/dir:with:colons:3@1:02.5")
    assert (spec.kind, spec.value, spec.time_s) == ("audition", "some/dir:with:colons:3", 62.5)
    assert parse_spec("seed:7").time_s is None
    assert parse_spec("piano@4").kind == "preset"
    with pytest.raises(InstrumentError):
        parse_spec("seed:1@soon")
    with pytest.raises(InstrumentError):
        parse_spec("@3")


def test_specs_resolve_to_latents(tmp_path):
    presets = tmp_path / "presets"
    latent = tuple(float(v) for v in np.linspace(-1, 1, 256))
    save_preset(Preset(name="lead", latent=latent, gain_db=-6.0), presets)
    save_preset(Preset(name="seeded", seed=99), presets)
    save_preset(Preset(name="morph", corners=("lead", "seeded")), presets)
    audition = tmp_path / "aud"
    audition.mkdir()
    stored = np.random.RandomState(0).normal(size=[3, 256])
    np.save(audition / "latents.npy", stored)
    warnings: list[str] = []
    path = path_from_specs(["lead@0", "seed:5@2", f"audition:{audition}:2@4", "seeded@6"],
                           256, 10.0, preset_dir=presets, warnings=warnings)
    np.testing.assert_array_equal(path.latents[0], latent)
    np.testing.assert_array_equal(path.latents[1], np.random.RandomState(5).normal(size=256))
    np.testing.assert_array_equal(path.latents[1], seed_latent(5, 256))
    np.testing.assert_array_equal(path.latents[2], stored[2])
    np.testing.assert_array_equal(path.latents[3], seed_latent(99, 256))
    assert path.gains_db_at([0.0, 1.0]).tolist() == [-6.0, -3.0]
    untimed = path_from_specs(["seed:1", "seed:2", "seed:3"], 256, 10.0)
    np.testing.assert_allclose(untimed.times, [-0.0001, 4.99995, 10.0])
    for bad, message in [(["seed:1@0", "seed:2"], "every"), (["seed:x"], "integer"),
                         ([f"audition:{audition}:3"], "0..2"), (["morph"], "morph"),
                         (["nothere"], "no preset"), ([f"audition:{tmp_path}:0"], "latents.npy"),
                         (["../evil"], "not allowed")]:
        with pytest.raises(Exception, match=message):
            path_from_specs(bad, 256, 10.0, preset_dir=presets)


def test_audition_latents_are_validated(tmp_path):
    np.save(tmp_path / "latents.npy", np.array([[1.0, np.inf]]))
    with pytest.raises(InstrumentError, match="finite"):
        read_audition_latents(tmp_path)
    with open(tmp_path / "latents.npy", "wb") as fh:  # an object-dtype .npy, written by hand
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|O", "fortran_order": False, "shape": (2,)})
        fh.write(b"\x80\x04not-a-real-payload.")
    with pytest.raises(InstrumentError):
        read_audition_latents(tmp_path)  # object arrays need pickle: refused
    (tmp_path / "audition.json").write_text(json.dumps({}))
    np.save(tmp_path / "latents.npy", np.zeros((2, 8)))
    with pytest.raises(InstrumentError, match="256"):
        read_audition_latents(tmp_path, 256)
