"""`gansynth-live preset save/list/show`: what the files hold, and errors that say why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gansynth_live.cli import main
from gansynth_live.presets import find_preset


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_save_seed_list_show(capsys, data_dir):
    assert main(["preset", "save", "warm pad", "--seed", "7", "--attack", "0.2",
                 "--release", "1.5", "--gain-db", "-3", "--description", "soft"]) == 0
    saved = find_preset("warm pad")
    assert saved.seed == 7 and saved.latent is None and saved.envelope.attack_s == 0.2
    assert saved.gain_db == -3.0 and (data_dir / "presets" / "warm pad.json").exists()
    assert main(["preset", "list"]) == 0
    assert "warm pad" in capsys.readouterr().out
    assert main(["preset", "show", "warm pad"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 7


def test_seed_index_stores_that_draw(tiny_model_dir):
    # the latent size comes from the model's experiment.json; the draw is magenta's
    # (GanSynth.random_latents, whose equality with this is tested in test_presets.py)
    assert main(["preset", "save", "third", "--seed", "3", "--index", "2",
                 "--model", str(tiny_model_dir)]) == 0
    np.testing.assert_allclose(find_preset("third").latent_vector(256),
                               np.random.RandomState(3).normal(size=[3, 256])[2])


def test_latent_from_npy_and_json(tmp_path):
    z = np.linspace(-1, 1, 256)
    np.save(tmp_path / "z.npy", np.stack([z, -z]))
    (tmp_path / "z.json").write_text(json.dumps({"latent": list(z)}))
    assert main(["preset", "save", "a", "--latent-from", str(tmp_path / "z.npy"),
                 "--index", "1"]) == 0
    np.testing.assert_allclose(find_preset("a").latent_vector(256), -z)
    assert main(["preset", "save", "b", "--latent-from", str(tmp_path / "z.json")]) == 0
    np.testing.assert_allclose(find_preset("b").latent_vector(256), z)


def test_a_fitted_instrument_of_the_default_model(capsys):
    """Every instrument the model knows can become a preset, library or not."""
    from gansynth_live.fit.instruments import read_instruments
    from gansynth_live.model.registry import resolve_model

    table = read_instruments(resolve_model(None))
    assert main(["preset", "list", "--instruments"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in table)
    assert "drawbar_organ" in listed and "in tune by pYIN" in listed  # its data fails pYIN
    assert main(["preset", "save", "keys", "--instrument", "celesta"]) == 0
    np.testing.assert_allclose(find_preset("keys").latent_vector(256), table["celesta"][1],
                               rtol=1e-6)
    assert main(["preset", "save", "x", "--instrument", "kazoo"]) == 2
    assert "no instrument 'kazoo'" in capsys.readouterr().err


def test_morph_setup_and_overwrite(capsys):
    main(["preset", "save", "a", "--seed", "1"])
    main(["preset", "save", "b", "--seed", "2"])
    assert main(["preset", "save", "duo", "--corners", "a, b", "--resolution", "5"]) == 0
    assert find_preset("duo").corners == ("a", "b")
    assert main(["preset", "save", "duo", "--seed", "4"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["preset", "save", "duo", "--seed", "4", "--force"]) == 0
    assert find_preset("duo").seed == 4


@pytest.mark.parametrize("argv,match", [
    (["preset", "save", "../up", "--seed", "1"], "not allowed"),
    (["preset", "save", "x", "--seed", "-1"], "seed"),
    (["preset", "save", "x", "--seed", "1", "--attack", "0"], "attack_s"),
    (["preset", "save", "x", "--corners", "a"], "2 to 4"),
    (["preset", "save", "x", "--latent-from", "/nonexistent.npy"], "cannot read"),
    (["preset", "show", "nope"], "no preset named"),
])
def test_errors_are_one_line(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_object_npy_is_refused(tmp_path, capsys):
    # an .npy whose header declares Python objects (its payload would be a pickle)
    with open(tmp_path / "obj.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        fh.write(b"\x80\x04N.")
    assert main(["preset", "save", "x", "--latent-from", str(tmp_path / "obj.npy")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_malformed_user_preset_is_listed_with_its_error(data_dir, capsys):
    folder = data_dir / "presets"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text("{nope")
    assert main(["preset", "list"]) == 0
    out = capsys.readouterr().out
    assert "broken" in out and "malformed JSON" in out
