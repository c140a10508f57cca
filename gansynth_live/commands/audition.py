"""Audition random instruments: one WAV each, a combined WAV with gaps, a CQT grid.

Each instrument gets its own seed (SEED, SEED+1, ...); use one later with
`render --instrument seed:N` or `--instrument audition:OUT:INDEX`, or keep them
all as presets with --save-presets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GansynthLiveError

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="model folder or name (default: the model shipped with the package)")
    parser.add_argument("--count", type=int, default=8, help="instruments (default 8)")
    parser.add_argument("--pitch", type=int, default=60, help="MIDI pitch to hear them at "
                        "(default 60, C4)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of instrument 0; instrument i uses SEED+i (default: random, "
                             "printed)")
    parser.add_argument("--out", type=Path, default=Path("audition"),
                        help="output folder (default ./audition)")
    parser.add_argument("--gap", type=float, default=0.5,
                        help="silence between notes in the combined WAV, seconds (default 0.5)")
    parser.add_argument("--bit-depth", choices=sorted(SUBTYPES), default="24",
                        help="WAV sample format (default 24-bit)")
    parser.add_argument("--no-plot", action="store_true", help="skip the CQT grid PNG")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="notes per generator batch (default: the model's)")
    parser.add_argument("--save-presets", action="store_true",
                        help="save every instrument as a preset PREFIX-00, PREFIX-01, ...")
    parser.add_argument("--preset-prefix", default=None,
                        help="preset name prefix (default audition-SEED)")
    parser.add_argument("--preset-dir", type=Path, default=None,
                        help="where to save presets (default: the user presets folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing presets")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..model import load_model
    from ..model.registry import resolve_model
    from ..studio.audition import random_seed, run_audition, save_audition_presets
    from ..studio.progress import tqdm_progress

    if args.count < 1 or args.count > 4096:
        raise GansynthLiveError("--count must be in 1..4096")
    seed = random_seed() if args.seed is None else args.seed
    model_name = args.model or "default"
    model = load_model(resolve_model(args.model))
    bars = tqdm_progress(not args.quiet)
    result = run_audition(model, args.out, count=args.count, pitch=args.pitch, seed=seed,
                          gap_s=args.gap, batch_size=args.batch_size,
                          progress=bars("generating", "note"), plot=not args.no_plot,
                          model_name=model_name, subtype=SUBTYPES[args.bit_depth])
    print(f"seed {seed}: instruments 0..{args.count - 1} are seed:{seed}..seed:"
          f"{result.seeds[-1]} (gain {result.gain_db:+.1f} dB on every file)")
    for i, (s, path) in enumerate(zip(result.seeds, result.wav_paths)):
        print(f"  #{i:<3d} seed:{s:<10d} {path}")
    print(f"combined: {result.combined_path}")
    if result.grid_path is not None:
        print(f"spectrograms: {result.grid_path}")
    if args.save_presets:
        prefix = args.preset_prefix or f"audition-{seed}"
        paths = save_audition_presets(result, prefix, args.preset_dir, model_name,
                                      overwrite=args.overwrite)
        print(f"presets: {prefix}-00 .. {prefix}-{len(paths) - 1:02d} in {paths[0].parent}")
    return 0
