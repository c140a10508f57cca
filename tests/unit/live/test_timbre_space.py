"""The timbre space: merged layers, triangle resolutions, handle reuse and release."""

from __future__ import annotations

import numpy as np
import pytest
from tone_model import FUNDAMENTAL, OCTAVE

from gansynth_live.live.follower import same_layers
from gansynth_live.live.timbre_space import BankProgress, GridSpace, grid_resolution, merge_layers
from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine.synthetic import synthetic_bank


@pytest.fixture(scope="module")
def banks():
    return [synthetic_bank(range(60, 62), latent_id=str(k)) for k in range(3)]


def test_merge_layers_sums_repeated_banks(banks):
    a, b, _ = banks
    merged = merge_layers(BankLayers((a, b, a, b), (0.1, 0.2, 0.3, 0.4)))
    assert merged.banks == (a, b) and merged.weights == pytest.approx((0.4, 0.6))
    assert merge_layers(BankLayers((a, b), (1.0, 0.0))).banks == (a,)
    single = BankLayers.single(a)
    assert merge_layers(single) is single and merge_layers(None) is None


def test_same_layers_compares_identity_and_weights(banks):
    a, b, _ = banks
    assert same_layers(BankLayers((a, b), (0.5, 0.5)), BankLayers((a, b), (0.50001, 0.49999)))
    assert not same_layers(BankLayers((a, b), (0.5, 0.5)), BankLayers((a, b), (0.6, 0.4)))
    assert not same_layers(BankLayers.single(a), BankLayers.single(b))
    assert same_layers(None, None) and not same_layers(None, BankLayers.single(a))


def test_triangle_resolutions():
    assert grid_resolution(3, 4) == 5 and grid_resolution(3, 3) == 3
    assert grid_resolution(4, 4) == 4 and grid_resolution(2, 99) == 33


def test_progress_text():
    assert BankProgress(4, 9, 61, 100).describe() == "banks 4/9, notes 61%"
    assert BankProgress(9, 9, 100, 100).describe() == "banks 9/9"
    assert BankProgress().fraction == 0.0


def test_space_reuses_handles_and_releases_the_rest(tone_service):
    third = np.array([1.0, -1, 1, -1, 1, -1, 1, -1])
    line = GridSpace(tone_service, [FUNDAMENTAL, third], resolution=5)
    assert line.shape == "line" and len(line.handles()) == 5
    square = GridSpace(tone_service, [FUNDAMENTAL, third, OCTAVE, OCTAVE], resolution=2,
                       previous=line)
    kept = {id(h) for h in line.handles()} & {id(h) for h in square.handles()}
    assert len(kept) == 2  # the two shared corners keep their handles
    dropped = [h for h in line.handles() if id(h) not in kept]
    line.release(square)
    for handle in dropped:
        handle.wait(10)
        assert handle.state in ("cancelled", "done")
    assert all(h.state != "cancelled" for h in square.handles())
    point = GridSpace(tone_service, [OCTAVE] * 4, previous=square)
    assert point.shape == "point" and len(point.handles()) == 1
    assert point.handles()[0] in square.handles()
    point.handles()[0].wait(10)
    assert point.layers_at(0.3, 0.7).banks == (point.handles()[0].current,)
    assert point.progress().complete


def test_merge_layers_keeps_the_reach_of_layers_with_corners(banks):
    a, b, c = banks
    reach = BankLayers((a, b, c), (0.5, 0.5, 0.0), ((0.0, 0.0), (0.5, 0.0), (1.0, 0.0)),
                       (0.25, 0.0))
    assert merge_layers(reach) is reach  # the weight-0 bank is where notes may glide
    repeated = BankLayers((a, a, c), (0.5, 0.5, 0.0), ((0.0, 0.0), (0.5, 0.0), (1.0, 0.0)),
                          (0.25, 0.0))
    assert merge_layers(repeated) is repeated  # the engine reads `a` once (prepare_layers)
