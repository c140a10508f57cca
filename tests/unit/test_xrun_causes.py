"""The soak's reading of jackd's log (bench/soaklib/xrun_causes.py): one xrun event per
cause, however many notifications it sent, and the cause named from the log's order.

The lines are jackd 1.9.21's, as a soak's logs hold them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from soaklib.xrun_causes import JackLogWindow, classify  # noqa: E402

DRIVER = "JackTimedDriver::Process XRun = 13 usec"
END = "JackAudioDriver::ProcessGraphAsyncMaster: Process error"


def unfinished(client: str, state: str) -> str:
    return f"JackEngine::XRun: client = {client} was not finished, state = {state}"


def test_a_late_driver_and_the_clients_it_found_busy_are_one_event():
    causes = classify([DRIVER, unfinished("gansynth-live", "Running"),
                       unfinished("probe", "Triggered"), END])
    assert (causes.events, causes.notifications, causes.driver_late) == (1, 3, 1)
    assert causes.overran_events == 0 and causes.not_woken == 0


def test_a_client_check_without_the_driver_is_the_clients():
    causes = classify(["JACK server starting in realtime mode with priority 70",
                       unfinished("ref-jack", "Triggered"), END,
                       unfinished("ref-jack", "Running"), unfinished("keys", "Triggered"), END,
                       DRIVER, END,  # a late driver whose clients had all finished
                       unfinished("ref-jack", "Running"), END])
    assert causes.events == 4 and causes.notifications == 5
    assert (causes.driver_late, causes.not_woken, causes.overran_events) == (1, 1, 2)
    assert causes.clients_overran == {"ref-jack": 2}
    assert causes.clients_not_woken == {"ref-jack": 1}
    assert causes.summary().endswith("a client not woken 1 (ref-jack 1), a client overran 2 "
                                     "(ref-jack 2)")


def test_a_window_reads_only_the_lines_after_its_mark(tmp_path):
    log = tmp_path / "jackd.log"
    log.write_text("\n".join([DRIVER, unfinished("a", "Running"), END]) + "\n")
    window = JackLogWindow(log)
    window.mark()
    assert window.read().events == 0
    with open(log, "a") as out:
        out.write("\n".join([unfinished("b", "Running"), END]) + "\n")
    assert window.read().clients_overran == {"b": 1}
    assert JackLogWindow(tmp_path / "missing.log").read() is None
