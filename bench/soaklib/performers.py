"""The soak's performers: a JACK MIDI keyboard and an OSC control surface, in a process
of their own (`python -m soaklib.performers`, driven by `Performers`).

Why a process: in serve's process they would compete for its interpreter lock (a
keyboard thread waking every 2 ms) and the soak would measure its own harness. Here
they reach serve only through JACK MIDI and UDP, like a real keyboard and tablet.

Protocol on the child's stdin/stdout, one line each: the child says "ready" once its
MIDI port is connected; "go" starts playing; "stop" stops, releases every held key
and the pedals and answers the counts as JSON; "off" sends All Notes Off (CC 123) on
every channel played and answers the counts again; end of input quits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent.parent
CHANNELS = (0, 1)


class Keyboard(threading.Thread):
    """Random notes (about `voices` held), pedal and pitch bend through a JACK MIDI port."""

    def __init__(self, voices: int, seed: int, stop: threading.Event) -> None:
        super().__init__(name="soak keyboard", daemon=True)
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="soak-keys")
        self.out.open_virtual_port("out")
        self.port = "soak-keys:out"
        self.voices = voices
        self.rng = np.random.default_rng(seed)
        self.stop_event = stop
        self.sent = 0
        self.held: list[tuple[int, int]] = []

    def send(self, *data: int) -> None:
        self.out.send_message(list(data))
        self.sent += 1

    def run(self) -> None:
        start = time.monotonic()
        next_note = next_bend = start
        pedal_down = False
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now >= next_note:  # one note changes every 60 ms: ~16 notes/s
                self._change_a_note()
                next_note += 0.06
            if now >= next_bend:  # a slow vibrato-like sweep at 50 messages a second
                value = int(8192 + 4000 * math.sin(2 * math.pi * 0.5 * (now - start)))
                for ch in CHANNELS:
                    self.send(0xE0 | ch, value & 0x7F, value >> 7)
                next_bend += 0.02
            down = (now - start) % 3.0 < 1.0  # the pedal down one second in three
            if down != pedal_down:
                pedal_down = down
                for ch in CHANNELS:
                    self.send(0xB0 | ch, 64, 127 if down else 0)
            time.sleep(0.002)

    def _change_a_note(self) -> None:
        if len(self.held) >= self.voices or (self.held and self.rng.random() < 0.3):
            ch, pitch = self.held.pop(int(self.rng.integers(len(self.held))))
            self.send(0x80 | ch, pitch, 0)
        if len(self.held) < self.voices:
            ch = int(self.rng.integers(0, len(CHANNELS)))
            pitch = int(self.rng.integers(36, 97))
            if (ch, pitch) not in self.held:
                self.held.append((ch, pitch))
                self.send(0x90 | ch, pitch, int(self.rng.integers(40, 128)))

    def let_go(self) -> None:
        """Release every held key, then the pedals (a note-off each: nothing relies on
        All Notes Off to end a note)."""
        for ch, pitch in self.held:
            self.send(0x80 | ch, pitch, 0)
        self.held.clear()
        for ch in CHANNELS:
            self.send(0xB0 | ch, 64, 0)

    def all_notes_off(self) -> None:
        for ch in CHANNELS:
            self.send(0xB0 | ch, 123, 0)

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


class Surface(threading.Thread):
    """An OSC control surface on 127.0.0.1: the morph pad moving, corners re-rolled."""

    def __init__(self, port: int, morph_hz: float, corner_every_s: float, corners: int,
                 stop: threading.Event) -> None:
        super().__init__(name="soak surface", daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.server = ("127.0.0.1", port)
        self.morph_hz = morph_hz
        self.corner_every_s = corner_every_s
        self.corners = corners
        self.stop_event = stop
        self.sent = 0
        self.corner_changes = 0

    def send(self, address: str, *args) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        self.sock.sendto(builder.build().dgram, self.server)
        self.sent += 1

    def run(self) -> None:
        start = time.monotonic()
        next_move, next_corner = start, start + self.corner_every_s
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now >= next_move:  # two slow sines: the pad crosses the whole square
                t = now - start
                self.send("/morph/xy", 0.5 + 0.5 * math.sin(2 * math.pi * 0.13 * t),
                          0.5 + 0.5 * math.sin(2 * math.pi * 0.07 * t + 1.0))
                next_move += 1.0 / self.morph_hz
            if now >= next_corner:  # a new random timbre: its banks are generated anew
                self.send(f"/corner/{self.corner_changes % self.corners + 1}/random")
                self.corner_changes += 1
                next_corner += self.corner_every_s
            time.sleep(max(0.0, min(next_move, next_corner) - time.monotonic()))

    def close(self) -> None:
        self.sock.close()


class Performers:
    """Parent side: start the performers' process and drive it (see the module docstring)."""

    def __init__(self, osc_port: int, midi_destination: str, *, voices: int,
                 corner_every_s: float, morph_hz: float, seed: int) -> None:
        python_path = os.pathsep.join([str(BENCH.parent), str(BENCH)])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "soaklib.performers", str(osc_port), midi_destination,
             "--voices", str(voices), "--corner-every", str(corner_every_s),
             "--morph-hz", str(morph_hz), "--seed", str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=python_path))
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise RuntimeError(f"the performers did not start: {line!r}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _say(self, word: str) -> dict:
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline()) if word != "go" else {}

    def go(self) -> None:
        self._say("go")

    def stop(self) -> dict:
        """Stop playing, release every key and the pedals; the counts of what was sent."""
        return self._say("stop")

    def all_notes_off(self) -> dict:
        """Send All Notes Off on every channel played; the counts, these included."""
        return self._say("off")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def perform(osc_port: int, midi_destination: str, voices: int, corner_every_s: float,
            morph_hz: float, seed: int) -> int:
    """The performers' process: its side of the protocol in the module docstring."""
    import jack

    stop = threading.Event()
    keyboard = Keyboard(voices, seed, stop)
    surface = Surface(osc_port, morph_hz, corner_every_s, 4, stop)
    patchbay = jack.Client("soak-patchbay", no_start_server=True)
    patchbay.connect(keyboard.port, midi_destination)
    patchbay.close()

    def counts() -> str:
        time.sleep(0.2)  # let the last messages leave the JACK port
        return json.dumps({"midi_sent": keyboard.sent, "osc_sent": surface.sent,
                           "corner_changes": surface.corner_changes})

    print("ready", flush=True)
    try:
        for line in sys.stdin:
            word = line.strip()
            if word == "go":
                keyboard.start()
                surface.start()
            elif word == "stop":
                stop.set()
                if keyboard.is_alive():
                    keyboard.join()
                    surface.join()
                keyboard.let_go()
                print(counts(), flush=True)
            elif word == "off":
                keyboard.all_notes_off()
                print(counts(), flush=True)
    finally:
        stop.set()
        keyboard.close()
        surface.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m soaklib.performers")
    parser.add_argument("osc_port", type=int)
    parser.add_argument("midi_destination")
    parser.add_argument("--voices", type=int, default=32)
    parser.add_argument("--corner-every", type=float, default=2.0)
    parser.add_argument("--morph-hz", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    a = parser.parse_args()
    return perform(a.osc_port, a.midi_destination, a.voices, a.corner_every, a.morph_hz,
                   a.seed)


if __name__ == "__main__":
    sys.exit(main())
