"""The NoteBank contract stays compatible with code written before NoteSlot.gain."""

from __future__ import annotations

import numpy as np
import pytest

from gansynth_live.banks.bank import BankLayers, NoteBank, NoteSlot


def test_slot_without_gain_keeps_meaning():
    slot = NoteSlot(60, 0, 4, 1, 3, 0.5, 0.3)  # the 7 fields the engine knows
    assert slot.gain == 1.0 and slot.loops
    bank = NoteBank(48000, np.array([0.0, 0.5, -0.5, 0.25], np.float32), {60: slot})
    assert np.array_equal(bank.note_audio(60), [0.0, 0.5, -0.5, 0.25])
    assert bank.amplitude(slot) == 1.0 and bank.nbytes == 16


def test_int16_bank_amplitude_is_scale_times_gain():
    slot = NoteSlot(60, 0, 2, 2, 2, 0.2, 0.1, gain=0.2)
    bank = NoteBank(48000, np.array([32767, -32767], np.int16), {60: slot}, scale=1 / 32767)
    assert np.allclose(bank.note_audio(60), [0.2, -0.2])
    assert not slot.loops


def test_nearest_prefers_playing_slower():
    slots = {p: NoteSlot(p, 0, 1, 1, 1, 0.0, 0.0) for p in (60, 62)}
    bank = NoteBank(48000, np.zeros(1, np.int16), slots)
    slot, ratio = bank.nearest(61)
    assert slot.pitch == 62 and ratio == pytest.approx(2 ** (-1 / 12))
    with pytest.raises(LookupError):
        NoteBank(48000, np.zeros(1, np.int16), {}).nearest(60)
    with pytest.raises(ValueError):
        BankLayers((bank, bank), (0.7, 0.7))
