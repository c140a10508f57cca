"""Where the tests' own fixtures are: inside the repository, never beside it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
TINY_MODEL = FIXTURES / "gansynth-tiny"
TINY_REFERENCE = FIXTURES / "gansynth-tiny-reference.npz"
