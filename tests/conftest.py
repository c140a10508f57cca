"""Shared fixtures: the magenta-written tiny checkpoint, its reference outputs, a tone bank service."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from fixture_paths import REPO, TINY_MODEL, TINY_REFERENCE

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No JACK client of the tests (PortAudio, jack.Client, a serve child) may start a JACK
# server of its own (libjack does when the named server is not running): it would be
# daemonised, out of reach of the tests' clean-up. The tests start their servers
# themselves (integration/jack_process.py).
os.environ.setdefault("JACK_NO_START_SERVER", "1")

_PYTHON = tuple({Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def _outside_repository(path: object) -> str | None:
    """The path when it names something beside the checkout (a sibling folder), else None.

    A user's clone has nothing beside it, so a test that reads there passes only on the
    developers' machines. Paths elsewhere (/tmp, site-packages, /usr) are the test's own
    business.
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        return None  # a file descriptor
    try:
        full = Path(os.path.abspath(path))
    except (TypeError, ValueError):
        return None
    if any(full.is_relative_to(p) for p in _PYTHON):
        return None  # the interpreter and its packages, wherever the venv lives
    if full.is_relative_to(REPO.parent) and not full.is_relative_to(REPO):
        return str(full)
    return None


def _guard_reads_outside_repository(event: str, args: tuple) -> None:
    if event in ("open", "os.listdir", "os.scandir") and args:
        outside = _outside_repository(args[0])
        if outside is not None:
            raise PermissionError(f"a test touched {outside}, outside the repository: "
                                  "fixtures belong under tests/ (tests/fixtures/README.md)")


sys.addaudithook(_guard_reads_outside_repository)



@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    if not TINY_MODEL.is_dir():
        pytest.fail(f"test fixture missing: {TINY_MODEL} (tests/fixtures/README.md)")
    return TINY_MODEL


@pytest.fixture(scope="session")
def tiny_reference() -> dict[str, np.ndarray]:
    with np.load(TINY_REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from gansynth_live.model import load_model

    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def tone_service():
    """A running bank service over the tone model (tests/tone_model.py): banks in milliseconds.

    One a module: the fuzz and path tests count what the service did.
    """
    from tone_model import tone_source

    from gansynth_live.banks.service import BankService

    source, settings = tone_source()
    with BankService(source, settings, None) as service:
        yield service


@pytest.fixture(autouse=True)
def no_shipped_presets(request, tmp_path_factory, monkeypatch):
    """Tests see no shipped presets unless marked `shipped_presets`: the library of the
    default model must not change what unit tests of preset stepping expect."""
    if request.node.get_closest_marker("shipped_presets") is None:
        monkeypatch.setattr("gansynth_live.presets.SHIPPED_DIR",
                            tmp_path_factory.mktemp("no-shipped-presets"))
