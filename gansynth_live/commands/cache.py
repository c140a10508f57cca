"""List or clear the note-bank cache (banks of rendered notes, one per model and latent)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "clear"],
                        help="list: show cached banks; clear: delete them all")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="cache folder (default: the platform's user cache folder, or "
                             "$GANSYNTH_LIVE_CACHE_DIR); banks live in its 'banks' subfolder")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run(args: argparse.Namespace) -> int:
    from ..banks.cache import BankCache, bank_folder

    cache = BankCache(bank_folder(args.cache_dir))
    if args.action == "clear":
        count, freed = cache.clear()
        print(f"removed {count} bank{'s' if count != 1 else ''} ({_mb(freed)}) "
              f"from {cache.folder}")
        return 0
    entries = cache.entries()
    if entries:
        print(f"{'KEY':<12}  {'MODEL':<20} {'FINGERPRINT':<16}  {'LATENT':<16}  {'RATE':>6}  "
              f"{'NOTES':>5}  {'SIZE':>9}  LAST USED")
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
        if not e.readable:
            print(f"{e.key[:12]:<12}  (unreadable header: removed on next use)"
                  f"{'':>34}{_mb(e.size_bytes):>9}  {when}")
            continue
        notes = f"{e.notes}{'' if e.complete else '*'}"
        print(f"{e.key[:12]:<12}  {e.model_name[:20]:<20} {e.model_fingerprint[:16]:<16}  "
              f"{e.latent_id[:16]:<16}  {e.sample_rate:>6}  {notes:>5}  "
              f"{_mb(e.size_bytes):>9}  {when}")
    total = sum(e.size_bytes for e in entries)
    partial = any(e.readable and not e.complete for e in entries)
    print(f"{len(entries)} bank{'s' if len(entries) != 1 else ''}, {_mb(total)} in "
          f"{cache.folder} (cap {_mb(cache.max_bytes)})"
          + ("; * = partial bank, resumed when requested again" if partial else ""))
    return 0
