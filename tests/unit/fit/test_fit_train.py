"""`fit` end to end on a tiny set: a loadable model, a falling loss, seeds, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gansynth_live.errors import GansynthLiveError
from gansynth_live.fit.dataset import load_rendered
from gansynth_live.fit.instruments import read_instruments
from gansynth_live.fit.session import FitRequest, run_fit
from gansynth_live.model import load_model

TINY = dict(fmap_base=256, fmap_max=16, batch_size=6, learning_rate=3e-3, log_every=1,
            checkpoint_every=2, export_every=0, quiet=True, jit_compile=False)


@pytest.fixture(scope="module")
def samples_dir(tiny_rendered, tmp_path_factory) -> Path:
    """The tiny rendered set as a --samples folder (one subfolder per instrument)."""
    root = tmp_path_factory.mktemp("samples")
    notes = load_rendered(tiny_rendered)
    for wave, pitch, voice in zip(notes.waves, notes.pitches, notes.voice):
        folder = root / notes.voices[voice]
        folder.mkdir(exist_ok=True)
        sf.write(folder / f"note_{pitch}.wav", wave, 16000, subtype="FLOAT")
    return root


def _fit(samples_dir: Path, out: Path, steps: int, **kw) -> list[dict]:
    req = FitRequest(samples=samples_dir, out=out, steps=steps, **{**TINY, **kw})
    assert run_fit(req) == 0
    run_dir = req.run_dir or out.with_name(out.name + ".fit-run")
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def fitted(samples_dir, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("fit") / "model"
    return out, _fit(samples_dir, out, steps=30)


def test_fit_writes_a_model_the_loader_reads(fitted):
    out, _ = fitted
    model = load_model(out)
    assert model.pitch_range == range(24, 85)
    table = read_instruments(out, model.latent_size)
    assert sorted(table) == ["flute", "trumpet"]
    for _, latent in table.values():  # latents live where N(0, 1) draws live
        assert np.linalg.norm(latent) == pytest.approx(np.sqrt(model.latent_size), rel=1e-4)
    waves = model.generate(np.stack([table["flute"][1]] * 2), [60, 72])
    assert waves.shape == (2, 64000) and np.all(np.isfinite(waves))
    assert np.sqrt(np.mean(waves**2)) > 1e-4
    stage = next(out.glob("stage_*"))
    assert not list(stage.glob("*.tmp*"))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert size < 1_000_000  # EMA weights only, no raw weights or Adam slots


def test_loss_falls(fitted):
    _, rows = fitted
    losses = [r["total"] for r in rows if "total" in r]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_same_seed_same_run_other_seed_other_run(samples_dir, tmp_path, fitted):
    _, rows = fitted
    again = _fit(samples_dir, tmp_path / "a" / "model", steps=4)
    assert [r["total"] for r in again] == pytest.approx([r["total"] for r in rows[:4]],
                                                        rel=1e-5)
    other = _fit(samples_dir, tmp_path / "b" / "model", steps=4, seed=1)
    assert [r["total"] for r in other] != pytest.approx([r["total"] for r in rows[:4]],
                                                        rel=1e-3)


def test_resume_continues_where_it_stopped(samples_dir, tmp_path, fitted):
    _, rows = fitted
    out = tmp_path / "model"
    _fit(samples_dir, out, steps=4)
    with pytest.raises(GansynthLiveError, match="--resume"):
        _fit(samples_dir, out, steps=6)
    req = FitRequest(out=out, resume=True, steps=6, quiet=True, log_every=1,
                     checkpoint_every=2, export_every=0)
    assert run_fit(req) == 0
    resumed = [json.loads(x) for x in
               (tmp_path / "model.fit-run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]
    assert [r["total"] for r in resumed] == pytest.approx([r["total"] for r in rows[:6]],
                                                          rel=1e-4)
    assert load_model(out).info.path == out


def test_resume_can_change_the_if_weighting(samples_dir, tmp_path):
    """--if-low-hz on --resume is a new phase of the same run, recorded in run.json."""
    out = tmp_path / "model"
    _fit(samples_dir, out, steps=2, if_low_hz=0.0)
    run_dir = tmp_path / "model.fit-run"
    assert json.loads((run_dir / "run.json").read_text())["settings"]["if_low_hz"] == 0.0
    req = FitRequest(out=out, resume=True, steps=4, quiet=True, log_every=1,
                     checkpoint_every=2, export_every=0, if_low_hz=400.0)
    assert run_fit(req) == 0
    assert json.loads((run_dir / "run.json").read_text())["settings"]["if_low_hz"] == 400.0
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert rows[2]["if"] > rows[1]["if"]  # the same IF errors now weigh more
    with pytest.raises(GansynthLiveError, match="if-low-hz"):
        run_fit(FitRequest(out=out, resume=True, steps=5, quiet=True, if_low_hz=-1.0))


def test_a_run_from_before_if_low_hz_resumes_without_it():
    from gansynth_live.fit.settings import FitSettings

    old = FitSettings().to_json()
    del old["if_low_hz"]
    assert FitSettings.from_json(old).if_low_hz == 0.0
    assert FitSettings().if_low_hz == 1000.0  # new runs weigh low IF bins


def test_init_from_an_exported_model(samples_dir, tmp_path, fitted):
    out, _ = fitted
    rows = _fit(samples_dir, tmp_path / "warm" / "model", steps=2, init_from=out,
                fmap_base=1024, fmap_max=64)  # architecture comes from the model, not flags
    assert rows[0]["total"] < fitted[1][0]["total"]  # starts where the fitted model ended
    a = read_instruments(out)
    b = read_instruments(tmp_path / "warm" / "model")
    assert sorted(a) == sorted(b)
    # the warm model's fit.json carries the history it started from, not only its 2 steps
    first = json.loads((out / "fit.json").read_text())
    warm = json.loads((tmp_path / "warm" / "model" / "fit.json").read_text())
    assert warm["steps"] == 2 and first["steps"] == 30
    assert warm["init_fit"] == first and warm["data"]["init_from"] == str(out.resolve())


def test_fit_from_a_soundfont_renders_only_what_it_needs(soundfont, tmp_path):
    out = tmp_path / "sf" / "model"
    req = FitRequest(soundfont=soundfont, data_dir=tmp_path / "data", out=out, steps=2,
                     instruments=["flute", "trumpet"], **TINY)
    assert run_fit(req) == 0
    manifests = list((tmp_path / "data").glob("*/manifest.json"))
    assert len(manifests) == 1
    sets = json.loads(manifests[0].read_text())["sets"]
    assert sorted((s["name"], s["velocity"]) for s in sets) == [("flute", 100),
                                                                ("trumpet", 100)]
    assert sorted(read_instruments(out)) == ["flute", "trumpet"]
    with pytest.raises(GansynthLiveError, match="unknown instruments"):
        run_fit(FitRequest(soundfont=soundfont, data_dir=tmp_path / "data",
                           out=tmp_path / "x" / "model", instruments=["kazoo"], **TINY))


def test_the_onset_and_envelope_terms_are_settings_a_run_records(samples_dir, tmp_path):
    """--onset-weight and --envelope-weight train (the onset term through the decoder),
    are logged, and a run from before them resumes without them."""
    from gansynth_live.fit.settings import FitSettings

    out = tmp_path / "model"
    rows = _fit(samples_dir, out, steps=2, onset_weight=1.0, envelope_weight=1.0)
    run = json.loads((tmp_path / "model.fit-run" / "run.json").read_text())["settings"]
    assert run["weight_onset"] == 1.0 and run["weight_envelope"] == 1.0
    assert all(np.isfinite(r["onset"]) and r["onset"] > 0 for r in rows)
    old = FitSettings().to_json()
    del old["weight_onset"], old["weight_envelope"]
    assert FitSettings.from_json(old).weight_onset == 0.0
    with pytest.raises(GansynthLiveError, match="onset-weight"):
        run_fit(FitRequest(out=out, resume=True, steps=3, quiet=True, onset_weight=-1.0))
