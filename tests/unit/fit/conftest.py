"""A tiny rendered note set (2 GM programs x 3 pitches) shared by the fit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


@pytest.fixture(scope="session")
def soundfont() -> Path:
    if not SOUNDFONT.is_file():
        pytest.fail(f"{SOUNDFONT} missing: run scripts/install-system-deps.sh "
                    "(fluid-soundfont-gm)")
    return SOUNDFONT


@pytest.fixture(scope="session")
def tiny_rendered(soundfont, tmp_path_factory) -> Path:
    from gansynth_live.fit.dataset import RenderSettings, render_dataset
    from gansynth_live.fit.programs import by_name

    progs = by_name()
    settings = RenderSettings(soundfont, (progs["flute"], progs["trumpet"]),
                              (48, 60, 72), (100,))
    return render_dataset(settings, tmp_path_factory.mktemp("fit-data"))
