"""Save, list and show presets (a named latent, or a morph setup of 2..4 corner presets).

    gansynth-live preset save "warm pad" --seed 7 --attack 0.2 --release 1.5
    gansynth-live preset save glass --seed 3 --index 2        # like `sample --seed 3` no. 2
    gansynth-live preset save mine --latent-from z.npy        # .npy (no pickle) or .json list
    gansynth-live preset save duo --corners "warm pad,glass"  # a morph setup
    gansynth-live preset save keys --instrument celesta       # a fitted instrument of the model
    gansynth-live preset list
    gansynth-live preset show "warm pad"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import GansynthLiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    save = sub.add_parser("save", help="write a preset to the user presets folder")
    save.add_argument("name", help="preset name (letters, digits, space, _ - . +)")
    source = save.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int, help="latent drawn from this seed (as `sample`)")
    source.add_argument("--latent-from", type=Path, metavar="FILE",
                        help="latent from a .npy file (1-D, or 2-D with --index) or a .json "
                             "list of numbers")
    source.add_argument("--corners", help="a morph setup: 2..4 preset names, comma-separated")
    source.add_argument("--instrument", metavar="NAME",
                        help="the latent of one of the model's fitted instruments "
                             "(instruments.json; `preset list --instruments` names them)")
    save.add_argument("--index", type=int, default=0,
                      help="which latent of the seed's draw or the file's rows (default 0)")
    save.add_argument("--model", default="default",
                      help="the model the latent is for (name or folder; default 'default')")
    save.add_argument("--attack", type=float, help="attack time, s")
    save.add_argument("--decay", type=float, help="decay time, s")
    save.add_argument("--sustain", type=float, help="sustain level 0..1")
    save.add_argument("--release", type=float, help="release time, s")
    save.add_argument("--gain-db", type=float, default=0.0, help="preset gain in dB")
    save.add_argument("--resolution", type=int, default=3,
                      help="morph grid points per axis (morph setups; default 3)")
    save.add_argument("--description", default="", help="one line about the sound")
    save.add_argument("--dir", type=Path, default=None,
                      help="save into this folder instead of the user presets folder")
    save.add_argument("--force", action="store_true", help="overwrite an existing preset")
    listing = sub.add_parser("list", help="list presets (user presets shadow shipped ones)")
    listing.add_argument("--dir", type=Path, default=None, help="an extra folder, listed first")
    listing.add_argument("--instruments", action="store_true",
                         help="list the fitted instruments of --model instead (what "
                              "`save --instrument` takes)")
    listing.add_argument("--model", default="default", help="with --instruments (default "
                         "'default')")
    show = sub.add_parser("show", help="print one preset")
    show.add_argument("name")
    show.add_argument("--dir", type=Path, default=None, help="an extra folder, searched first")


def run(args: argparse.Namespace) -> int:
    return {"save": _save, "list": _list, "show": _show}[args.action](args)


def _save(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..presets import Envelope, Preset, save_preset

    envelope = Envelope()
    changes = {k: v for k, v in (("attack_s", args.attack), ("decay_s", args.decay),
                                 ("sustain", args.sustain), ("release_s", args.release))
               if v is not None}
    envelope = replace(envelope, **changes).validated("preset envelope")
    if not -60.0 <= args.gain_db <= 24.0:
        raise GansynthLiveError("--gain-db must be in -60..24")
    if args.index < 0:
        raise GansynthLiveError("--index must be 0 or more")
    latent = seed = None
    corners: tuple[str, ...] = ()
    if args.corners is not None:
        corners = tuple(c.strip() for c in args.corners.split(",") if c.strip())
        if not 2 <= len(corners) <= 4:
            raise GansynthLiveError("--corners needs 2 to 4 preset names")
    elif args.seed is not None:
        if not 0 <= args.seed < 2**32:
            raise GansynthLiveError("--seed must be in 0..2**32-1")
        if args.index == 0:
            seed = args.seed
        else:
            size = _latent_size(args.model)
            import numpy as np

            draw = np.random.RandomState(args.seed).normal(size=[args.index + 1, size])
            latent = tuple(float(v) for v in draw[args.index])
    elif args.instrument is not None:
        latent = _instrument_latent(args.model, args.instrument)
    else:
        latent = _read_latent(args.latent_from, args.index)
    preset = Preset(name=args.name, model=args.model, latent=latent, seed=seed,
                    envelope=envelope, gain_db=args.gain_db, description=args.description,
                    corners=corners, resolution=args.resolution)
    from ..presets import preset_from_dict

    preset_from_dict(preset.to_dict(), f"preset {args.name!r}", args.name)  # same checks as load
    path = save_preset(preset, args.dir, overwrite=args.force)
    print(path)
    return 0


def _instrument_latent(model: str, name: str) -> tuple[float, ...]:
    from ..fit.instruments import read_instruments
    from ..model.registry import resolve_model

    model_dir = resolve_model(model)
    table = read_instruments(model_dir, _latent_size(model))
    if name not in table:
        raise GansynthLiveError(f"model '{model}' has no instrument {name!r}; it has: "
                                f"{', '.join(sorted(table))}")
    return tuple(float(v) for v in table[name][1])


def _latent_size(model: str) -> int:
    from ..model.config import read_config
    from ..model.registry import resolve_model

    return read_config(resolve_model(model)).latent_size


def _read_latent(path: Path, index: int) -> tuple[float, ...]:
    import numpy as np

    try:
        if path.suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(raw, dict) and "latent" in raw:
                raw = raw["latent"]
            data = np.asarray(raw, dtype=np.float64)
    except (OSError, ValueError, TypeError) as exc:
        raise GansynthLiveError(f"cannot read a latent from '{path}': {exc}") from None
    if data.ndim == 2:
        if not 0 <= index < data.shape[0]:
            raise GansynthLiveError(f"'{path}' has {data.shape[0]} latents; --index {index} "
                                    "is out of range")
        data = data[index]
    if data.ndim != 1 or data.size == 0 or not np.issubdtype(data.dtype, np.number):
        raise GansynthLiveError(f"'{path}': expected a 1-D list of numbers, got shape "
                                f"{data.shape}")
    if not np.all(np.isfinite(data)):
        raise GansynthLiveError(f"'{path}': the latent contains NaN or infinity")
    return tuple(float(v) for v in data)


def _list(args: argparse.Namespace) -> int:
    from ..presets import list_presets

    if args.instruments:
        return _list_instruments(args.model)
    found = list_presets(args.dir)
    if not found:
        print("no presets (save one with `gansynth-live preset save NAME --seed N`)")
        return 0
    for preset, path, error in found:
        if preset is None:
            print(f"  !  {path.stem:24s} {error}")
        elif preset.is_morph:
            print(f"  M  {preset.name:24s} morph of {', '.join(preset.corners)}  ({path})")
        else:
            what = f"seed {preset.seed}" if preset.latent is None else \
                f"{len(preset.latent)}-d latent"
            print(f"     {preset.name:24s} {what}, model {preset.model}"
                  + (f" - {preset.description}" if preset.description else "") + f"  ({path})")
    return 0


def _list_instruments(model: str) -> int:
    from ..fit.instruments import data_in_tune, read_instruments
    from ..fit.quality import PITCH_BAR
    from ..model.registry import resolve_model

    model_dir = resolve_model(model)
    table = read_instruments(model_dir)  # a clear error when missing or malformed
    shares = data_in_tune(model_dir)
    for name in sorted(table):
        program, _ = table[name]
        gm = f"GM program {program}" if program is not None else "no GM program"
        note = (f" - its training notes are {shares[name]:.0%} in tune by pYIN"
                if shares[name] < PITCH_BAR else "")
        print(f"     {name:24s} {gm}{note}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from ..presets import find_preset

    preset = find_preset(args.name, args.dir)
    data = preset.to_dict()
    if "latent" in data:
        data["latent"] = f"[{len(preset.latent)} values]"
    print(json.dumps(data, indent=1))
    return 0
