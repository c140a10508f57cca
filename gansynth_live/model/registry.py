"""Model names users type: 'default', the released checkpoints, or a folder path."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError
from ..paths import data_dir

PACKAGE_MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "default"

# Released GANSynth checkpoints (Engel et al. 2019), public bucket of the magenta project.
RELEASED_URLS: dict[str, str] = {
    "acoustic_only": "https://storage.googleapis.com/magentadata/models/gansynth/acoustic_only.zip",
    "all_instruments": "https://storage.googleapis.com/magentadata/models/gansynth/all_instruments.zip",
}


def models_dir() -> Path:
    """Where `fetch-model` unpacks released checkpoints."""
    return data_dir() / "models"


def resolve_model(spec: str | Path | None) -> Path:
    """A model folder for a name or path; errors say how to get what is missing."""
    if spec is None or str(spec) == DEFAULT_MODEL:
        path = PACKAGE_MODELS / DEFAULT_MODEL
        if not (path / "experiment.json").is_file():
            raise ModelLoadError(f"the default model is missing from the package ('{path}'); "
                                 "reinstall gansynth-live or pass --model PATH")
        return path
    text = str(spec)
    if text in RELEASED_URLS:
        path = models_dir() / text
        if not path.is_dir():
            raise ModelLoadError(f"model {text!r} is not downloaded yet; run "
                                 f"'gansynth-live fetch-model {text}' (or pass --model PATH)")
        return path
    path = Path(text).expanduser()
    if not path.exists():
        known = ", ".join([DEFAULT_MODEL, *RELEASED_URLS])
        raise ModelLoadError(f"model '{text}' is neither a folder nor a known name ({known})")
    return path
