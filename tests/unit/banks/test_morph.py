"""The morph grid: latents like magenta's interpolation, fill order, layers at a position."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from gansynth_live.banks.arena import BankArena
from gansynth_live.banks.bank import NoteBank
from gansynth_live.banks.morph import MorphGrid, axis_levels, triangle_weights
from gansynth_live.interpolation import slerp
from gansynth_live.banks.service import BankService


def magenta_slerp(p0, p1, t):
    """generate_util.slerp from magenta, as published."""
    omega = np.arccos(np.dot(np.squeeze(p0 / np.linalg.norm(p0)),
                             np.squeeze(p1 / np.linalg.norm(p1))))
    so = np.sin(omega)
    return np.sin((1.0 - t) * omega) / so * p0 + np.sin(t * omega) / so * p1


def anchors(k: int, size: int = 16) -> np.ndarray:
    return np.random.RandomState(k).normal(size=(k, size))


@dataclass
class FixedHandle:
    """A handle whose bank is set by the test (the grid only reads `current`)."""

    current: NoteBank | None = None
    finished: bool = True
    state: str = "done"


def bank(tag: int, complete: bool = True) -> NoteBank:
    arena = BankArena(16, 48000, f"b{tag}")
    arena.add_stored(60, np.full(16, tag, np.int16), 1.0, 0, 0, 1.0, 1.0)
    return arena.snapshot(complete)


def grid(k: int, n: int) -> MorphGrid:
    return MorphGrid(service=None, anchors=anchors(k), resolution=n)  # type: ignore[arg-type]


def fill(g: MorphGrid, complete_levels: set[int], partial_levels: set[int] = frozenset()):
    tags = {}
    for i, (idx, point) in enumerate(sorted(g.points.items())):
        if point.level in complete_levels:
            point.handle = FixedHandle(bank(i))
        elif point.level in partial_levels:
            point.handle = FixedHandle(bank(i, complete=False), finished=False)
        else:
            point.handle = FixedHandle(None, finished=False)
        tags[idx] = f"b{i}"
    return tags


def as_dict(layers):
    return {b.latent_id: round(w, 6) for b, w in zip(layers.banks, layers.weights)}


def test_slerp_is_magentas():
    a, b = anchors(2, 256)
    for t in (0.0, 0.3, 0.5, 1.0):
        assert np.allclose(slerp(a, b, t), magenta_slerp(a, b, t))
    assert np.all(np.isfinite(slerp(a, a, 0.5))) and np.allclose(slerp(a, a, 0.5), a)


def test_axis_levels_refine_coarse_to_fine():
    assert axis_levels(2) == [0, 0]
    assert axis_levels(3) == [0, 1, 0]
    assert axis_levels(5) == [0, 2, 1, 2, 0]
    assert axis_levels(4) == [0, 1, 2, 0]


def test_grid_latents_follow_the_anchors():
    g = grid(4, 3)
    a = g.anchors
    assert np.allclose(g.points[(0, 0)].latent, a[0]) and np.allclose(g.points[(2, 2)].latent, a[3])
    centre = slerp(slerp(a[0], a[1], 0.5), slerp(a[2], a[3], 0.5), 0.5)
    assert np.allclose(g.points[(1, 1)].latent, centre)
    line = grid(2, 5)
    assert np.allclose(line.points[(2, 0)].latent, magenta_slerp(*line.anchors, 0.5))
    linear = MorphGrid(None, anchors(2), 3, interpolation="linear")  # type: ignore[arg-type]
    assert np.allclose(linear.points[(1, 0)].latent, linear.anchors.mean(axis=0))
    tri = grid(3, 3)
    assert len(tri.points) == 6
    assert np.allclose(tri.points[(0, 2)].latent, tri.anchors[2])


def test_fill_order_is_coarse_to_fine_and_follows_focus():
    g = grid(4, 5)
    order = g.order()
    levels = [p.level for p in order]
    assert levels == sorted(levels)
    assert {p.index for p in order[:4]} == {(0, 0), (4, 0), (0, 4), (4, 4)}
    assert order[4].index == (2, 2)
    g.focus(1.0, 0.0)
    assert g.order()[0].index == (4, 0)


def weighted(layers):
    return {k: w for k, w in as_dict(layers).items() if w > 0.0}


def test_layers_use_the_finest_complete_cell():
    g = grid(4, 3)
    tags = fill(g, {0, 1})
    layers = g.layers_at(0.25, 0.25)
    assert g.nbytes == 9 * 32 and g.progress == (9, 9)
    assert weighted(layers) == {tags[(0, 0)]: 0.25, tags[(1, 0)]: 0.25, tags[(0, 1)]: 0.25,
                                tags[(1, 1)]: 0.25}
    assert weighted(g.layers_at(0.5, 0.5)) == {tags[(1, 1)]: 1.0}  # on a grid point: one bank
    assert weighted(g.layers_at(1.0, 0.0)) == {tags[(2, 0)]: 1.0}
    assert weighted(g.layers_at(7.0, -3.0)) == {tags[(2, 0)]: 1.0}  # clamped


def test_layers_carry_the_grid_points_around_the_position_for_per_note_expression():
    g = grid(4, 5)
    tags = fill(g, {0, 1, 2})
    on_point = g.layers_at(0.5, 0.5)  # on a grid point: the 3 x 3 points around it come too
    assert set(as_dict(on_point)) == {tags[(i, j)] for i in (1, 2, 3) for j in (1, 2, 3)}
    assert on_point.position == (0.5, 0.5) and len(on_point.corners) == 9
    inside = g.layers_at(0.3, 0.6)  # nearest point (1, 2): columns 0..2, rows 1..3
    assert set(as_dict(inside)) == {tags[(i, j)] for i in (0, 1, 2) for j in (1, 2, 3)}
    assert len(weighted(inside)) == 4
    corner = g.layers_at(0.0, 1.0)  # at the edge the reach stops at the grid
    assert set(as_dict(corner)) == {tags[(i, j)] for i in (0, 1) for j in (3, 4)}
    line = grid(2, 5)
    line_tags = fill(line, {0, 1, 2})
    assert set(as_dict(line.layers_at(0.5))) == {line_tags[(i, 0)] for i in (1, 2, 3)}
    coarse = grid(4, 5)
    coarse_tags = fill(coarse, {0, 1})  # the finest level is not made yet: the reach is coarse
    assert set(as_dict(coarse.layers_at(0.5, 0.5))) == \
        {coarse_tags[(i, j)] for i in (0, 2, 4) for j in (0, 2, 4)}


def test_layers_fall_back_to_coarser_cells_and_partial_anchors():
    g = grid(4, 3)
    tags = fill(g, {0})
    layers = g.layers_at(0.25, 0.5)
    assert weighted(layers) == {tags[(0, 0)]: 0.375, tags[(2, 0)]: 0.125, tags[(0, 2)]: 0.375,
                                tags[(2, 2)]: 0.125}
    g = grid(4, 3)
    tags = fill(g, set(), partial_levels={0})  # only partial anchors: play them anyway
    assert sum(g.layers_at(0.5, 0.5).weights) == pytest.approx(1.0)
    g = grid(4, 3)
    fill(g, set())
    assert g.layers_at(0.5, 0.5) is None
    g.points[(1, 1)].handle = FixedHandle(bank(99, complete=False), finished=False)
    assert weighted(g.layers_at(0.0, 0.0)) == {"b99": 1.0}  # anything beats silence


def test_triangle_weights_and_cells():
    assert triangle_weights(0, 0) == (1.0, 0.0, 0.0)
    assert triangle_weights(0.5, 1.0) == (0.0, 0.0, 1.0)
    assert sum(triangle_weights(0.9, 0.9)) == pytest.approx(1.0)  # outside: clamped
    g = grid(3, 3)
    tags = fill(g, {0, 1})
    assert as_dict(g.layers_at(0.5, 0.0)) == {tags[(1, 0)]: 1.0}
    layers = as_dict(g.layers_at(0.5, 1 / 3))  # the centroid of the big triangle
    assert list(layers.values()) == pytest.approx([1 / 3] * 3, abs=1e-6)
    assert set(layers) == {tags[(1, 0)], tags[(0, 1)], tags[(1, 1)]}
    with pytest.raises(ValueError):
        grid(3, 4)


def test_bad_grids_are_refused():
    with pytest.raises(ValueError):
        MorphGrid(None, anchors(1), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MorphGrid(None, np.zeros((5, 4)), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MorphGrid(None, anchors(2), 1)  # type: ignore[arg-type]


def test_line_grid_on_the_model_requests_coarse_first(tiny_model):
    """Three banks on a line, each stopped after its first note: anchors come first."""
    ends = np.random.RandomState(3).normal(size=(2, 256))
    firsts = []
    all_started = threading.Event()
    service = BankService(tiny_model)  # started once every request is queued
    g = MorphGrid(service, ends, resolution=3)
    g.start()
    g.prioritize([60])
    assert g.layers_at(0.5) is None  # nothing generated yet

    def first_note(idx):
        def listener(h):
            if h.current is not None and not h.finished:
                firsts.append(idx)
                h.cancel()
                if len(firsts) == 3:
                    all_started.set()
        return listener

    for idx, point in g.points.items():
        point.handle.add_listener(first_note(idx))
    with service:
        assert all_started.wait(60)
    assert firsts[2] == (1, 0) and set(firsts[:2]) == {(0, 0), (2, 0)}
    assert all(list(p.bank.slots) == [60] for p in g.points.values())
    # partial banks everywhere: the middle of the line plays the two (partial) anchors
    layers = g.layers_at(0.5)
    assert sorted(layers.weights) == [0.5, 0.5]
    assert {b.latent_id for b in layers.banks} == {g.points[(0, 0)].bank.latent_id,
                                                   g.points[(2, 0)].bank.latent_id}
    assert g.progress == (0, 3)
