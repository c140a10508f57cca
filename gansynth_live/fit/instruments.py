"""instruments.json: the fitted voices' latents, stored beside a model.

`{name: {"program": GM program or null, "latent": [floats]}}`. Presets refer to
these names; `fit --init-from` reads them to continue training a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import GansynthLiveError
from .quality import PITCH_BAR

FILE_NAME = "instruments.json"
PRIOR_NAME = "prior.json"  # model/prior.py reads it


class InstrumentsError(GansynthLiveError):
    """instruments.json is missing or malformed."""


def instruments_json(voices: list[str], programs: list[int | None],
                     latents: np.ndarray) -> bytes:
    table = {name: {"program": program, "latent": [round(float(x), 7) for x in latent]}
             for name, program, latent in zip(voices, programs, latents)}
    return json.dumps(table, indent=1).encode()


def prior_json(latents: np.ndarray) -> bytes:
    """The prior.json a fitted model ships with: random instruments are blends of its
    fitted instruments (model/prior.py; docs/models.md "Random instruments")."""
    radius = round(float(np.mean(np.linalg.norm(np.asarray(latents), axis=1))), 4)
    n = len(latents)  # a fit of fewer than 3 instruments blends all it has
    table = {"prior": "blend", "instruments": "pitched", "mix": [min(2, n), min(3, n)],
             "alpha": 0.5,
             "noise": 0.1, "radius": radius,
             "description": "random instruments: convex blends of 2-3 fitted instruments "
                            "(those held to the pitch bar), scaled to the fitted latents' "
                            "norm; docs/models.md"}
    return (json.dumps(table, indent=1) + "\n").encode()


def read_instruments(model_dir: Path, latent_size: int | None = None
                     ) -> dict[str, tuple[int | None, np.ndarray]]:
    """name -> (GM program or None, float64 latent), validated."""
    path = Path(model_dir) / FILE_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstrumentsError(f"'{path}' does not exist; this model has no named "
                               "instruments") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstrumentsError(f"'{path}' is not readable JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise InstrumentsError(f"'{path}': expected an object of instruments")
    out: dict[str, tuple[int | None, np.ndarray]] = {}
    for name, entry in raw.items():
        try:
            latent = np.asarray(entry["latent"], np.float64)
            program = entry.get("program")
            program = None if program is None else int(program)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InstrumentsError(f"'{path}': instrument {name!r} needs a numeric "
                                   "'latent' list") from None
        if latent.ndim != 1 or not np.all(np.isfinite(latent)) or (
                latent_size is not None and latent.size != latent_size):
            raise InstrumentsError(f"'{path}': instrument {name!r} has a malformed latent "
                                   f"(expected {latent_size} finite numbers)")
        out[str(name)] = (program, latent)
    return out




def data_in_tune(model_dir: Path) -> dict[str, float]:
    """name -> share of its training notes pYIN finds in tune (1.0 where not recorded).

    `data_in_tune` is written when a model is shipped (scripts/ship_default_model.py).
    """
    table = read_instruments(model_dir)  # validates the file first
    raw = json.loads((Path(model_dir) / FILE_NAME).read_text(encoding="utf-8"))
    return {name: float(raw[name].get("data_in_tune", 1.0)) for name in table}


def pitched_presets(model_dir: Path, bar: float = PITCH_BAR) -> list[str]:
    """Instruments held to the pitch bar: those whose own training notes pass it."""
    return sorted(name for name, share in data_in_tune(model_dir).items() if share >= bar)
