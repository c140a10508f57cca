"""A wheel installed outside the checkout has everything a user needs.

The wheel is built from this checkout and installed into a fresh virtual environment
in a temporary folder, run from another temporary folder: presets, the TouchOSC layout
and the example MIDI files must come from the installed package, not from the checkout.
The new environment borrows the heavy dependencies (TensorFlow, ...) from the test
interpreter's site-packages through a plain path entry (`deps.pth`): a path, not a site
folder, so the checkout's editable-install hook in there never runs and the only
gansynth_live it can import is the wheel's (asserted below).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gansynth_live.shipped import IN_CHECKOUT

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(args: list, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(gansynth-live executable, its environment, a working folder outside the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", root / "dist", REPO], cwd=root, env=env)
    (wheel,) = (root / "dist").glob("gansynth_live-*.whl")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root, env=env)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", wheel], cwd=root, env=env)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=root, env=env).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = root / "work"
    work.mkdir()
    env.update(GANSYNTH_LIVE_DATA_DIR=str(root / "data"), GANSYNTH_LIVE_CACHE_DIR=str(root / "cache"))
    return venv / "bin" / "gansynth-live", env, work, wheel


def test_the_wheel_carries_the_shipped_files(installed):
    *_, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, pattern in (("presets", "*.json"), ("touchosc", "*.tosc"), ("examples", "*.mid")):
        shipped = sorted((REPO / folder).glob(pattern))
        assert shipped
        for path in shipped:
            assert f"gansynth_live/_shipped/{folder}/{path.name}" in names


def test_the_installed_package_is_the_wheel(installed):
    exe, env, work, _ = installed
    out = run([exe.parent / "python", "-c", "import gansynth_live, gansynth_live.shipped as s; "
               "print(gansynth_live.__file__); print(s.shipped_dir('presets'))"],
              cwd=work, env=env).stdout.split()
    assert all(not Path(p).is_relative_to(REPO) for p in out), out
    assert not Path(out[0]).is_relative_to(IN_CHECKOUT)


def test_preset_list_shows_the_whole_shipped_library(installed):
    exe, env, work, _ = installed
    listing = run([exe, "preset", "list"], cwd=work, env=env).stdout
    for preset in (REPO / "presets").glob("*.json"):
        assert f" {preset.stem} " in listing, preset.stem
    assert str(REPO) not in listing


def test_render_plays_a_packaged_example_with_shipped_presets(installed):
    exe, env, work, _ = installed
    out = work / "arpeggio.wav"
    run([exe, "render", "example:arpeggio", "--instrument", "grand_piano@0",
         "--instrument", "harp@4", "--out", out, "--quiet"], cwd=work, env=env)
    audio, rate = sf.read(out)
    assert rate == 16000 and len(audio) > 10 * rate
    assert np.sqrt(np.mean(audio ** 2)) > 1e-3


def test_the_touchosc_layout_is_written_where_asked(installed):
    exe, env, work, _ = installed
    target = work / "stage" / "my-layout.tosc"
    target.parent.mkdir()
    run([exe, "touchosc", "--out", target], cwd=work, env=env)
    assert target.read_bytes() == (REPO / "touchosc" / "gansynth-live.tosc").read_bytes()
    refused = subprocess.run([exe, "touchosc", "--out", target], cwd=work, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "--force" in refused.stderr
