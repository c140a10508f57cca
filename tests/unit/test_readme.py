"""README.md is generated from docs/: it must be current, and its set-up commands real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_readme_is_built_from_docs():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_readme.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^    (bash scripts/install-system-deps.sh && .*)$", readme, re.M)
    assert len(commands) == 2, commands
    assert "gansynth-live serve" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
