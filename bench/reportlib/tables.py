"""Read the figures back out of the benchmarks' printed tables.

The benchmarks print for people (markdown tables, aligned columns); the report
takes a few cells from them by row label. A label not found gives None, and the
report says "not measured" rather than guessing.
"""

from __future__ import annotations

import re


def markdown_rows(text: str, title_part: str) -> list[list[str]]:
    """The body rows of the first markdown table under a `## ...title_part...` heading."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## ") and title_part in line:
            rows = []
            for row in lines[i + 1:]:
                if row.startswith("## "):
                    break
                if row.startswith("|") and not set(row) <= set("|- "):
                    rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows[1:]  # without the header
    return []


def find_row(rows: list[list[str]], label_start: str) -> list[str] | None:
    return next((r for r in rows if r and r[0].startswith(label_start)), None)


def number(cell: str | None) -> float | None:
    if cell is None:
        return None
    match = re.search(r"-?\d+(\.\d+)?", cell)
    return float(match.group()) if match else None


def generate_rows(text: str) -> list[dict]:
    """bench/generate.py's whitespace table: model, path, batch, s/bank, notes/s, CPU s,
    and (when printed) one note's seconds at batch 1 and the load average. magenta's row
    is `full magenta-2.1.4 8 ...` (one word for the path, so it parses like the others)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0] in ("full", "tiny", "default") and parts[2].isdigit():
            row = {"model": parts[0], "path": parts[1], "batch": int(parts[2]),
                   "s_per_bank": float(parts[3]), "notes_per_s": float(parts[4]),
                   "cpu_s": float(parts[5])}
            if len(parts) >= 8:
                row["one_note_s"], row["load1"] = number(parts[6]), number(parts[7])
            out.append(row)
    return out


def aligned_value(text: str, label_start: str) -> str | None:
    """bench/banks.py's aligned table: the value after a row's label."""
    for line in text.splitlines():
        if line.startswith(label_start):
            rest = line[len(label_start):].strip()
            return rest.split("  ")[0].strip() if rest else None
    return None
