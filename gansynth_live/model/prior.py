"""A model's latent prior: the distribution its random instruments are drawn from.

Google's GAN-trained models learned to map N(0, 1) latents to sounds, so N(0, 1)
is their prior (magenta's `generate_z`). A model fitted by latent optimisation
(GLO, `gansynth-live fit`) only ever saw its fitted instruments' latents; N(0, 1)
draws land in the blurred middle between them (the default model's random
instruments sound like near copies of one average tone, docs/models.md). Such a
model folder carries `prior.json`:

    {"prior": "blend", "instruments": "pitched", "mix": [2, 3], "alpha": 0.5,
     "noise": 0.1, "radius": 16.0}

- `prior`: "blend" (below) or "normal" (N(0, 1), the same as no file).
- `instruments`: which latents of the folder's instruments.json are blended:
  "all", "pitched" (those whose own training notes pass the pitch bar,
  `fit.instruments.pitched_presets`) or a list of names.
- `mix`: a draw blends between mix[0] and mix[1] distinct instruments (uniform).
- `alpha`: their weights are Dirichlet(alpha, ...) (convex, sum 1); below 1 most
  draws lean towards one of them, which keeps draws as varied as the instruments.
- `noise`: Gaussian noise per coordinate added to the blend (the fitted latents
  have unit variance per coordinate).
- `radius`: the draw is scaled to this norm (fitted latents lie on the sphere of
  radius sqrt(latent size), as N(0, 1) draws nearly do); null leaves it as it is.

Draws are reproducible: row i of `draw(n, seed)` depends only on the seed and i
(numpy's RandomState(seed), rows drawn in order), so `draw(n, s)[:m] == draw(m, s)`
as for N(0, 1). numpy only: cheap to import without TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..documents import DocumentError, parse_json
from ..errors import GansynthLiveError

PRIOR_FILE = "prior.json"
KINDS = ("normal", "blend")


class PriorError(GansynthLiveError, ValueError):
    """prior.json is malformed or names instruments the model does not have."""


@dataclass(frozen=True, eq=False)
class LatentPrior:
    """Where `GanSynth.random_latents` draws from; `NORMAL` for magenta's models."""

    kind: str = "normal"
    latents: np.ndarray | None = None  # [k, latent_size] pool of fitted latents (blend)
    names: tuple[str, ...] = ()
    mix: tuple[int, int] = (2, 3)
    alpha: float = 0.5
    noise: float = 0.1
    radius: float | None = None
    source: str = field(default="", compare=False)  # the file it was read from

    @property
    def is_normal(self) -> bool:
        return self.kind == "normal"

    def draw(self, n: int, latent_size: int, seed: int | None = None) -> np.ndarray:
        """n latents [n, latent_size] float64 from this prior; same seed, same latents."""
        rng = np.random.RandomState(seed)
        if self.is_normal:
            return rng.normal(size=[n, latent_size])
        pool = self.latents
        assert pool is not None
        if pool.shape[1] != latent_size:
            raise PriorError(f"the prior's latents are {pool.shape[1]}-d; the model needs "
                             f"{latent_size}")
        out = np.empty((n, latent_size), np.float64)
        lo, hi = self.mix
        for i in range(n):
            k = int(rng.randint(lo, hi + 1))
            idx = rng.choice(len(pool), k, replace=False)
            weights = rng.dirichlet([self.alpha] * k)
            z = weights @ pool[idx] + self.noise * rng.normal(size=latent_size)
            if self.radius is not None:
                z *= self.radius / max(float(np.linalg.norm(z)), 1e-12)
            out[i] = z
        return out

    def describe(self) -> str:
        """One line for --help and reports."""
        if self.is_normal:
            return "N(0, 1) (magenta's generate_z)"
        lo, hi = self.mix
        count = f"{lo}" if lo == hi else f"{lo}-{hi}"
        radius = "" if self.radius is None else f", scaled to norm {self.radius:g}"
        return (f"blends of {count} of the model's {len(self.names)} fitted instruments "
                f"(Dirichlet({self.alpha:g}) weights, noise {self.noise:g}{radius})")


NORMAL = LatentPrior()


def _field(raw: dict, key: str, default: Any, where: str, lo: float, hi: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise PriorError(f"{where}: {key} must be a number in {lo:g}..{hi:g}, got {value!r}")
    return float(value)


def prior_from_dict(raw: Any, model_dir: Path, latent_size: int | None,
                    where: str = PRIOR_FILE) -> LatentPrior:
    """Validate a parsed prior.json against the folder's instruments.json."""
    if not isinstance(raw, dict):
        raise PriorError(f"{where}: expected an object")
    unknown = set(raw) - {"prior", "instruments", "mix", "alpha", "noise", "radius",
                          "description"}
    if unknown:
        raise PriorError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    kind = raw.get("prior", "normal")
    if kind not in KINDS:
        raise PriorError(f"{where}: prior must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "normal":
        return LatentPrior(source=where)
    from ..fit.instruments import InstrumentsError, pitched_presets, read_instruments

    try:
        table = read_instruments(model_dir, latent_size)
        chosen = raw.get("instruments", "all")
        if chosen == "all":
            names = list(table)
        elif chosen == "pitched":
            names = pitched_presets(model_dir)
        elif isinstance(chosen, list) and all(isinstance(x, str) for x in chosen):
            names = list(chosen)
        else:
            raise PriorError(f"{where}: instruments must be \"all\", \"pitched\" or a list "
                             "of names")
    except InstrumentsError as exc:
        raise PriorError(f"{where}: {exc}") from None
    missing = [x for x in names if x not in table]
    if missing:
        raise PriorError(f"{where}: instruments.json has no {', '.join(missing)}")
    mix = raw.get("mix", [2, 3])
    if (not isinstance(mix, list) or len(mix) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in mix)
            or not 1 <= mix[0] <= mix[1] <= len(names)):
        raise PriorError(f"{where}: mix must be [lo, hi] with 1 <= lo <= hi <= "
                         f"{len(names)} (the instruments blended)")
    radius = raw.get("radius")
    if radius is not None:
        radius = _field(raw, "radius", None, where, 1e-6, 1e6)
    return LatentPrior(kind="blend", latents=np.stack([table[x][1] for x in names]),
                       names=tuple(names), mix=(mix[0], mix[1]),
                       alpha=_field(raw, "alpha", 0.5, where, 1e-3, 1e3),
                       noise=_field(raw, "noise", 0.1, where, 0.0, 10.0),
                       radius=radius, source=where)


def read_prior(model_dir: str | Path, latent_size: int | None = None) -> LatentPrior:
    """The prior of a model folder: its prior.json, or N(0, 1) when it has none."""
    path = Path(model_dir) / PRIOR_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return NORMAL
    except (OSError, UnicodeDecodeError) as exc:
        raise PriorError(f"cannot read '{path}': {exc}") from None
    try:
        raw = parse_json(text)
    except DocumentError as exc:
        raise PriorError(f"'{path}': {exc}") from None
    return prior_from_dict(raw, Path(model_dir), latent_size, where=f"'{path}'")


def fitted_radius(latents: np.ndarray) -> float:
    """The mean norm of fitted latents, rounded: the `radius` a prior.json records."""
    return round(float(np.mean(np.linalg.norm(np.asarray(latents), axis=1))), 4)


def describe_prior_file(model_dir: str | Path) -> str:
    """What a folder's prior is, from prior.json alone (for --help: no instruments read)."""
    try:
        raw = json.loads((Path(model_dir) / PRIOR_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return NORMAL.describe()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"unreadable {PRIOR_FILE}"
    if not isinstance(raw, dict) or raw.get("prior", "normal") == "normal":
        return NORMAL.describe()
    mix = raw.get("mix", [2, 3])
    count = "-".join(str(x) for x in dict.fromkeys(mix)) if isinstance(mix, list) else "?"
    pool = raw.get("instruments", "all")
    pool = f"{len(pool)} named" if isinstance(pool, list) else f"the {pool}"
    return (f"blends of {count} of {pool} fitted instruments (Dirichlet({raw.get('alpha', 0.5)})"
            f" weights, noise {raw.get('noise', 0.1)}, {PRIOR_FILE})")
