"""Fit a GANSynth-layout model on your own sounds: a SoundFont or a folder of notes.

Trains magenta's generator (same architecture, same mel + IF representation) by
latent optimisation: one latent per instrument, fitted with the generator to
reconstruct every note. The result is a model folder that `--model` accepts
anywhere, plus instruments.json with the fitted instruments' latents. Training
state is saved in a run folder: interrupt any time, continue with --resume.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GansynthLiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--soundfont", type=Path, help="render training notes from this .sf2 "
                     "with FluidSynth (General MIDI programs, see docs)")
    src.add_argument("--samples", type=Path, help="folder of notes, one file each: "
                     "DIR/<instrument>/<file>, or DIR/<instrument>_<pitch>.wav; the pitch "
                     "from the name, a note name (C4 = 60, A#3, Db3) or a MIDI number "
                     "(vibes_60.wav), NSynth names too; detected (pYIN) when the name "
                     "has none; each file's outcome is listed")
    parser.add_argument("--out", type=Path, help="model folder to write (replaced atomically)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="training state folder (default: OUT.fit-run beside --out)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the fit in --run-dir (data and settings from run.json)")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start from this fitted model folder (EMA weights + "
                             "instruments.json latents) instead of random weights")
    parser.add_argument("--steps", type=int, default=20000,
                        help="train until this many steps in total (default 20000)")
    parser.add_argument("--instruments", default=None,
                        help="comma-separated instrument names to fit (default: all)")
    parser.add_argument("--velocities", default=None,
                        help="comma-separated velocities to render and fit (default 100; "
                             "--render-only: 50,100,127; several give one latent per "
                             "instrument@velocity)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where rendered notes are cached (default: the user cache)")
    parser.add_argument("--render-only", action="store_true",
                        help="render the SoundFont note set and stop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam step of the generator (default 5e-3; latents get 2x); "
                             "with --resume, changes the run's rate from here on")
    parser.add_argument("--if-low-hz", type=float, default=None, metavar="HZ",
                        help="weigh IF errors of bins below this frequency by HZ/f, so "
                             "low notes are fitted to the same precision in cents "
                             "(default 1000 for a new run, 0 turns it off; a run begun "
                             "before it existed keeps 0); with --resume, changes the run "
                             "from here on")
    parser.add_argument("--envelope-weight", type=float, default=None, metavar="W",
                        help="weight of a loss on each frame's level and its change over "
                             "time, which sharpens attacks and fits decays (default 0: "
                             "off); with --resume, changes the run from here on")
    parser.add_argument("--onset-weight", type=float, default=None, metavar="W",
                        help="weight of a loss on the decoded notes' 5 ms loudness envelope "
                             "over their first half second, which sharpens attacks the "
                             "spectrogram terms leave smeared (default 0: off); with "
                             "--resume, changes the run from here on")
    parser.add_argument("--fmap-base", type=int, default=1024,
                        help="channels: min(fmap_base / 2**block, fmap_max) (default 1024)")
    parser.add_argument("--fmap-max", type=int, default=64)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--export-every", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--probe", action="store_true",
                        help="measure pitch accuracy (pYIN) on a few notes at every export")
    parser.add_argument("--no-jit", action="store_true", help="do not compile with XLA")


def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise GansynthLiveError(f"{what} must be comma-separated whole numbers") from None


def run(args: argparse.Namespace) -> int:
    from ..fit.session import FitRequest, run_fit

    if args.steps < 0:
        raise GansynthLiveError("--steps must not be negative")
    for name in ("checkpoint_every", "log_every"):
        if getattr(args, name) < 1:
            raise GansynthLiveError(f"--{name.replace('_', '-')} must be at least 1")
    request = FitRequest(
        soundfont=args.soundfont, samples=args.samples, out=args.out, run_dir=args.run_dir,
        resume=args.resume, init_from=args.init_from, steps=args.steps,
        instruments=[s.strip() for s in args.instruments.split(",") if s.strip()]
        if args.instruments else None,
        velocities=_int_list(args.velocities, "--velocities") if args.velocities else None,
        data_dir=args.data_dir,
        render_only=args.render_only, seed=args.seed, batch_size=args.batch_size,
        learning_rate=args.learning_rate, if_low_hz=args.if_low_hz,
        envelope_weight=args.envelope_weight, onset_weight=args.onset_weight,
        fmap_base=args.fmap_base, fmap_max=args.fmap_max,
        checkpoint_every=args.checkpoint_every, export_every=args.export_every,
        log_every=args.log_every, probe=args.probe, jit_compile=not args.no_jit)
    return run_fit(request)
