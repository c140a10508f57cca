"""Find the instrument closest to a recorded note and keep it as a preset.

A search over the model's own instruments (its fitted voices and the shipped
presets made for it, when it has them) and random latents drawn from its prior
(each a seed), then gradient descent through the generator from the nearest, both scored by a multi-resolution spectral
distance at the note's pitch. Writes TARGET.match.wav (the matched note at the
target's level) and TARGET.ab.wav (target, pause, match) beside the target,
and saves the latent as a preset.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GansynthLiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", type=Path, help="a recorded note (WAV, FLAC, OGG...)")
    parser.add_argument("--pitch", type=int, default=None,
                        help="MIDI pitch of the note (default: estimated from the recording)")
    parser.add_argument("--model", default=None,
                        help="model folder or name (default: the model shipped with the package)")
    parser.add_argument("--candidates", type=int, default=128,
                        help="random latents from the model's prior, tried after its own "
                             "instruments (default 128)")
    parser.add_argument("--steps", type=int, default=100,
                        help="gradient descent steps (default 100; 0 = search only)")
    parser.add_argument("--learning-rate", type=float, default=0.01,
                        help="Adam step size on the latent (default 0.01)")
    parser.add_argument("--seed", type=int, default=0,
                        help="first seed of the random search (default 0)")
    parser.add_argument("--name", default=None,
                        help="preset name (default match-TARGETNAME)")
    parser.add_argument("--preset-dir", type=Path, default=None,
                        help="where to save the preset (default: the user presets folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing preset")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where to write the WAVs (default: beside the target)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="notes per generator batch in the search (default: the model's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile as sf

    from ..model import load_model
    from ..model.registry import resolve_model
    from ..paths import check_name, child_path, data_dir
    from ..presets import Preset, save_preset
    from ..studio.match import (MatchSettings, estimate_pitch, load_target, match_note,
                                named_candidates)
    from ..studio.progress import tqdm_progress

    if not 1 <= args.candidates <= 100000:
        raise GansynthLiveError("--candidates must be in 1..100000")
    if not 0 <= args.steps <= 100000:
        raise GansynthLiveError("--steps must be in 0..100000")
    if not 0 <= args.seed < 2**32:
        raise GansynthLiveError("--seed must be in 0..2**32-1")
    name = args.name or f"match-{args.target.stem}"
    check_name(name, "preset name")
    preset_file = child_path(args.preset_dir or data_dir() / "presets", name, ".json",
                             what="preset name")
    if preset_file.exists() and not args.overwrite:
        raise GansynthLiveError(f"{preset_file} exists; choose another --name or --overwrite")
    model_name = args.model or "default"
    model = load_model(resolve_model(args.model))
    rate = model.sample_rate
    target = load_target(args.target, rate, model.config.audio_length)
    pitch = args.pitch
    if pitch is None:
        pitch = estimate_pitch(target, rate, model.pitch_range)
        print(f"estimated pitch: MIDI {pitch}")
    settings = MatchSettings(candidates=args.candidates, steps=args.steps,
                             learning_rate=args.learning_rate, seed=args.seed,
                             batch_size=args.batch_size)
    bars = tqdm_progress(not args.quiet)
    named = named_candidates(model, model_name)
    result = match_note(model, target, pitch, settings, bars("searching", "latent"),
                        bars("descending", "step"), named=named)
    if result.named:
        (label, nearest), rest = result.named[0], result.named[1:3]
        also = ", ".join(f"{n} {d:.4f}" for n, d in rest)
        print(f"nearest of the model's {len(result.named)} instruments: {label} (distance "
              f"{nearest:.4f})" + (f"; then {also}" if also else ""))
    preset = Preset(name=name, model=model_name, latent=tuple(float(v) for v in result.latent),
                    description=f"matched to {args.target.name} at MIDI {pitch} (distance "
                                f"{result.distance_final:.3f}, from {result.start})")
    preset_path = save_preset(preset, args.preset_dir, overwrite=args.overwrite)

    out_dir = args.out_dir or args.target.parent
    compared = result.wave[:len(target)]
    level = float(np.sqrt(np.mean(np.square(target, dtype=np.float64))))
    own = float(np.sqrt(np.mean(np.square(compared, dtype=np.float64))))
    matched = result.wave * (level / own if own > 0 else 1.0)
    gap = np.zeros(int(0.5 * rate), np.float32)
    ab = np.concatenate([target, gap, matched]).astype(np.float64)
    peak = float(np.max(np.abs(ab)))
    scale = min(1.0, 0.891 / peak) if peak > 0 else 1.0  # -1 dBFS at most, never clipped
    match_path = out_dir / f"{args.target.stem}.match.wav"
    ab_path = out_dir / f"{args.target.stem}.ab.wav"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        sf.write(match_path, matched * scale, rate, subtype="PCM_24")
        sf.write(ab_path, ab * scale, rate, subtype="PCM_24")
    except (OSError, RuntimeError) as exc:
        raise GansynthLiveError(f"cannot write into '{out_dir}': {exc}") from None
    median = float(np.median(result.search_distances))
    best_random = float(np.min(result.search_distances))
    print(f"distance (lower is closer): random median {median:.4f}, best random (seed:"
          f"{result.best_seed}) {best_random:.4f}, start {result.start} "
          f"{result.distance_search:.4f}, after {len(result.history) - 1} "
          f"descent steps {result.distance_final:.4f}")
    print(f"preset {name!r}: {preset_path}")
    print(f"matched note: {match_path}\nA/B (target, then match): {ab_path}")
    return 0
