"""The status line's text, and how it is drawn on a terminal and in a log."""

from __future__ import annotations

import io

from gansynth_live.live.instrument import InstrumentState
from gansynth_live.live.status import Console, format_status
from gansynth_live.live.timbre_space import BankProgress
from gansynth_live.presets import Envelope


class Stats:
    voices_sounding, polyphony, xruns, notes_refused, events_refused = 3, 64, 2, 0, 0
    dsp_load = 0.123


class Osc:
    clients, bad_total, refused = 1, 5, 1


def state(**kw):
    base = dict(x=0.5, y=0.25, shape="square", corners=("a", "b", "c", "d"), preset="warm pad",
                volume=0.5, gain_db=0.0, envelope=Envelope(), bend_range=2.0, recording=False,
                record_seconds=0.0, record_path="", learning="", midi_map="",
                progress=BankProgress(4, 9, 61, 100))
    base.update(kw)
    return InstrumentState(**base)


def test_format():
    line = format_status(state(), Stats(), 2, Osc(), 75.0)
    assert line == ("voices 3/64 | xruns 2 | cpu 12% | banks 4/9, notes 61% | morph 0.50,0.25 | "
                    "preset warm pad | midi 2 in | osc 1 client, 6 bad | rec 1:15")
    quiet = format_status(state(shape="point", preset=""), Stats(), None, None, None, True)
    assert "morph - (one timbre)" in quiet and "midi" not in quiet and "rec session" in quiet


def test_terminal_redraws_in_place_and_messages_go_above():
    out = io.StringIO()
    console = Console(out, tty=True)
    console.status("one")
    console.status("one")  # unchanged: nothing written
    console.message("port opened")
    console.status("two")
    console.finish()
    assert out.getvalue() == ("\r\x1b[2Kone" "\r\x1b[2Kport opened\none"
                              "\r\x1b[2Ktwo" "\n")


def test_logs_get_changed_lines_only_now_and_then():
    out = io.StringIO()
    console = Console(out, tty=False, plain_every_s=3600)
    console.status("a")
    console.status("b")  # too soon
    console.message("note")
    assert out.getvalue() == "a\nnote\n"


def test_osc_kernel_drops_show():
    class Flooded(Osc):
        kernel_drops = 1234

    line = format_status(state(), Stats(), None, Flooded(), None)
    assert "osc 1 client, 6 bad, 1234 dropped" in line


def test_the_line_says_where_the_banks_are_made_with_a_generator_server():
    line = format_status(state(), Stats(), None, None, None, False,
                         "banks here (generator unreachable)")
    assert "| banks here (generator unreachable) |" in line
    assert "generator" not in format_status(state(), Stats(), None, None, None)
