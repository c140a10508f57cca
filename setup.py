"""Build step that copies the shipped data files into the wheel (see gansynth_live/shipped.py).

Everything else about the package is declared in pyproject.toml. The presets, the TouchOSC
layout and the example MIDI files live at the top of the repository, where they are edited;
a wheel needs them inside the package, so `build_py` copies them to `gansynth_live/_shipped/`.
An editable install reads them from the checkout instead and copies nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"presets": ("*.json", "*.toml", "README.md"), "touchosc": ("*.tosc",),
           "examples": ("*.mid",)}


class BuildPyWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder, patterns in SHIPPED.items():
            target = Path(self.build_lib) / "gansynth_live" / "_shipped" / folder
            target.mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                for source in sorted((ROOT / folder).glob(pattern)):
                    shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildPyWithShippedFiles})
