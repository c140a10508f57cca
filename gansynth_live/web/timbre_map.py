"""The timbre map: presets and fitted instruments placed on a plane by how they sound.

The distances are measured already: bench/quality.py's "distinct" section
holds, for every fitted instrument of a model, its spectral-envelope distance
(dB) to every other (docs/benchmarks/quality-default.json for the default
model). Classical MDS turns that matrix into 2-D coordinates: double-centre
the squared distances, B = -1/2 J D^2 J, and take the two largest
eigenvectors of B scaled by the roots of their eigenvalues. The coordinates
are computed once, here, and shipped as package data (static/timbre-map.json)
so `serve` needs no benchmark files; tests/unit/web/test_timbre_map.py
recomputes them from the benchmark and compares.

Regenerate after a new quality run:

    python -m gansynth_live.web.timbre_map docs/benchmarks/quality-default.json
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import numpy as np

MAP_ASSET = "timbre-map.json"


def classical_mds(distances: np.ndarray, dims: int = 2) -> np.ndarray:
    """(n, dims) points whose Euclidean distances best match `distances` (symmetric, n x n)."""
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    centre = np.eye(n) - np.full((n, n), 1.0 / n)
    b = -0.5 * centre @ (d ** 2) @ centre
    values, vectors = np.linalg.eigh(b)
    order = np.argsort(values)[::-1][:dims]
    scale = np.sqrt(np.clip(values[order], 0.0, None))
    points = vectors[:, order] * scale
    for k in range(points.shape[1]):  # eigenvectors' signs are arbitrary: fix them
        if points[np.argmax(np.abs(points[:, k])), k] < 0:
            points[:, k] = -points[:, k]
    return points


def distance_matrix(distinct: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    """Names and the symmetric distance matrix (dB) of a quality report's 'distinct' rows."""
    rows = {row["preset"]: row["distances_db"] for row in distinct}
    names = sorted(rows)
    d = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j:
                there, back = rows[a].get(b), rows[b].get(a)
                known = [float(v) for v in (there, back) if v is not None]
                if not known:
                    raise ValueError(f"no distance between {a!r} and {b!r}")
                d[i, j] = sum(known) / len(known)
    return names, d


def build_map(report: dict[str, Any], model: str) -> dict[str, Any]:
    """The shipped map document for one model from its quality report."""
    names, d = distance_matrix(report["distinct"])
    points = classical_mds(d)
    low, span = points.min(axis=0), float(np.ptp(points, axis=0).max()) or 1.0
    unit = (points - low) / span  # 0..1 on the wider axis, the aspect kept
    unit += (1.0 - unit.max(axis=0)) / 2.0  # centred on the narrower one
    return {"model": model,
            "measure": "spectral-envelope distance (dB) between the fitted instruments' notes, "
                       "bench/quality.py; classical MDS",
            "points": [{"name": name, "x": round(float(x), 4), "y": round(float(y), 4)}
                       for name, (x, y) in zip(names, unit)]}


def shipped_maps() -> list[dict[str, Any]]:
    text = (resources.files(__package__) / "static" / MAP_ASSET).read_text(encoding="utf-8")
    maps = json.loads(text)
    return maps if isinstance(maps, list) else [maps]


def map_for(model_name: str | None, presets: Iterable[str]) -> dict[str, Any]:
    """What /timbre-map.json answers for the model being played: its points (each marked
    `preset` when a preset of that name can be loaded), or why there are none."""
    loadable = set(presets)
    for shipped in shipped_maps():
        if shipped["model"] == model_name:
            points = [{**p, "preset": p["name"] in loadable} for p in shipped["points"]]
            return {"model": model_name, "available": True, "measure": shipped["measure"],
                    "points": points}
    return {"model": model_name, "available": False, "points": [],
            "why": f"no timbre measurements for the model {model_name!r} (bench/quality.py "
                   "measures a model; the map ships for: "
                   + ", ".join(m["model"] for m in shipped_maps()) + ")"}


def main(argv: list[str]) -> int:
    source = Path(argv[0] if argv else "docs/benchmarks/quality-default.json")
    report = json.loads(source.read_text(encoding="utf-8"))
    model = Path(str(report.get("model", "default"))).name
    out = Path(__file__).resolve().parent / "static" / MAP_ASSET
    out.write_text(json.dumps([build_map(report, model)], indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
