"""Controller -> morph axis mapping and MIDI learn."""

from __future__ import annotations

import pytest

from gansynth_live.inputs.cc_map import CCMap, CCMapError


def test_default_mod_wheel_drives_x():
    cc = CCMap()
    assert cc.handle(1, 127) == ("x", 1.0)
    assert cc.handle(2, 0) == ("y", 0.0)
    assert cc.handle(7, 64) is None


def test_learn_takes_next_controller_and_frees_it_from_the_other_axis():
    notes = []
    cc = CCMap(x_cc=1, y_cc=74, on_change=notes.append)
    cc.learn("y")
    assert cc.learning == "y"
    assert cc.handle(1, 64) == ("y", 64 / 127)  # CC1 now drives y, no longer x
    assert cc.learning is None and cc.cc_for("y") == 1 and cc.cc_for("x") is None
    assert "CC1" in notes[0]


def test_learn_ignores_pedals_and_mode_messages():
    cc = CCMap()
    cc.learn("x")
    assert cc.handle(64, 127) is None and cc.handle(123, 0) is None
    assert cc.learning == "x"
    cc.handle(20, 10)
    assert cc.cc_for("x") == 20
    cc.learn("y")
    cc.learn(None)
    cc.handle(21, 5)
    assert cc.cc_for("y") == 2


@pytest.mark.parametrize("number", [64, 120, 128, -1, True, 1.5])
def test_reserved_or_invalid_numbers_are_refused(number):
    with pytest.raises(CCMapError):
        CCMap(x_cc=number)


def test_one_controller_cannot_drive_both_axes():
    with pytest.raises(CCMapError):
        CCMap(x_cc=5, y_cc=5)
    assert CCMap(x_cc=None, y_cc=None).handle(1, 64) is None
