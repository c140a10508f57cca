"""Write one WAV per random instrument, all at one pitch (GANSynth's basic demo).

Random instruments come from the model's prior (docs/models.md, "Random instruments"):
N(0, 1) for Google's GAN-trained models; for a model fitted by latent optimisation, the
distribution its folder's prior.json records. The same --seed gives the same instruments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GansynthLiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = f"prior of the default model: {_default_prior()}"
    parser.add_argument("--model", default=None,
                        help="model folder or name (default: the model shipped with the package)")
    parser.add_argument("--count", type=int, default=4, help="instruments to sample (default 4)")
    parser.add_argument("--pitch", type=int, default=60, help="MIDI pitch (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the draw from the model's prior (default: random)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="notes per generator batch (default: the model's)")
    parser.add_argument("--out", type=Path, default=Path("samples"), help="output folder")


def _default_prior() -> str:
    from ..model.prior import describe_prior_file
    from ..model.registry import resolve_model

    try:
        return describe_prior_file(resolve_model(None))
    except GansynthLiveError as exc:
        return f"unknown ({exc})"


def run(args: argparse.Namespace) -> int:
    import soundfile as sf
    from tqdm import tqdm

    from ..model import load_model
    from ..model.registry import resolve_model

    if args.count < 1:
        raise GansynthLiveError("--count must be at least 1")
    model = load_model(resolve_model(args.model))
    model.labels([args.pitch])  # validates the pitch before any work
    z = model.random_latents(args.count, seed=args.seed)
    with tqdm(total=args.count, unit="note", desc="generating") as bar:
        waves = model.generate(z, [args.pitch] * args.count, batch_size=args.batch_size,
                               progress=lambda done, total: bar.update(done - bar.n))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GansynthLiveError(f"cannot create output folder '{args.out}': {exc}") from None
    seed_tag = "random" if args.seed is None else str(args.seed)
    for i, wave in enumerate(waves):
        path = args.out / f"instrument_{i:03d}_seed{seed_tag}_pitch{args.pitch}.wav"
        sf.write(path, wave, model.sample_rate, subtype="FLOAT")
        print(path)
    return 0
