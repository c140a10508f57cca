"""Download one of Google's released GANSynth checkpoints (trained on NSynth).

The zip comes from magenta's public bucket into gansynth-live's data folder. An
interrupted download resumes when you run the same command again, and the model
folder appears only once it is complete and verified.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import GansynthLiveError

from ..model.registry import RELEASED_URLS

RELEASED_NAMES = tuple(RELEASED_URLS)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", choices=RELEASED_NAMES,
                        help=f"released model: {' or '.join(RELEASED_NAMES)}")
    parser.add_argument("--url", default=None,
                        help="download from here instead of magenta's bucket "
                             "(http://, https:// or file:// for a zip you already have)")
    parser.add_argument("--dest", type=Path, default=None, metavar="DIR",
                        help="model folder to create (default: the data folder's models/NAME, "
                             "where --model NAME finds it)")
    parser.add_argument("--sha256", default=None, metavar="HEX",
                        help="refuse the zip unless its SHA-256 is this")
    parser.add_argument("--force", action="store_true",
                        help="download again even if the model is already there")


def run(args: argparse.Namespace) -> int:
    from ..errors import ModelLoadError
    from ..model.fetch import check_model_dir, fetch_model, part_path
    from ..model.registry import models_dir

    if args.sha256 is not None and not _SHA256.match(args.sha256):
        raise GansynthLiveError("--sha256 takes 64 hexadecimal digits")
    url = args.url or RELEASED_URLS[args.name]
    dest = (args.dest or models_dir() / args.name).expanduser()
    use = f"--model {args.name}" if args.dest is None else f"--model '{dest}'"

    if dest.exists() and not args.force:
        try:
            check_model_dir(dest)
        except ModelLoadError as exc:
            raise GansynthLiveError(f"'{dest}' already exists but is not a usable model "
                                    f"({exc}); pass --force to replace it") from None
        print(f"{args.name} is already in '{dest}' (--force downloads it again); "
              f"play it with {use}")
        return 0
    if args.force:
        part_path(dest).unlink(missing_ok=True)

    print(f"downloading {url}")
    fetch_model(url, dest, sha256=args.sha256)
    print(f"{args.name} is ready in '{dest}'; play it with {use}")
    return 0
