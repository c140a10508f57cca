"""A morph grid larger than the bank cache or the memory is refused before generating."""

from __future__ import annotations

import io

import pytest

from gansynth_live.live.config import ServeConfig
from gansynth_live.live.grid_budget import bank_bytes, check_grid, grid_banks
from gansynth_live.live.session import Session
from gansynth_live.live.status import Console
from gansynth_live.banks.cache import DEFAULT_MAX_BYTES
from gansynth_live.errors import GansynthLiveError


def test_resolution_33_is_refused_with_the_figures():
    with pytest.raises(GansynthLiveError) as caught:
        check_grid(33, 48000, DEFAULT_MAX_BYTES)
    text = str(caught.value)
    assert "\n" not in text and "1089 banks" in text and "25.0 GB" in text
    assert "2.1 GB" in text and "--allow-large-grid" in text


def test_typical_grids_fit_and_memory_counts_too():
    check_grid(3, 48000, DEFAULT_MAX_BYTES, memory=16 * 10**9)
    check_grid(9, 48000, DEFAULT_MAX_BYTES)
    check_grid(17, 48000, None)  # no cache: only memory could refuse
    with pytest.raises(GansynthLiveError, match="of memory is available"):
        check_grid(9, 48000, None, memory=10**9)
    assert grid_banks(33) == 1089 and bank_bytes(96000) == 2 * bank_bytes(48000)


class NoSource:
    """Fails the test if the session got as far as the model."""

    def __getattr__(self, name):
        raise AssertionError("the session used the model before refusing the grid")


def test_serve_refuses_before_generating_unless_overridden():
    session = Session(ServeConfig(resolution=33), Console(io.StringIO(), tty=False),
                      source=NoSource())
    with pytest.raises(GansynthLiveError, match="1089 banks"):
        session.open()
    override = Session(ServeConfig(resolution=33, allow_large_grid=True),
                       Console(io.StringIO(), tty=False), source=NoSource())
    with pytest.raises((AssertionError, GansynthLiveError)) as caught:  # no audio device here
        override.open()
    assert "banks" not in str(caught.value)  # past the grid check
