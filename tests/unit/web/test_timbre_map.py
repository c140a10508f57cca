"""The timbre map: classical MDS, and the shipped coordinates recomputed from the benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gansynth_live.web.timbre_map import (build_map, classical_mds, distance_matrix, map_for,
                                          shipped_maps)

ROOT = Path(__file__).resolve().parents[3]


def pairwise(points):
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


def test_classical_mds_recovers_a_planar_configuration_up_to_rotation():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(9, 2)) * [3.0, 1.0]
    placed = classical_mds(pairwise(points))
    assert placed.shape == (9, 2)
    np.testing.assert_allclose(pairwise(placed), pairwise(points), atol=1e-9)


def test_classical_mds_keeps_the_two_strongest_axes_of_higher_dimensional_data():
    rng = np.random.default_rng(4)
    points = rng.normal(size=(12, 4)) * [5.0, 3.0, 0.01, 0.01]
    placed = classical_mds(pairwise(points))
    np.testing.assert_allclose(pairwise(placed), pairwise(points), atol=0.05)


def test_the_distance_matrix_is_symmetric_and_averages_both_directions():
    rows = [{"preset": "a", "distances_db": {"b": 2.0, "c": 4.0}},
            {"preset": "b", "distances_db": {"a": 4.0, "c": 1.0}},
            {"preset": "c", "distances_db": {"a": 4.0}}]
    names, d = distance_matrix(rows)
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(d, [[0, 3, 4], [3, 0, 1], [4, 1, 0]])
    with pytest.raises(ValueError):
        distance_matrix(rows + [{"preset": "d", "distances_db": {}}])


def test_the_shipped_map_is_the_one_the_benchmark_gives():
    report = json.loads((ROOT / "docs/benchmarks/quality-default.json").read_text())
    assert shipped_maps() == [build_map(report, "default")], \
        "regenerate: python -m gansynth_live.web.timbre_map docs/benchmarks/quality-default.json"
    points = shipped_maps()[0]["points"]
    assert len(points) == len(report["distinct"]) >= 18
    assert all(0.0 <= p["x"] <= 1.0 and 0.0 <= p["y"] <= 1.0 for p in points)


def test_near_sounds_are_near_on_the_map():
    report = json.loads((ROOT / "docs/benchmarks/quality-default.json").read_text())
    names, d = distance_matrix(report["distinct"])
    at = {p["name"]: np.array([p["x"], p["y"]]) for p in shipped_maps()[0]["points"]}
    placed = pairwise(np.array([at[n] for n in names]))
    iu = np.triu_indices(len(names), 1)
    assert np.corrcoef(placed[iu], d[iu])[0, 1] > 0.7  # 2-D keeps most of the structure


def test_the_map_marks_loadable_presets_and_says_when_a_model_has_none():
    found = map_for("default", ["cello", "trumpet"])
    assert found["available"]
    loadable = {p["name"] for p in found["points"] if p["preset"]}
    assert loadable == {"cello", "trumpet"}
    missing = map_for("magenta-nsynth", ["cello"])
    assert not missing["available"] and missing["points"] == []
    assert "no timbre measurements" in missing["why"]
