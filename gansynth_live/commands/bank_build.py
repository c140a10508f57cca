"""`gansynth-live bank build`: a library of banks into the cache, here or on a cluster.

What to build: `--presets` (single presets, and every grid point of morph
setups), `--seeds` (the model's random instruments, as `bank --seed S`), and
`--grid A,B[,C,D]` (a morph pad's points, as `serve --corners`). With
`--cluster URL` a generate server (`gansynth-live generate-server`) makes the
notes, `--jobs` requests at a time, which its replicas share; banks land in
the local cache, one progress bar for the whole job, and a rerun skips what is
already there (banks/library.py).
"""

from __future__ import annotations

import argparse

import numpy as np

from ..errors import GansynthLiveError

MAX_SEEDS = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "bank build", "many banks at once: gansynth-live bank build [--presets ...] "
                      "[--seeds ...] [--grid ...] [--cluster URL]")
    group.add_argument("--presets", default=None, metavar="NAME,...|all",
                       help="presets to build (morph setups: every point of their grid)")
    group.add_argument("--seeds", default=None, metavar="A-B|S,S,...",
                       help="random instruments by seed (the model's prior, as bank --seed)")
    group.add_argument("--grid", default=None, metavar="A,B[,C,D]",
                       help="a morph pad's corners (preset names or seed:N, as serve "
                            "--corners); every point of its grid")
    group.add_argument("--resolution", type=int, default=3,
                       help="grid points per axis for --grid (default 3)")
    group.add_argument("--cluster", default=None, metavar="URL",
                       help="a generate server (http://HOST:PORT) makes the notes")
    group.add_argument("--jobs", type=int, default=None,
                       help="banks in flight at once (default: 4 with --cluster, else 1)")
    group.add_argument("--allow-insecure", action="store_true",
                       help="let --cluster be a plain-text address outside this machine")
    group.add_argument("--presets-dir", default=None, metavar="PATH",
                       help="an extra presets folder, searched first")


def parse_seeds(text: str) -> list[int]:
    """'0-9' or '1,5,7' (or both: '0-3,10') -> the seeds, in order, each once."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            if "-" in part:
                low, high = (int(v) for v in part.split("-", 1))
                if high < low:
                    raise ValueError(f"{part}: the range runs backwards")
                seeds.extend(range(low, high + 1))
            else:
                seeds.append(int(part))
            if len(seeds) > MAX_SEEDS:
                raise ValueError(f"more than {MAX_SEEDS} seeds")
    except ValueError as exc:
        raise GansynthLiveError(f"--seeds {text!r}: {exc}") from None
    if not seeds or any(not 0 <= s < 2**32 for s in seeds):
        raise GansynthLiveError(f"--seeds {text!r}: seeds are whole numbers 0..2**32-1")
    return list(dict.fromkeys(seeds))


def latents_to_build(args: argparse.Namespace, latent_size: int, prior) -> list[np.ndarray]:
    """Every latent the flags name (duplicates once), in the order given."""
    from pathlib import Path

    from ..live.corners import PresetLibrary, corner_from_spec, preset_corner
    from ..banks.morph import MorphGrid
    from ..presets import PresetError

    extra = Path(args.presets_dir) if args.presets_dir else None
    library = PresetLibrary(extra)
    latents: list[np.ndarray] = []

    def grid_points(anchors: list[np.ndarray], resolution: int) -> list[np.ndarray]:
        from ..live.timbre_space import grid_resolution

        grid = MorphGrid(None, np.stack(anchors),  # type: ignore[arg-type]  # no service
                         grid_resolution(len(anchors), resolution))
        return [point.latent for point in grid.order()]

    try:
        if args.presets:
            names = library.names() if args.presets.strip() == "all" else \
                [n.strip() for n in args.presets.split(",") if n.strip()]
            for name in names:
                preset = library.find(name)
                if preset.is_morph:
                    anchors = [corner_from_spec(c, library, latent_size, prior).latent
                               for c in preset.corners]
                    latents.extend(grid_points(anchors, preset.resolution))
                else:
                    latents.append(preset_corner(preset, latent_size).latent)
        if args.seeds:
            latents.extend(prior.draw(1, latent_size, seed=s)[0] for s in parse_seeds(args.seeds))
        if args.grid:
            specs = [c.strip() for c in args.grid.split(",") if c.strip()]
            if not 2 <= len(specs) <= 4:
                raise GansynthLiveError("--grid: name 2 to 4 corners")
            anchors = [corner_from_spec(c, library, latent_size, prior).latent for c in specs]
            latents.extend(grid_points(anchors, args.resolution))
    except PresetError as exc:
        raise GansynthLiveError(str(exc)) from None
    except ValueError as exc:
        raise GansynthLiveError(f"bank build: {exc}") from None
    unique: dict[bytes, np.ndarray] = {}
    for z in latents:
        unique.setdefault(np.asarray(z, np.float64).tobytes(), np.asarray(z, np.float64))
    return list(unique.values())


def run_build(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..banks.builder import BuildSettings
    from ..banks.cache import BankCache, bank_folder
    from ..banks.library import build_library
    from ..banks.source import ModelSource, StampMemo
    from ..banks.service import BankService
    from ..model.registry import resolve_model

    if not (args.presets or args.seeds or args.grid):
        raise GansynthLiveError("bank build: name what to build: --presets, --seeds or --grid")
    jobs = args.jobs if args.jobs is not None else (4 if args.cluster else 1)
    if not 1 <= jobs <= 64:
        raise GansynthLiveError("--jobs must be 1..64")
    try:
        settings = BuildSettings(sample_rate=args.rate)
    except ValueError as exc:
        raise GansynthLiveError(f"--rate: {exc}") from None
    if args.no_cache:
        raise GansynthLiveError("bank build fills the cache: leave out --no-cache")
    if args.cluster:
        from ..cluster.client import check_address

        check_address(args.cluster, args.allow_insecure)
    path = resolve_model(args.model)
    folder = bank_folder(args.cache_dir)
    cache = BankCache(folder)
    source = ModelSource(path=path, memo=StampMemo(folder))
    services = [BankService(source, settings, cache, batch_size=args.batch_size,
                            preload=False, generator=_generator(args, source, settings))
                for _ in range(jobs)]
    try:
        if source.stamp is None:  # the latent size: from the server, or the model here
            source.adopt_stamp(_start(services[0].generator))
        stamp = source.stamp
        assert stamp is not None
        latents = latents_to_build(args, stamp.latent_size, source.prior(stamp.latent_size))
        where = args.cluster or "this machine"
        print(f"bank build: {len(latents)} banks of model {stamp.name} on {where}, "
              f"{jobs} at a time")
        with tqdm(total=0, unit="note", desc="banks") as bar:
            def progress(done: int, total: int) -> None:
                if total != bar.total:
                    bar.total = total
                bar.update(done - bar.n)
            result = build_library(latents, services, progress=progress)
    finally:
        for service in services:
            service.close()
    rate = result.notes / result.seconds if result.seconds > 0 else 0.0
    print(f"bank build: {result.built} built ({result.notes} notes, {rate:.1f} notes/s), "
          f"{result.cached} already in the cache, {len(result.failed)} failed"
          + (f", {result.retried} retried" if result.retried else "")
          + f", {result.seconds:.1f} s; cache: {folder}")
    for latent_id, error in result.failed:
        print(f"  bank {latent_id}: {error}")
    return 1 if result.failed else 0


def _generator(args: argparse.Namespace, source, settings):
    """One generator per service: a client of the --cluster server, or this machine's."""
    if args.cluster:
        from ..cluster.client import RemoteGenerator

        return RemoteGenerator(args.cluster, settings, allow_insecure=args.allow_insecure)
    from ..banks.service import BankService

    return BankService.own_generator(source, settings, process=False)


def _start(generator):
    """The generator's model stamp; one line if it cannot start (a server down)."""
    from ..banks.generators import GeneratorError

    try:
        return generator.start()
    except GeneratorError as exc:
        raise GansynthLiveError(f"{generator.name}: {exc}") from None
