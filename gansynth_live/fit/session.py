"""One `fit` invocation: data, model, run folder, loop, export (the CLI's work, testable)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GansynthLiveError
from ..paths import cache_dir
from .dataset import DEFAULT_PITCHES, DEFAULT_VELOCITIES, RenderSettings, load_rendered, \
    render_dataset
from .notes import NoteSet
from .programs import GM_PROGRAMS, by_name
from .settings import FitSettings
from .trainer import FitError, FitModel, LoopHooks, RunInfo, compute_targets, latest_state, \
    load_state, model_config, train


@dataclass(frozen=True)
class FitRequest:
    soundfont: Path | None = None
    samples: Path | None = None
    out: Path | None = None
    run_dir: Path | None = None
    resume: bool = False
    init_from: Path | None = None
    steps: int = 20000
    instruments: list[str] | None = None
    velocities: list[int] | None = None
    data_dir: Path | None = None
    render_only: bool = False
    seed: int = 0
    batch_size: int = 8
    learning_rate: float | None = None
    if_low_hz: float | None = None
    envelope_weight: float | None = None
    onset_weight: float | None = None
    fmap_base: int = 1024
    fmap_max: int = 64
    checkpoint_every: int = 200
    export_every: int = 1000
    log_every: int = 20
    probe: bool = False
    jit_compile: bool = True
    quiet: bool = False


def _override(settings: FitSettings, req: FitRequest) -> FitSettings:
    """The settings a request may change on a new run and on --resume alike."""
    if req.learning_rate is not None:
        settings = replace(settings, learning_rate=req.learning_rate,
                           latent_learning_rate=2.0 * req.learning_rate)
    if req.if_low_hz is not None:
        settings = replace(settings, if_low_hz=req.if_low_hz)
    if req.envelope_weight is not None:
        settings = replace(settings, weight_envelope=req.envelope_weight)
    if req.onset_weight is not None:
        settings = replace(settings, weight_onset=req.onset_weight)
    return settings


def _run_dir(req: FitRequest) -> Path:
    if req.run_dir is not None:
        return Path(req.run_dir)
    if req.out is None:
        raise GansynthLiveError("pass --out MODELDIR (and optionally --run-dir)")
    out = Path(req.out)
    return out.with_name(out.name + ".fit-run")


def _render(data: dict[str, Any], quiet: bool) -> Path:
    """Render (or find cached) the requested programs and velocities; the set's folder."""
    if data.get("render_only"):  # the whole default set, unless narrowed down
        velocities = data["velocities"] or list(DEFAULT_VELOCITIES)
    else:
        velocities = data["velocities"]
    programs = GM_PROGRAMS
    if data["instruments"]:
        known = by_name()
        unknown = [n for n in data["instruments"] if n not in known]
        if unknown:
            raise GansynthLiveError(f"unknown instruments {unknown}; choose from "
                                    f"{', '.join(sorted(known))}")
        programs = tuple(known[n] for n in data["instruments"])
    render = RenderSettings(Path(data["soundfont"]), programs, DEFAULT_PITCHES,
                            tuple(velocities))
    return render_dataset(render, Path(data["data_dir"]),
                          progress=None if quiet else _render_progress)


def _load_notes(data: dict[str, Any], settings: FitSettings, quiet: bool) -> NoteSet:
    pitch_range = range(settings.pitch_min, settings.pitch_min + settings.num_pitches)
    if data["kind"] == "soundfont":
        return load_rendered(_render(data, quiet), velocities=data["velocities"],
                             names=data["instruments"], pitches=pitch_range)
    from .samples import load_samples

    notes = load_samples(Path(data["samples"]), pitch_range,
                         report=None if quiet else _say)
    if data["instruments"]:
        wanted = set(data["instruments"])
        missing = wanted - set(notes.voices)
        if missing:
            raise GansynthLiveError(f"instruments not found in --samples: {sorted(missing)}")
        notes = notes.subset(np.isin(np.array(notes.voices)[notes.voice], list(wanted)))
    return notes


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _render_progress(done: int, total: int, what: str) -> None:
    print(f"rendering notes {done}/{total}: {what}", file=sys.stderr, flush=True)


def _init_fit(init_from: Path) -> dict | None:
    """The fit.json of the model a run started from: the exported model's fit.json then
    holds its whole history (each `--init-from` nests the one before), not only its last
    run's steps. None when that model was not made by `fit` or its file cannot be read."""
    try:
        found = json.loads((init_from / "fit.json").read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _init_weights(init_from: Path, settings: FitSettings, voices: list[str]
                  ) -> tuple[FitSettings, dict[str, np.ndarray], np.ndarray]:
    from ..model.checkpoint import find_checkpoint, pitch_count, read_generator_weights
    from ..model.config import read_config
    from .instruments import read_instruments

    config = read_config(Path(init_from))
    weights = read_generator_weights(find_checkpoint(Path(init_from)), config)
    settings = replace(settings, latent_size=config.latent_size, fmap_base=int(config.fmap_base),
                       fmap_max=config.fmap_max, fmap_decay=config.fmap_decay,
                       pitch_min=config.pitch_min, num_pitches=pitch_count(weights, config))
    table = read_instruments(Path(init_from), config.latent_size)
    rng = np.random.default_rng([settings.seed, 2])
    latents = np.stack([table[v][1] if v in table else rng.standard_normal(config.latent_size)
                        for v in voices])
    return settings, weights, latents


def _cached_targets(notes: NoteSet, config, run_dir: Path, quiet: bool) -> np.ndarray:
    """The notes' mel + IF images, kept in the run folder so a resume skips the work.

    Keyed by a hash of the waves and the model config; read memory-mapped.
    """
    import hashlib

    digest = hashlib.sha256(json.dumps(config.to_json_dict(), sort_keys=True).encode())
    digest.update(np.ascontiguousarray(notes.waves).tobytes())
    digest.update(notes.pitches.tobytes())
    path = run_dir / f"targets-{digest.hexdigest()[:16]}.npy"
    if path.is_file():
        try:
            cached = np.load(path, mmap_mode="r", allow_pickle=False)
            if cached.shape[0] == len(notes) and cached.dtype == np.float16:
                return cached
        except (OSError, ValueError):
            pass  # damaged: compute again
    if not quiet:
        print(f"computing mel + IF targets of {len(notes)} notes", file=sys.stderr, flush=True)
    targets = compute_targets(notes, config)
    for old in run_dir.glob("targets-*.npy"):
        old.unlink()
    tmp = run_dir / f".{path.name}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, targets, allow_pickle=False)
    tmp.replace(path)
    return targets


def run_fit(req: FitRequest) -> int:
    if req.render_only:
        if req.soundfont is None:
            raise GansynthLiveError("--render-only needs --soundfont")
        data = {"soundfont": str(Path(req.soundfont).resolve()), "render_only": True,
                "data_dir": str(Path(req.data_dir or cache_dir() / "fit-data").resolve()),
                "velocities": list(req.velocities or []),
                "instruments": list(req.instruments) if req.instruments else None}
        folder = _render(data, req.quiet)
        if not req.quiet:
            print(f"notes rendered into {folder}")
        return 0
    if not req.resume and (req.soundfont is None) == (req.samples is None):
        raise GansynthLiveError("pass one of --soundfont FILE.sf2 or --samples DIR "
                                "(or --resume)")
    run_dir = _run_dir(req)
    if req.resume:
        info = RunInfo.read(run_dir)
        settings = info.settings
        changed = _override(settings, req)
        if changed != settings:
            settings = changed
            info.settings = settings
            info.write(run_dir)
        data = info.data
        out = Path(req.out) if req.out is not None else Path(data["out"])
    else:
        if (req.soundfont is None) == (req.samples is None):
            raise GansynthLiveError("pass one of --soundfont FILE.sf2 or --samples DIR "
                                    "(or --resume)")
        if req.out is None:
            raise GansynthLiveError("pass --out MODELDIR")
        if latest_state(run_dir) is not None:
            raise GansynthLiveError(f"'{run_dir}' already holds a fit; pass --resume to "
                                    "continue it or choose another --run-dir")
        settings = FitSettings(seed=req.seed, batch_size=req.batch_size,
                               fmap_base=req.fmap_base, fmap_max=req.fmap_max,
                               jit_compile=req.jit_compile)
        settings = _override(settings, req)
        data = {"kind": "soundfont" if req.soundfont is not None else "samples",
                "soundfont": str(Path(req.soundfont).resolve()) if req.soundfont else None,
                "samples": str(Path(req.samples).resolve()) if req.samples else None,
                "data_dir": str(Path(req.data_dir or cache_dir() / "fit-data").resolve()),
                "velocities": list(req.velocities or [100]),
                "instruments": list(req.instruments) if req.instruments else None,
                "out": str(Path(req.out).resolve())}
        out = Path(req.out)
    settings.check()

    notes = _load_notes(data, settings, req.quiet)
    if len(notes) == 0:
        raise FitError("no training notes")
    voices = list(notes.voices)
    programs = list(notes.programs)
    weights = latents = None
    if req.resume:
        if voices != info.voices:
            raise FitError(f"the training notes changed since the run began ({len(voices)} "
                           f"voices now, {len(info.voices)} in run.json)")
    elif req.init_from is not None:
        settings, weights, latents = _init_weights(req.init_from, settings, voices)
    config = model_config(settings)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not req.resume:
        init_from = Path(req.init_from).resolve() if req.init_from else None
        info = RunInfo(settings, {**data, "init_from": str(init_from) if init_from else None,
                                  # read once, at the start: a resumed run (maybe exporting
                                  # over that very folder) must not nest its own export
                                  "init_fit": _init_fit(init_from) if init_from else None},
                       voices, programs)
        info.write(run_dir)

    from tqdm import tqdm

    targets = _cached_targets(notes, config, run_dir, req.quiet)
    model = FitModel(settings, config, len(voices), weights=weights, latents=latents)
    state = latest_state(run_dir)
    if req.resume:
        if state is None:
            raise FitError(f"'{run_dir}' has no saved state to resume from")
        load_state(model, state)
    start = int(model.step.numpy())
    provenance = {"voices": len(voices), "notes": len(notes),
                  "data": {k: v for k, v in info.data.items() if k != "init_fit"},
                  "method": "GLO latent optimisation (see docs/models.md)"}
    if info.data.get("init_fit"):
        provenance["init_fit"] = info.data["init_fit"]

    exported = {"step": -1}

    def export(step: int) -> None:
        from .export import export_model

        if out is None or exported["step"] == step:
            return
        exported["step"] = step
        export_model(model, out, voices, programs, provenance)
        if req.probe:
            from .probe import probe_pitch

            row = {"step": step, **probe_pitch(out)}
            with open(run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")
            if not req.quiet:
                tqdm.write(f"step {step}: {row}")

    bar = tqdm(total=req.steps, initial=start, unit="step", desc="fit", disable=req.quiet,
               dynamic_ncols=True)

    def on_step(step: int, losses: dict[str, float]) -> None:
        bar.update(1)
        if step % 5 == 0:
            bar.set_postfix(loss=f"{losses['total']:.4f}", mag=f"{losses['mag']:.4f}",
                            lin=f"{losses['linear']:.3f}", IF=f"{losses['if']:.3f}",
                            env=f"{losses['envelope']:.4f}",
                            onset=f"{losses.get('onset', 0.0):.3f}",
                            loud_dB=f"{losses['loud_db']:.1f}", refresh=False)

    try:
        train(model, notes, targets, run_dir, req.steps, req.checkpoint_every,
              req.export_every, req.log_every, LoopHooks(on_step=on_step, on_export=export))
    finally:
        bar.close()
    if int(model.step.numpy()) > start or not (out and (out / "experiment.json").exists()):
        export(int(model.step.numpy()))
    if out is not None and not req.quiet:
        print(f"model written to {out} (step {int(model.step.numpy())}); "
              f"run state in {run_dir}")
    return 0
