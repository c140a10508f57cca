"""Shared fixtures: the magenta-written tiny checkpoint and its reference outputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
TINY_MODEL = SHARED / "fixtures" / "gansynth-tiny"
TINY_REFERENCE = SHARED / "fixtures" / "gansynth-tiny-reference.npz"


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    if not TINY_MODEL.is_dir():
        pytest.fail(f"test fixture missing: {TINY_MODEL} (the shared/ folder beside the repo)")
    return TINY_MODEL


@pytest.fixture(scope="session")
def tiny_reference() -> dict[str, np.ndarray]:
    with np.load(TINY_REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from gansynth_live.model import load_model

    return load_model(tiny_model_dir)


@pytest.fixture(autouse=True)
def no_shipped_presets(request, tmp_path_factory, monkeypatch):
    """Tests see no shipped presets unless marked `shipped_presets`: the library of the
    default model must not change what unit tests of preset stepping expect."""
    if request.node.get_closest_marker("shipped_presets") is None:
        monkeypatch.setattr("gansynth_live.presets.SHIPPED_DIR",
                            tmp_path_factory.mktemp("no-shipped-presets"))
