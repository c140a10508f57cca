"""No pickle anywhere: caches, presets and models are plain data formats only."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Built so that this file does not match itself.
PATTERNS = [re.compile(p) for p in (
    r"\bimport\s+" + "pickle", r"\bfrom\s+" + "pickle" + r"\b", r"\bc" + "Pickle",
    "allow_" + r"pickle\s*=\s*True", r"\bimport\s+" + "dill", r"\bjoblib\.load",
    r"torch\.load")]


def test_no_pickle_in_sources():
    offenders = []
    for folder in ("gansynth_live", "bench", "scripts", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in PATTERNS:
                if pattern.search(text):
                    offenders.append(f"{path.relative_to(ROOT)}: {pattern.pattern}")
    assert not offenders, offenders


def test_scanner_catches_pickle(tmp_path):
    sample = "import " + "pickle\nnp.load(f, allow_" + "pickle=True)\n"
    assert sum(bool(p.search(sample)) for p in PATTERNS) >= 2
