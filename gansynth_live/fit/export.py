"""Writing a fitted model as a model folder in magenta's layout, plus instruments.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..model.export import write_model_dir
from .instruments import FILE_NAME, PRIOR_NAME, instruments_json, prior_json
from .trainer import FitModel


def export_model(model: FitModel, dest: Path, voices: list[str], programs: list[int | None],
                 provenance: dict[str, Any], include_raw: bool = False) -> Path:
    """EMA weights (and latents) of `model` at `dest`, replacing it atomically.

    Raw weights and Adam state stay in the run folder: sampling reads only the
    EMA shadows, and a shipped model should be small.
    """
    fit_info = {"steps": int(model.step.numpy()), "settings": model.settings.to_json(),
                **provenance}
    latents = model.ema_latents()
    files = {FILE_NAME: instruments_json(voices, programs, latents),
             PRIOR_NAME: prior_json(latents),
             "fit.json": json.dumps(fit_info, indent=1).encode()}
    return write_model_dir(dest, model.config, model.ema_weights(),
                           extra_json={"gansynth_live_fit": {"steps": fit_info["steps"]}},
                           include_raw=include_raw, extra_files=files)
