"""The one status line `serve` keeps on screen, and messages printed above it.

On a terminal the line is redrawn in place (carriage return, clear to end of
line); messages from any thread (a MIDI port came back, a preset was saved)
are printed on their own line and the status line is drawn again below them.
When output goes to a file or a pipe (a systemd unit, a log), the status line
is printed as an ordinary line only when it changed and at most every
`plain_every_s` seconds, so logs stay readable.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def format_status(state, stats, midi_ports: int | None, osc_stats, recording_s: float | None,
                  session_recording: bool = False, generator: str = "") -> str:
    """'voices 3/64 | xruns 0 | cpu 4% | banks 4/9, notes 61% | morph 0.50,0.25 | ...'."""
    parts = [f"voices {stats.voices_sounding}/{stats.polyphony}", f"xruns {stats.xruns}",
             f"cpu {100.0 * stats.dsp_load:.0f}%"]
    if stats.notes_refused or stats.events_refused:
        parts.append(f"refused {stats.notes_refused + stats.events_refused}")
    parts.append(state.progress.describe())
    if generator:  # serve --generator: where the banks are made now
        parts.append(generator)
    if state.shape == "point":
        parts.append("morph - (one timbre)")
    else:
        parts.append(f"morph {state.x:.2f},{state.y:.2f}")
    if state.preset:
        parts.append(f"preset {state.preset}")
    if midi_ports is not None:
        parts.append(f"midi {midi_ports} in")
    if state.learning:
        parts.append(f"learning {state.learning}")
    if osc_stats is not None:
        bad = osc_stats.bad_total + osc_stats.refused
        blocked = getattr(osc_stats, "blocked", 0)
        dropped = getattr(osc_stats, "kernel_drops", 0)  # lost with the socket's buffer full
        limited = getattr(osc_stats, "limited", 0) + getattr(osc_stats, "replies_limited", 0)
        parts.append(f"osc {osc_stats.clients} client{'s' if osc_stats.clients != 1 else ''}"
                     + (f", {bad} bad" if bad else "") + (f", {blocked} blocked" if blocked else "")
                     + (f", {dropped} dropped" if dropped else "")
                     + (f", {limited} limited" if limited else ""))
    if recording_s is not None:
        minutes, seconds = divmod(int(recording_s), 60)
        parts.append(f"rec {minutes}:{seconds:02d}")
    elif session_recording:
        parts.append("rec session")
    if getattr(stats, "recorder_error", ""):
        parts.append("REC STOPPED (disk)" if "disk is full" in stats.recorder_error
                     else "REC FAILED")
    return " | ".join(parts)


class Console:
    """Status line plus messages, safe to use from several threads."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None,
                 plain_every_s: float = 10.0) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.plain_every_s = plain_every_s
        self._lock = threading.Lock()
        self._line = ""
        self._shown = False
        self._last_plain = ("", -1e9)

    def message(self, text: str) -> None:
        """Print a message above the status line. Any thread."""
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\r\x1b[2K")
            self.stream.write(text + "\n")
            if self.tty and self._line:
                self.stream.write(self._line)
                self._shown = True
            self.stream.flush()

    def status(self, line: str) -> None:
        with self._lock:
            if self.tty and line == self._line and self._shown:
                return  # unchanged: leave the terminal alone
            self._line = line
            if self.tty:
                self.stream.write("\r\x1b[2K" + line)
                self._shown = True
                self.stream.flush()
                return
            last, at = self._last_plain
            now = time.monotonic()
            if line != last and now - at >= self.plain_every_s:
                self.stream.write(line + "\n")
                self.stream.flush()
                self._last_plain = (line, now)

    def finish(self) -> None:
        """End the status line (before the program's last messages)."""
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\n")
                self.stream.flush()
            self._shown = False
            self._line = ""
