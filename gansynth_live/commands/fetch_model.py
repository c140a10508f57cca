"""Download one of Google's released GANSynth checkpoints (trained on NSynth).

The zip comes from magenta's public bucket into gansynth-live's data folder. An
interrupted download resumes when you run the same command again, and the model
folder appears only once it is complete and verified. Redirects are followed only
to the same host name, never from https to http; the download and the unpacked model
are capped in size; and --force replaces only a folder this command wrote.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import GansynthLiveError

from ..model.registry import RELEASED_URLS

RELEASED_NAMES = tuple(RELEASED_URLS)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_SIZE = re.compile(r"^(\d+)([KMG]?)$", re.IGNORECASE)
GIB = 1 << 30
# Ceilings, not expected sizes: each released zip (and the model it unpacks to) is
# several hundred MB, the checkpoint holding the whole training state. A server that
# announces or sends more is refused unless --max-bytes allows it.
MAX_BYTES: dict[str, int] = {"acoustic_only": 2 * GIB, "all_instruments": 2 * GIB}
MARKER = ".gansynth-live-model.json"  # model.fetch.MARKER, without importing it here


def byte_count(text: str) -> int:
    """A size for --max-bytes: digits with an optional K, M or G (powers of 1024)."""
    match = _SIZE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 3000000000 or 3G)")
    return int(match.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[match.group(2).upper()]


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
                        help="download again and replace DIR, but only if this command "
                             f"wrote it (it holds {MARKER} and nothing else of yours); any "
                             "other folder is refused, never deleted")
    parser.add_argument("--max-bytes", type=byte_count, default=None, metavar="N",
                        help="refuse a zip that announces or sends more than N bytes, or "
                             "that unpacks to more (K, M, G suffixes; default: "
                             + ", ".join(f"{n} {s // GIB}G" for n, s in MAX_BYTES.items())
                             + ")")
    parser.add_argument("--allow-redirect-host", action="append", default=[],
                        metavar="HOST",
                        help="also follow redirects to HOST (repeatable); by default only "
                             "redirects to the --url's own host name are followed, and "
                             "never from https to http (the final URL is printed)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ModelLoadError
    from ..model.fetch import (check_model_dir, check_replaceable, destination, discard_part,
                               fetch_model, read_marker)
    from ..model.registry import models_dir

    if args.sha256 is not None and not _SHA256.match(args.sha256):
        raise GansynthLiveError("--sha256 takes 64 hexadecimal digits")
    url = args.url or RELEASED_URLS[args.name]
    dest = destination(args.dest or models_dir() / args.name)
    use = f"--model {args.name}" if args.dest is None else f"--model '{dest}'"

    if (dest.exists() or dest.is_symlink()) and not args.force:
        try:
            check_model_dir(dest)
        except ModelLoadError as exc:
            check_replaceable(dest)  # a folder we did not write: say so, not "use --force"
            raise GansynthLiveError(f"'{dest}' already exists but is not a usable model "
                                    f"({exc}); pass --force to replace it") from None
        again = ("--force downloads it again" if read_marker(dest) is not None else
                 "not written by fetch-model, so --force will not replace it")
        print(f"{args.name} is already in '{dest}' ({again}); play it with {use}")
        return 0
    if args.force:
        check_replaceable(dest)  # before discarding anything
        discard_part(dest)

    print(f"downloading {url}")
    fetch_model(url, dest, sha256=args.sha256,
                max_bytes=args.max_bytes or MAX_BYTES[args.name],
                redirect_hosts=args.allow_redirect_host)
    source = (read_marker(dest) or {}).get("source", url)
    print(f"{args.name} is ready in '{dest}' (downloaded from {source}); play it with {use}")
    return 0
