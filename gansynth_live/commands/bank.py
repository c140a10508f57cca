"""Build (or load from the cache) the note bank of one latent, with a progress bar;
`bank build` makes many (a preset library, seeds, a morph grid), here or on a cluster."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import GansynthLiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .bank_build import add_arguments as add_build_arguments

    parser.add_argument("action", nargs="?", choices=["build"], default=None,
                        help="'build': many banks at once, here or on a generate server "
                             "(--presets, --seeds, --grid, --cluster; below)")
    parser.add_argument("--model", default=None,
                        help="model folder or name (default: the model shipped with the package)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    parser.add_argument("--index", type=int, default=0,
                        help="which latent of the seed's draw (as 'sample --seed S' numbers "
                             "its instruments; default 0)")
    parser.add_argument("--rate", type=int, default=48000, help="output sample rate (Hz)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="cache folder (default: the platform's user cache folder)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="largest generator batch (default: the model's)")
    parser.add_argument("--preview", type=Path, default=None,
                        help="also write WAVs of held notes into this folder")
    parser.add_argument("--preview-pitches", default="36,48,60,72,84,96",
                        help="comma-separated MIDI pitches to preview")
    parser.add_argument("--hold", type=float, default=6.0,
                        help="seconds each preview key is held (default 6)")
    add_build_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.action == "build":
        from .bank_build import run_build

        return run_build(args)
    from tqdm import tqdm

    from ..banks.builder import BuildSettings
    from ..banks.cache import BankCache, bank_folder
    from ..banks.source import ModelSource, StampMemo
    from ..banks.service import BankService
    from ..model.registry import resolve_model

    if args.index < 0:
        raise GansynthLiveError("--index must be 0 or more")
    try:
        settings = BuildSettings(sample_rate=args.rate)
    except ValueError as exc:
        raise GansynthLiveError(f"--rate: {exc}") from None
    try:
        pitches = [int(p) for p in args.preview_pitches.split(",") if p.strip()]
    except ValueError:
        raise GansynthLiveError("--preview-pitches must be comma-separated MIDI numbers") from None
    if any(not 0 <= p <= 127 for p in pitches):
        raise GansynthLiveError("--preview-pitches must be MIDI numbers 0..127")
    path = resolve_model(args.model)
    folder = bank_folder(args.cache_dir)
    cache = None if args.no_cache else BankCache(folder)
    source = ModelSource(path=path, memo=None if args.no_cache else StampMemo(folder))
    t0 = time.perf_counter()
    if source.stamp is None:
        source.load()  # the latent's size comes from the model; before the worker starts
    with BankService(source, settings, cache, batch_size=args.batch_size, preload=False) as svc:
        stamp = svc.stamp
        assert stamp is not None
        # the model's own prior, as `sample --seed S` draws it (model/prior.py)
        prior = source.prior(stamp.latent_size)
        latent = prior.draw(args.index + 1, stamp.latent_size, seed=args.seed)[args.index]
        handle = svc.request(latent)
        with tqdm(total=len(stamp.pitch_range), unit="note", desc="bank") as bar:
            def update(h):
                bar.update(h.progress[0] - bar.n)
            handle.add_listener(update)
            update(handle)
            while not handle.wait(0.2):
                pass
    if handle.error is not None:
        raise handle.error
    bank = handle.current
    assert bank is not None
    elapsed = time.perf_counter() - t0
    model_notes = sum(1 for p in bank.slots if p in stamp.pitch_range)
    looped = sum(1 for s in bank.slots.values() if s.loops)
    where = "loaded from the cache" if handle.from_cache else f"built in {elapsed:.1f} s"
    print(f"bank {bank.latent_id} (model {stamp.name}, seed {args.seed}, index {args.index}): "
          f"{model_notes} model notes + {len(bank.slots) - model_notes} pre-rendered above, "
          f"{looped} looped, {bank.nbytes / 1e6:.1f} MB at {bank.sample_rate} Hz, {where}")
    if cache is not None and handle.key is not None:
        print(f"cache: {cache.path_for(handle.key)}")
    if args.preview is not None:
        _write_previews(bank, pitches, args.hold, args.preview, args.seed, args.index)
    return 0


def _write_previews(bank, pitches, hold_s, folder: Path, seed: int, index: int) -> None:
    import soundfile as sf

    from ..banks.render import render_held

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GansynthLiveError(f"cannot create preview folder '{folder}': {exc}") from None
    for pitch in pitches:
        if pitch not in bank.slots:
            print(f"pitch {pitch}: not in the bank (played from the nearest pitch live)")
            continue
        path = folder / f"bank_seed{seed}_{index}_pitch{pitch}_hold{hold_s:g}s.wav"
        sf.write(path, render_held(bank, pitch, hold_s), bank.sample_rate, subtype="FLOAT")
        print(path)
