"""Synthetic banks for the engine's unit tests (no model, no banks module needed)."""

from __future__ import annotations

import pytest

from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine.synthetic import synthetic_bank

from engine_testing import SR


@pytest.fixture(scope="session")
def bank():
    """Looping harmonic tones, pitches 36..84, 1 s each."""
    return synthetic_bank(range(36, 85), SR)


@pytest.fixture(scope="session")
def layers(bank):
    return BankLayers.single(bank)


@pytest.fixture(scope="session")
def fundamental_bank():
    """Pure fundamentals (one harmonic): energy only at f0."""
    return synthetic_bank(range(48, 73), SR, harmonics=1, latent_id="fundamental")


@pytest.fixture(scope="session")
def octave_bank():
    """Only the second harmonic: energy only at 2 * f0."""
    return synthetic_bank(range(48, 73), SR, harmonics=1, harmonic_offset=1, latent_id="octave")

