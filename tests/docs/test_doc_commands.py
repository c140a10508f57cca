"""Every shell command in README.md and docs/*.md runs as written, or says what it needs.

The convention (which lines are commands, the markers) is in tests/doc_blocks.py. The
runnable commands of a page run in order in one temporary folder (a later command may
use what an earlier one wrote, e.g. `render ... audition:audition:2` after `audition`),
with the data and cache folders inside it and `gansynth-live` / `python` meaning this
interpreter's; each must exit with status 0. Marked commands are not run, but their
`gansynth-live` arguments must parse, the scripts and modules they name must exist, and
a `serve --config FILE` must load FILE from the page's toml block.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from doc_blocks import ROOT, gansynth_args, pages, parse_cli, serve_config, shell_segments

PAGES = pages()
COMMAND_TIMEOUT_S = 300


def _page_id(page) -> str:
    return str(page.path.relative_to(ROOT))


def test_pages_follow_the_convention():
    errors = [error for page in PAGES for error in page.errors]
    assert not errors, "\n".join(errors)
    assert any(c.marks for page in PAGES for c in page.commands)


def _python_target_problem(words: list[str]) -> str | None:
    """A `python -m MODULE` or `python SCRIPT --flag ...` whose module, script or flag is
    missing."""
    args = words[1:]
    if args[:1] == ["-m"]:
        module = args[1]
        if importlib.util.find_spec(module) is None:
            return f"no module {module}"
        return None
    if not args or not args[0].endswith(".py"):
        return None
    script = ROOT / args[0]
    if not script.is_file():
        return f"no script {args[0]} in the repository"
    source = script.read_text()
    missing = [a.split("=")[0] for a in args[1:]
               if a.startswith("--") and f'"{a.split("=")[0]}"' not in source]
    return f"{args[0]} has no option {', '.join(missing)}" if missing else None


def test_documented_commands_are_accepted(tmp_path):
    """Marked or not: gansynth-live arguments parse; scripts, modules and configs exist."""
    problems = []
    for page in PAGES:
        for command in page.commands:
            for words in shell_segments(command.text):
                try:
                    args = gansynth_args(words)
                    if args is not None:
                        namespace = parse_cli(args)
                        if namespace is not None and namespace.command == "serve":
                            serve_config(namespace, page, tmp_path)
                        continue
                    if words[0] in ("python", "python3") or words[0].endswith("/python"):
                        problem = _python_target_problem(words)
                        if problem:
                            problems.append(f"{command.where}: {problem}")
                    elif words[0] == "bash" and len(words) > 1 and \
                            not (ROOT / words[1]).is_file():
                        problems.append(f"{command.where}: no script {words[1]}")
                except Exception as exc:  # CliError, or a GansynthLiveError from the config
                    problems.append(f"{command.where}: {command.text!r}: {exc}")
    assert not problems, "\n".join(problems)


def _workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in (("gansynth-live", f'"{sys.executable}" -m gansynth_live'),
                         ("python", f'"{sys.executable}"'), ("python3", f'"{sys.executable}"')):
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ,
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])),
               GANSYNTH_LIVE_DATA_DIR=str(tmp_path / "data"),
               GANSYNTH_LIVE_CACHE_DIR=str(tmp_path / "cache"),
               MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    return work, env


RUNNABLE = [page for page in PAGES if any(not c.marks for c in page.commands)]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=_page_id)
def test_runnable_commands_run(page, tmp_path):
    work, env = _workspace(tmp_path)
    timings = []
    for command in (c for c in page.commands if not c.marks):
        started = time.monotonic()
        try:
            result = subprocess.run(["bash", "-o", "pipefail", "-c", command.text], cwd=work,
                                    env=env, capture_output=True, text=True,
                                    timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command.where}: `{command.text}` ran past {COMMAND_TIMEOUT_S} s")
        timings.append(f"{time.monotonic() - started:6.1f} s  {command.text}")
        output = (result.stdout + result.stderr)[-4000:]
        assert result.returncode == 0, (
            f"{command.where}: `{command.text}` exited {result.returncode} (if it needs a "
            f"device, the network or long work, mark it: tests/doc_blocks.py)\n{output}")
    print("\n".join(timings))


def test_the_readme_commands_are_marked_not_skipped():
    """The set-up commands are marked (they install software); nothing marked runs."""
    readme = next(p for p in PAGES if p.path.name == "README.md")
    setup = [c for c in readme.commands if c.text.startswith("bash scripts/install-system-deps")]
    assert len(setup) == 2 and all("needs the network" in c.marks for c in setup)
    assert not [c for p in RUNNABLE for c in p.commands
                if not c.marks and re.search(r"\bserve\b(?!.*--list-devices)", c.text)], \
        "a serve command (needs a sound card) is not marked"
