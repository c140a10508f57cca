"""README.md and docs/*.md: the set-up commands are real, links resolve, presets ship.

README.md is written by hand; the pages under docs/ are linked from it. Which lines
count as commands: tests/doc_blocks.py (tests/docs/test_doc_commands.py runs them).
"""

from __future__ import annotations

import re
from pathlib import Path

from doc_blocks import ROOT, heading_anchors, links, pages, presets_named

SHIPPED_PRESETS = ROOT / "presets"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^    (bash scripts/install-system-deps.sh && .*)$", readme, re.M)
    assert len(commands) == 2, commands
    assert commands[0].endswith(".venv/bin/gansynth-live serve")
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_relative_links_resolve():
    problems = []
    for page in pages():
        for line, target in links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            path = (page.path.parent / path_part).resolve() if path_part else page.path
            where = f"{page.path.relative_to(ROOT)}:{line}"
            if not path.is_relative_to(ROOT):
                problems.append(f"{where}: {target} points outside the repository")
            elif not path.exists():
                problems.append(f"{where}: {target}: no such file")
            elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
                problems.append(f"{where}: {target}: no heading with that anchor")
    assert not problems, "\n".join(problems)


def test_the_readme_links_every_page_under_docs():
    linked = {(ROOT / target.partition("#")[0]).resolve()
              for page in pages() if page.path.name == "README.md"
              for _, target in links(page)}
    missing = [p.name for p in sorted((ROOT / "docs").glob("*.md"))
               if p.resolve() not in linked]
    assert not missing, f"pages under docs/ that README.md does not link: {missing}"


def test_every_preset_named_in_the_docs_ships(tmp_path):
    shipped = {p.stem for p in SHIPPED_PRESETS.glob("*.json")} | \
        {p.stem for p in SHIPPED_PRESETS.glob("*.toml")}
    assert "default" in shipped and len(shipped) > 10
    named = [(where, name) for page in pages() for where, name in presets_named(page, tmp_path)]
    assert named, "no preset names found: is the extraction broken?"
    missing = [f"{where}: {name!r}" for where, name in named if name not in shipped]
    assert not missing, "presets named in the docs that do not ship in presets/:\n" + \
        "\n".join(missing)
