"""Audition: N random instruments at one pitch, to listen to, look at, and keep.

Instrument i of an audition with seed S is drawn from the model's prior with
RandomState(S + i) (model/prior.py: N(0, 1) for magenta's models, blends of the
fitted instruments for the default model), so every instrument has its own seed:
`--instrument seed:S+i` in `render` gives exactly the same latent, the saved
presets hold the latent itself, and the folder's latents.npy (read by
`audition:DIR:INDEX`) holds them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import GansynthLiveError
from ..paths import child_path, data_dir
from ..presets import Preset, PresetError, save_preset
from .instruments import AUDITION_INFO, AUDITION_LATENTS, seed_latent
from .gain import finalize
from .score import note_name

COMBINED_WAV = "audition.wav"
GRID_PNG = "audition.png"
MAX_SEED = 2**32


@dataclass(frozen=True)
class AuditionResult:
    folder: Path
    seeds: tuple[int, ...]
    latents: np.ndarray
    waves: np.ndarray       # raw model output, float32 [count, audio_length]
    gain_db: float          # one gain applied to every written WAV
    wav_paths: tuple[Path, ...]
    combined_path: Path
    grid_path: Path | None
    pitch: int


def audition_seeds(seed: int, count: int) -> tuple[int, ...]:
    return tuple((int(seed) + i) % MAX_SEED for i in range(count))


def random_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0] % (2**31))


def run_audition(model, out_dir: Path, count: int = 8, pitch: int = 60, seed: int = 0,
                 gap_s: float = 0.5, batch_size: int | None = None,
                 progress: Callable[[int, int], None] | None = None, plot: bool = True,
                 model_name: str = "default", subtype: str = "PCM_24") -> AuditionResult:
    """Generate, write one WAV per instrument, a combined WAV and a CQT grid."""
    import soundfile as sf

    if count < 1:
        raise GansynthLiveError("the audition needs at least one instrument")
    if not 0 <= seed < MAX_SEED:
        raise GansynthLiveError("seed must be in 0..2**32-1")
    if gap_s < 0:
        raise GansynthLiveError("the gap must be >= 0 s")
    model.labels([pitch])  # a clear error for a pitch the model lacks, before any work
    seeds = audition_seeds(seed, count)
    latents = np.stack([seed_latent(s, model.latent_size, getattr(model, "prior", None))
                        for s in seeds])
    waves = model.generate(latents, [pitch] * count, batch_size=batch_size, progress=progress)
    rate = int(model.sample_rate)
    gap = np.zeros(int(round(gap_s * rate)), np.float32)
    pieces = []
    for i, wave in enumerate(waves):
        pieces.append(wave)
        if i < count - 1:
            pieces.append(gap)
    combined, gain_db = finalize(np.concatenate(pieces)[:, None], peak_db=-1.0)
    gain = np.float32(10.0 ** (gain_db / 20.0))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GansynthLiveError(f"cannot create output folder '{out_dir}': {exc}") from None
    paths = []
    for i, wave in enumerate(waves):
        path = out_dir / f"instrument_{i:03d}.wav"
        sf.write(path, np.clip(wave * gain, -1.0, 1.0), rate, subtype=subtype)
        paths.append(path)
    combined_path = out_dir / COMBINED_WAV
    sf.write(combined_path, combined[:, 0], rate, subtype=subtype)
    np.save(out_dir / AUDITION_LATENTS, latents, allow_pickle=False)
    grid_path = None
    if plot:
        from .plots import plot_cqt_grid

        labels = [f"#{i}  seed:{s}" for i, s in enumerate(seeds)]
        grid_path = plot_cqt_grid(list(waves), rate, labels, out_dir / GRID_PNG,
                                  title=f"audition at {note_name(pitch)} (MIDI {pitch}), "
                                        f"seed {seed}")
    info = {
        "model": model_name, "fingerprint": model.fingerprint, "pitch": int(pitch),
        "seed": int(seed), "sample_rate": rate, "gain_db": gain_db, "gap_s": gap_s,
        "instruments": [{"index": i, "seed": s, "wav": p.name, "peak": float(np.max(np.abs(w)))}
                        for i, (s, p, w) in enumerate(zip(seeds, paths, waves))],
    }
    (out_dir / AUDITION_INFO).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return AuditionResult(folder=out_dir, seeds=seeds, latents=latents, waves=waves,
                          gain_db=gain_db, wav_paths=tuple(paths), combined_path=combined_path,
                          grid_path=grid_path, pitch=int(pitch))


def save_audition_presets(result: AuditionResult, prefix: str, folder: Path | None,
                          model_name: str = "default", overwrite: bool = False) -> list[Path]:
    """One preset per instrument (`prefix-00`, ...), holding its latent and seed.

    All names are checked before anything is written, so a clash leaves no
    half-saved set behind.
    """
    names = [f"{prefix}-{i:02d}" for i in range(len(result.seeds))]
    target = folder or data_dir() / "presets"
    for name in names:
        path = child_path(target, name, ".json", what="preset name")
        if path.exists() and not overwrite:
            raise PresetError(f"{path} exists; choose another --preset-prefix or --overwrite")
    paths = []
    for i, (seed, latent) in enumerate(zip(result.seeds, result.latents)):
        preset = Preset(name=names[i], model=model_name,
                        latent=tuple(float(v) for v in latent), seed=int(seed),
                        description=f"audition instrument {i} (seed {seed}), heard at "
                                    f"{note_name(result.pitch)}")
        paths.append(save_preset(preset, folder, overwrite=overwrite))
    return paths
