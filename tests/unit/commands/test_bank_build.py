"""`bank build`: many banks into the cache at once, a rerun skips them (here: no cluster;
over a generate server: tests/integration/test_cluster.py)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from gansynth_live.cli import main
from gansynth_live.commands.bank_build import latents_to_build, parse_seeds
from gansynth_live.errors import GansynthLiveError
from gansynth_live.model.prior import NORMAL


def test_seed_lists_and_ranges():
    assert parse_seeds("0-3,10,2") == [0, 1, 2, 3, 10]
    for bad in ("", "3-1", "x", "-5", "0-200000"):
        with pytest.raises(GansynthLiveError, match="--seeds"):
            parse_seeds(bad)


def test_the_latents_of_seeds_and_a_grid_each_once():
    args = argparse.Namespace(presets=None, seeds="0-1", grid="seed:0,seed:1", resolution=3,
                              presets_dir=None)
    latents = latents_to_build(args, 8, NORMAL)
    assert len(latents) == 3  # the two seeds, then the line's middle point (its ends repeat)
    np.testing.assert_array_equal(latents[0], NORMAL.draw(1, 8, seed=0)[0])


def test_a_build_fills_the_cache_and_a_rerun_skips_it(tiny_model_dir, tmp_path, capsys):
    argv = ["bank", "build", "--model", str(tiny_model_dir), "--seeds", "0-1", "--rate", "16000",
            "--cache-dir", str(tmp_path)]
    assert main(argv) == 0
    assert "2 built (122 notes" in capsys.readouterr().out
    assert main(argv[:5] + ["0-2"] + argv[6:]) == 0
    assert "1 built (61 notes" in (out := capsys.readouterr().out) and \
        "2 already in the cache" in out
    assert main(["bank", "build", "--model", str(tiny_model_dir)]) == 2
    assert "name what to build" in capsys.readouterr().err
    assert main(argv + ["--cluster", "http://192.0.2.1:8100"]) == 2
    assert "not on this machine" in capsys.readouterr().err
