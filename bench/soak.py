#!/usr/bin/env python
"""Soak: the whole instrument under a full performance load, on a JACK dummy server.

The real `serve` stack (gansynth_live.app.Session: model, bank worker, morph grid,
instrument, engine, PortAudio/JACK audio, session recording, MIDI, OSC) runs in this
process for `--seconds` while

* a JACK MIDI keyboard (a virtual rtmidi output port of another JACK client, connected
  to serve's virtual input) plays random notes, holding about `--voices` at once, with
  the sustain pedal going down for a second every three and a pitch bend sweeping at
  50 Hz (sent from a process of its own, with the OSC surface below: in serve's
  process the harness's threads would compete for its interpreter lock);
* an OSC client on 127.0.0.1 moves the morph position continuously (30 messages a
  second) and gives a corner a new random timbre every `--corner-every` seconds, so the
  bank worker regenerates banks the whole time (the tiny test checkpoint by default:
  real generation load at the speed of a small model);
* the output is recorded by serve itself (`record = ...`).

Measured, every second: resident memory, the engine's counters, the machine's steal
time (/proc/stat: time the hypervisor ran other guests while this VM wanted the CPU;
an xrun then is no fault of the program). JACK's own xruns are counted by a monitor
client. At the end: xruns (PortAudio's, JACK's, the engine's own overruns), dropped
events (MIDI and OSC messages sent vs received, engine queue refusals), memory at
start/middle/end after a warm-up and its slope, the recording's frames expected vs in
the file, the callback's cost (mean, p99, max) against the period.

    python bench/soak.py                      # 60 s, 256-frame blocks, 48 kHz, 32 voices
    python bench/soak.py --seconds 600 --model PATH --json soak.json

`tests/integration/test_soak.py` runs the same code for 15 s in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TINY_MODEL = ROOT.parent / "shared" / "fixtures" / "gansynth-tiny"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class SoakOptions:
    seconds: float = 60.0
    model: str = str(TINY_MODEL)
    rate: int = 48000
    blocksize: int = 256
    voices: int = 32
    polyphony: int = 64
    corner_every_s: float = 2.0
    morph_hz: float = 30.0
    warmup_fraction: float = 1 / 3  # memory is compared after this share of the run
    reference_s: float = 10.0  # a trivial Python callback alone on the server first
    kernel: str = "auto"
    resolution: int = 3
    generator_process: bool = True  # False: the model in serve's own process (for an A/B)
    wait: str = "first"  # "all": every grid bank made before playing
    jack_server: str | None = None  # None: start a private one
    folder: Path | None = None  # recording and logs (default: a temporary folder)
    seed: int = 1


@dataclass
class Second:
    t: float
    rss_mb: float
    steal_pct: float
    frames: int
    xruns: int
    overruns: int
    jack_xruns: int
    cpu_pct: float  # serve's process, % of one core
    generator_pct: float  # its generator process
    generator_rss_mb: float
    harness_pct: float  # the performers' process (keyboard, OSC surface)
    others_pct: float  # every other process of the machine, % of one core
    runnable: int


@dataclass
class SoakResult:
    seconds: float
    rate: int
    blocksize: int
    # xruns
    portaudio_xruns: int = 0
    jack_xruns: int = 0
    overruns: int = 0
    callback_errors: int = 0
    xrun_seconds: list[float] = field(default_factory=list)
    steal_pct: float = 0.0
    steal_max_pct: float = 0.0  # worst one-second window
    steal_at_xruns_pct: list[float] = field(default_factory=list)
    others_cpu_pct: float = 0.0  # CPU the machine's other processes used (% of one core)
    generator_cpu_pct: float = 0.0
    harness_cpu_pct: float = 0.0
    generator_rss_start_mb: float = 0.0
    generator_rss_end_mb: float = 0.0
    load_average: float = 0.0
    # reference: a Python callback that only writes zeros, alone on the same server, just
    # before (what this machine's load alone costs a Python JACK client)
    reference_s: float = 0.0
    reference_xruns: int = 0
    reference_others_cpu_pct: float = 0.0
    reference_steal_pct: float = 0.0
    # events
    midi_sent: int = 0
    midi_received: int = 0
    midi_bad: int = 0
    osc_sent: int = 0
    osc_received: int = 0
    osc_bad: int = 0
    events_refused: int = 0
    events_lost_recovered: int = 0
    notes_started: int = 0
    notes_refused: int = 0
    voices_stolen: int = 0
    voices_max: int = 0
    # memory
    rss_start_mb: float = 0.0
    rss_middle_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_slope_mb_per_min: float = 0.0
    rss_peak_mb: float = 0.0
    # recording
    record_expected_frames: int = 0
    record_written_frames: int = 0
    record_file_frames: int = 0
    record_lost_frames: int = 0
    record_error: str = ""
    # callback
    callback_avg_ms: float = 0.0
    callback_p99_ms: float = 0.0
    callback_max_ms: float = 0.0
    period_ms: float = 0.0
    # bank worker
    banks_requested: int = 0
    notes_generated: int = 0
    worker_busy_pct: float = 0.0
    process_cpu_pct: float = 0.0
    generator_in_process: bool = False
    tensorflow_here: bool = False
    timeline: list[Second] = field(default_factory=list)
    log: str = ""

    @property
    def xruns(self) -> int:
        return self.portaudio_xruns + self.jack_xruns

    @property
    def dropped_events(self) -> int:
        return (self.midi_sent - self.midi_received) + (self.osc_sent - self.osc_received) + \
            self.midi_bad + self.events_refused + self.notes_refused

    @property
    def recording_complete(self) -> bool:
        return (self.record_lost_frames == 0 and not self.record_error and
                self.record_file_frames == self.record_written_frames ==
                self.record_expected_frames > 0)

    def table(self) -> str:
        period = self.period_ms
        rows = [
            ("run", f"{self.seconds:.0f} s at {self.rate} Hz, block {self.blocksize} "
                    f"({period:.2f} ms), load average {self.load_average:.1f}", ""),
            ("xruns (PortAudio / JACK)", f"{self.portaudio_xruns} / {self.jack_xruns}", "0"),
            ("reference: JACK xruns of an empty Python callback",
             f"{self.reference_xruns} in {self.reference_s:.0f} s (others' CPU "
             f"{self.reference_others_cpu_pct:.0f} %, steal {self.reference_steal_pct:.1f} %)",
             ""),
            ("engine overruns (callback > period)", f"{self.overruns}", "0"),
            ("steal time (whole run / worst second)",
             f"{self.steal_pct:.1f} % / {self.steal_max_pct:.0f} %", "low"),
            ("steal in the seconds with xruns",
             ", ".join(f"{s:.0f} %" for s in self.steal_at_xruns_pct) or "-", ""),
            ("other processes' CPU (of one core; the machine has "
             f"{os.cpu_count()})", f"{self.others_cpu_pct:.0f} %", ""),
            ("MIDI messages sent / received / bad",
             f"{self.midi_sent} / {self.midi_received} / {self.midi_bad}", "all, 0 bad"),
            ("OSC messages sent / received / bad",
             f"{self.osc_sent} / {self.osc_received} / {self.osc_bad}", "all, 0 bad"),
            ("engine events refused / notes refused",
             f"{self.events_refused} / {self.notes_refused}", "0 / 0"),
            ("notes started / voices stolen / most voices",
             f"{self.notes_started} / {self.voices_stolen} / {self.voices_max}", ""),
            ("serve RSS after warm-up: start / middle / end (medians of thirds)",
             f"{self.rss_start_mb:.0f} / {self.rss_middle_mb:.0f} / {self.rss_end_mb:.0f} MB",
             "flat"),
            ("RSS slope after warm-up", f"{self.rss_slope_mb_per_min:+.2f} MB/min", "~0"),
            ("recording: frames expected / written / in file",
             f"{self.record_expected_frames} / {self.record_written_frames} / "
             f"{self.record_file_frames}", "equal"),
            ("recording: frames lost, error",
             f"{self.record_lost_frames}, {self.record_error or 'none'}", "0, none"),
            ("audio callback mean / p99 / max",
             f"{self.callback_avg_ms:.2f} / {self.callback_p99_ms:.2f} / "
             f"{self.callback_max_ms:.2f} ms", f"< {period:.2f} ms"),
            ("bank worker: banks asked / notes made / busy",
             f"{self.banks_requested} / {self.notes_generated} / {self.worker_busy_pct:.0f} %",
             ""),
            ("CPU (of one core): serve / generator process / harness",
             f"{self.process_cpu_pct:.0f} % / "
             + (f"{self.generator_cpu_pct:.0f} %" if not self.generator_in_process
                else "(in serve's process)") + f" / {self.harness_cpu_pct:.0f} %", ""),
            ("generator process RSS: start / end",
             f"{self.generator_rss_start_mb:.0f} / {self.generator_rss_end_mb:.0f} MB"
             if not self.generator_in_process else "-", "flat"),
        ]
        width = max(len(r[0]) for r in rows)
        value_width = max(len(r[1]) for r in rows)
        lines = [f"| {'measure':<{width}} | {'value':<{value_width}} | target |",
                 f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|--------|"]
        lines += [f"| {a:<{width}} | {b:<{value_width}} | {c} |" for a, b, c in rows]
        return "\n".join(lines)


# --- machine measurements --------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 1e6


def cpu_times() -> tuple[int, int, int]:
    """(steal, busy, total) jiffies of the whole machine, from /proc/stat.

    busy: user, nice, system, irq, softirq (CPU time some process of this VM used).
    """
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    steal = fields[7] if len(fields) > 7 else 0
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
    return steal, busy, sum(fields[:8])


def runnable() -> int:
    """Threads ready to run right now on the whole machine (procs_running in /proc/stat)."""
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith("procs_running"):
                return int(line.split()[1])
    return 0


def process_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def pid_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process used so far; 0 if it is gone."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def pid_rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE / 1e6
    except OSError:
        return 0.0


def steal_in_xrun_seconds(timeline: list["Second"]) -> list[float]:
    """Steal time of each one-second sample in which an xrun or overrun happened."""
    out, previous = [], (0, 0, 0)
    for s in timeline:
        now = (s.xruns, s.jack_xruns, s.overruns)
        if now != previous:
            out.append(round(s.steal_pct, 1))
        previous = now
    return out


def slope_per_min(ts: list[float], values: list[float]) -> float:
    if len(ts) < 3:
        return 0.0
    t = np.asarray(ts)
    v = np.asarray(values)
    return float(np.polyfit(t - t[0], v, 1)[0] * 60.0)


# --- JACK --------------------------------------------------------------------------------
def server_answers(name: str) -> bool:
    result = subprocess.run(["jack_wait", "-s", name, "-c"], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "running"


class JackServer:
    """A private `jackd -d dummy` (realtime, priority 70), stopped gracefully at the end."""

    def __init__(self, rate: int, period: int, log: Path) -> None:
        self.name = f"gansynth-soak-{os.getpid()}"
        with open(log, "w") as log_file:
            self.proc = subprocess.Popen(
                ["jackd", "-n", self.name, "-R", "-P", "70", "-d", "dummy", "-r", str(rate),
                 "-p", str(period)], stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10.0
        while not server_answers(self.name):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jackd did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class JackMonitor:
    """A JACK client that counts the server's xruns (and when they happened)."""

    def __init__(self) -> None:
        import jack

        self.client = jack.Client("soak-monitor", no_start_server=True)
        self.xruns = 0
        self.times: list[float] = []
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, delay_usecs: float) -> None:
        self.xruns += 1
        self.times.append(time.monotonic())

    def connect(self, source: str, destination: str) -> None:
        self.client.connect(source, destination)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


# --- the performers ------------------------------------------------------------------------
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
                if len(self.held) >= self.voices or (self.held and self.rng.random() < 0.3):
                    ch, pitch = self.held.pop(int(self.rng.integers(len(self.held))))
                    self.send(0x80 | ch, pitch, 0)
                if len(self.held) < self.voices:
                    ch = int(self.rng.integers(0, 2))
                    pitch = int(self.rng.integers(36, 97))
                    if (ch, pitch) not in self.held:
                        self.held.append((ch, pitch))
                        self.send(0x90 | ch, pitch, int(self.rng.integers(40, 128)))
                next_note += 0.06
            if now >= next_bend:  # a slow vibrato-like sweep at 50 messages a second
                value = int(8192 + 4000 * math.sin(2 * math.pi * 0.5 * (now - start)))
                for ch in (0, 1):
                    self.send(0xE0 | ch, value & 0x7F, value >> 7)
                next_bend += 0.02
            down = (now - start) % 3.0 < 1.0
            if down != pedal_down:
                pedal_down = down
                for ch in (0, 1):
                    self.send(0xB0 | ch, 64, 127 if down else 0)
            time.sleep(0.002)

    def let_go(self) -> None:
        for ch, pitch in self.held:
            self.send(0x80 | ch, pitch, 0)
        self.held.clear()
        for ch in (0, 1):
            self.send(0xB0 | ch, 64, 0)

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


class Surface(threading.Thread):
    """An OSC control surface on 127.0.0.1: the morph pad moving, corners re-rolled."""

    def __init__(self, port: int, morph_hz: float, corner_every_s: float, corners: int,
                 stop: threading.Event) -> None:
        super().__init__(name="soak surface", daemon=True)
        import socket

        from pythonosc.osc_message_builder import OscMessageBuilder

        self.builder = OscMessageBuilder
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
        builder = self.builder(address)
        for arg in args:
            builder.add_arg(arg)
        self.sock.sendto(builder.build().dgram, self.server)
        self.sent += 1

    def run(self) -> None:
        start = time.monotonic()
        next_move, next_corner = start, start + self.corner_every_s
        while not self.stop_event.is_set():
            now = time.monotonic()
            if now >= next_move:
                t = now - start
                self.send("/morph/xy", 0.5 + 0.5 * math.sin(2 * math.pi * 0.13 * t),
                          0.5 + 0.5 * math.sin(2 * math.pi * 0.07 * t + 1.0))
                next_move += 1.0 / self.morph_hz
            if now >= next_corner:
                self.send(f"/corner/{self.corner_changes % self.corners + 1}/random")
                self.corner_changes += 1
                next_corner += self.corner_every_s
            time.sleep(max(0.0, min(next_move, next_corner) - time.monotonic()))

    def close(self) -> None:
        self.sock.close()


class Performers:
    """The keyboard and the surface in a process of their own (`soak.py --perform`).

    In serve's process they would compete for its interpreter lock (a keyboard
    thread waking every 2 ms): the soak would measure its own harness. Here they
    reach serve only through JACK MIDI and UDP, like a real keyboard and tablet.
    """

    def __init__(self, osc_port: int, midi_destination: str, options: "SoakOptions") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--perform", str(osc_port),
             midi_destination, "--voices", str(options.voices), "--corner-every",
             str(options.corner_every_s), "--morph-hz", str(options.morph_hz),
             "--seed", str(options.seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise RuntimeError(f"the performers did not start: {line!r}")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self) -> dict:
        """Stop playing (release every key and the pedals); the counts of what was sent."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        counts = json.loads(self.proc.stdout.readline())
        self.proc.wait(10)
        return counts

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def perform(osc_port: int, midi_destination: str, voices: int, corner_every_s: float,
            morph_hz: float, seed: int) -> int:
    """The performers' process: play on "go", release and report counts on "stop"."""
    import jack

    stop = threading.Event()
    keyboard = Keyboard(voices, seed, stop)
    surface = Surface(osc_port, morph_hz, corner_every_s, 4, stop)
    patchbay = jack.Client("soak-patchbay", no_start_server=True)
    patchbay.connect(keyboard.port, midi_destination)
    patchbay.close()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    keyboard.start()
    surface.start()
    sys.stdin.readline()  # "stop" (or the parent went away)
    stop.set()
    keyboard.join()
    surface.join()
    keyboard.let_go()
    time.sleep(0.2)  # let the last messages leave the JACK port
    print(json.dumps({"midi_sent": keyboard.sent, "osc_sent": surface.sent,
                      "corner_changes": surface.corner_changes}), flush=True)
    keyboard.close()
    surface.close()
    return 0


# --- the run -----------------------------------------------------------------------------
def run_soak(options: SoakOptions, say=print) -> SoakResult:
    """Open a serve Session, play it for options.seconds, take it down, measure everything."""
    folder = Path(options.folder or tempfile.mkdtemp(prefix="gansynth-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = None
    old_server = os.environ.get("JACK_DEFAULT_SERVER")
    if options.jack_server is None:
        server = JackServer(options.rate, options.blocksize, folder / "jackd.log")
        os.environ["JACK_DEFAULT_SERVER"] = server.name
    else:
        os.environ["JACK_DEFAULT_SERVER"] = options.jack_server
    from gansynth_live.engine.stream import rescan_devices

    rescan_devices()
    try:
        return _run(options, folder, say)
    finally:
        if server is not None:
            import sounddevice as sd

            sd._terminate()  # PortAudio lets go of JACK before the server goes
            server.stop()
            sd._initialize()
        if old_server is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old_server


def reference_run(seconds: float) -> tuple[int, float, float]:
    """JACK xruns while a Python callback that only writes zeros plays alone; others' CPU %
    and steal % meanwhile. The floor this machine's load sets for any Python JACK client."""
    import sounddevice as sd

    def callback(outdata, frames, time_info, status) -> None:
        outdata.fill(0.0)

    monitor = JackMonitor()
    try:
        steal0, busy0, total0 = cpu_times()
        cpu0, t0 = process_cpu_s(), time.monotonic()
        with sd.OutputStream(samplerate=None, blocksize=0, channels=2, dtype="float32",
                             callback=callback):
            time.sleep(0.5)
            xruns0 = monitor.xruns
            time.sleep(seconds)
            xruns = monitor.xruns - xruns0
        steal1, busy1, total1 = cpu_times()
        wall = time.monotonic() - t0
        others = max(0.0, 100.0 * ((busy1 - busy0) / TICKS - (process_cpu_s() - cpu0)) / wall)
        return xruns, others, 100.0 * (steal1 - steal0) / max(total1 - total0, 1)
    finally:
        monitor.close()


def _run(options: SoakOptions, folder: Path, say) -> SoakResult:
    from gansynth_live.app.config import ServeConfig
    from gansynth_live.app.session import Session
    from gansynth_live.app.status import Console

    import soundfile as sf

    record = folder / "soak.wav"
    log = io.StringIO()
    config = ServeConfig(
        model=options.model, corners=["seed:1", "seed:2", "seed:3", "seed:4"],
        resolution=options.resolution, wait=options.wait, sample_rate=options.rate, blocksize=options.blocksize,
        polyphony=options.polyphony, kernel=options.kernel, record=record,
        record_dir=folder / "takes", midi_api="jack", midi_in=["none"], osc_port=0,
        no_cache=True, feedback_rate=20.0)
    result = SoakResult(options.seconds, options.rate, options.blocksize,
                        period_ms=1e3 * options.blocksize / options.rate)
    if options.reference_s > 0:
        say(f"soak: reference, an empty Python callback for {options.reference_s:.0f} s")
        result.reference_s = options.reference_s
        (result.reference_xruns, result.reference_others_cpu_pct,
         result.reference_steal_pct) = reference_run(options.reference_s)
    say(f"soak: opening the instrument ({Path(options.model).name}) ...")
    session = Session(config, Console(log, tty=False),
                      generator_process=options.generator_process).open()
    monitor = performers = None
    try:
        monitor = JackMonitor()
        performers = Performers(session.osc.port, session.midi.virtual_port_name(), options)
        engine, service = session.engine, session.service
        time.sleep(0.5)  # the MIDI connection settles
        before = engine.stats()
        midi_before, osc_before = session.midi.messages, session.osc.stats()
        jack_before = monitor.xruns
        generated_before = service.stats.generated_notes
        busy_before = service.stats.generate_s + service.stats.process_s
        generator = service._process._proc.pid if not service.in_process else None
        harness = performers.proc.pid
        cpu0, wall0 = process_cpu_s(), time.monotonic()
        gen0, harness0 = pid_cpu_s(generator), pid_cpu_s(harness)
        steal0, busy0, total0 = cpu_times()
        say(f"soak: playing for {options.seconds:.0f} s")
        performers.go()
        timeline: list[Second] = []
        last_steal, last_busy, last_total, last_cpu = steal0, busy0, total0, cpu0
        last_gen, last_harness = gen0, harness0
        last_t = 0.0
        voices_max = 0
        end = wall0 + options.seconds
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(min(1.0, end - now))
            stats = engine.stats()
            voices_max = max(voices_max, stats.voices_active)
            steal, busy, total = cpu_times()
            cpu, gen, harn = process_cpu_s(), pid_cpu_s(generator), pid_cpu_s(harness)
            elapsed = time.monotonic() - wall0
            span = max(elapsed - last_t, 1e-3)
            ours = 100.0 * (cpu - last_cpu) / span
            gen_pct = 100.0 * (gen - last_gen) / span
            harness_pct = 100.0 * (harn - last_harness) / span
            timeline.append(Second(
                t=elapsed, rss_mb=rss_mb(),
                steal_pct=100.0 * (steal - last_steal) / max(total - last_total, 1),
                frames=stats.frames - before.frames, xruns=stats.xruns - before.xruns,
                overruns=stats.overruns - before.overruns,
                jack_xruns=monitor.xruns - jack_before, cpu_pct=ours, generator_pct=gen_pct,
                generator_rss_mb=pid_rss_mb(generator), harness_pct=harness_pct,
                others_pct=max(0.0, 100.0 * (busy - last_busy) / TICKS / span - ours - gen_pct
                               - harness_pct),
                runnable=runnable()))
            last_steal, last_busy, last_total, last_cpu, last_t = steal, busy, total, cpu, elapsed
            last_gen, last_harness = gen, harn
        counts = performers.stop()
        wall = time.monotonic() - wall0
        steal1, busy1, total1 = cpu_times()
        cpu1, gen1 = process_cpu_s(), pid_cpu_s(generator)
        harness1 = max(pid_cpu_s(harness), last_harness)  # it may have exited by now
        deadline = time.monotonic() + 5.0  # the reader and the OSC thread drain what was sent
        while time.monotonic() < deadline and (
                session.midi.messages - midi_before < counts["midi_sent"] or
                session.osc.stats().packets - osc_before.packets < counts["osc_sent"]):
            time.sleep(0.05)
        after = engine.stats()
        osc_after = session.osc.stats()
        result.portaudio_xruns = after.xruns - before.xruns
        result.jack_xruns = monitor.xruns - jack_before
        result.xrun_seconds = [round(t - wall0, 2) for t in monitor.times if t >= wall0]
        result.overruns = after.overruns - before.overruns
        result.callback_errors = after.callback_errors
        result.steal_pct = 100.0 * (steal1 - steal0) / max(total1 - total0, 1)
        result.steal_max_pct = max((s.steal_pct for s in timeline), default=0.0)
        result.steal_at_xruns_pct = steal_in_xrun_seconds(timeline)
        result.load_average = os.getloadavg()[0]
        result.generator_cpu_pct = 100.0 * (gen1 - gen0) / wall
        result.harness_cpu_pct = 100.0 * (harness1 - harness0) / wall
        result.others_cpu_pct = max(0.0, 100.0 * ((busy1 - busy0) / TICKS - (cpu1 - cpu0)
                                                  - (gen1 - gen0) - (harness1 - harness0)) / wall)
        result.midi_sent = counts["midi_sent"]
        result.midi_received = session.midi.messages - midi_before
        result.midi_bad = session.midi.bad_messages + session.midi.errors
        result.osc_sent = counts["osc_sent"]
        result.osc_received = osc_after.packets - osc_before.packets
        result.osc_bad = osc_after.bad_total - osc_before.bad_total + \
            osc_after.handler_errors - osc_before.handler_errors
        result.events_refused = after.events_refused - before.events_refused
        result.events_lost_recovered = after.events_lost_recovered - before.events_lost_recovered
        result.notes_started = after.notes_started - before.notes_started
        result.notes_refused = after.notes_refused - before.notes_refused
        result.voices_stolen = after.voices_stolen - before.voices_stolen
        result.voices_max = voices_max
        warm = [s for s in timeline if s.t >= options.warmup_fraction * options.seconds]
        if warm:  # each the median of a third of the samples after warm-up (less noise)
            thirds = [warm[i * len(warm) // 3:max((i + 1) * len(warm) // 3, i + 1)]
                      for i in range(3)]
            result.rss_start_mb, result.rss_middle_mb, result.rss_end_mb = (
                float(np.median([s.rss_mb for s in part])) for part in thirds)
            result.generator_rss_start_mb = warm[0].generator_rss_mb
            result.generator_rss_end_mb = warm[-1].generator_rss_mb
            result.rss_slope_mb_per_min = slope_per_min([s.t for s in warm],
                                                        [s.rss_mb for s in warm])
        result.rss_peak_mb = max((s.rss_mb for s in timeline), default=0.0)
        result.callback_avg_ms = after.callback_avg_ms
        result.callback_p99_ms = after.callback_p99_ms
        result.callback_max_ms = after.callback_max_ms
        result.banks_requested = counts["corner_changes"]
        result.notes_generated = service.stats.generated_notes - generated_before
        result.worker_busy_pct = 100.0 * (service.stats.generate_s + service.stats.process_s
                                          - busy_before) / wall
        result.process_cpu_pct = 100.0 * (cpu1 - cpu0) / wall
        result.generator_in_process = service.in_process
        result.timeline = timeline
        result.tensorflow_here = "tensorflow" in sys.modules
    finally:
        for part in (performers, monitor):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 - take the rest down anyway
                    pass
        recorder = session.instrument.recording if session.instrument else None
        session.close()
    rec = recorder.session_recorder if recorder is not None else None
    if rec is not None:
        result.record_written_frames = rec.frames_written
        result.record_lost_frames = rec.overflow_frames
        result.record_expected_frames = rec.frames_written + rec.overflow_frames
        result.record_error = rec.error
        result.record_file_frames = sf.info(record).frames if record.exists() else 0
    result.log = log.getvalue()
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--perform":  # the performers' process
        perform_parser = argparse.ArgumentParser(prog="soak.py --perform")
        perform_parser.add_argument("osc_port", type=int)
        perform_parser.add_argument("midi_destination")
        perform_parser.add_argument("--voices", type=int, default=32)
        perform_parser.add_argument("--corner-every", type=float, default=2.0)
        perform_parser.add_argument("--morph-hz", type=float, default=30.0)
        perform_parser.add_argument("--seed", type=int, default=1)
        a = perform_parser.parse_args(sys.argv[2:])
        return perform(a.osc_port, a.midi_destination, a.voices, a.corner_every, a.morph_hz,
                       a.seed)
    parser = argparse.ArgumentParser(
        description="Soak the whole instrument on a JACK dummy server and print a table.")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run (60)")
    parser.add_argument("--model", default=str(TINY_MODEL),
                        help="model folder or name (default: the tiny test checkpoint)")
    parser.add_argument("--blocksize", type=int, default=256, help="JACK period and block (256)")
    parser.add_argument("--rate", type=int, default=48000, help="sample rate (48000)")
    parser.add_argument("--voices", type=int, default=32, help="notes held at once (32)")
    parser.add_argument("--corner-every", type=float, default=2.0,
                        help="seconds between new random corners (bank regeneration; 2)")
    parser.add_argument("--kernel", default="auto", choices=("auto", "numba", "numpy"))
    parser.add_argument("--resolution", type=int, default=3, help="morph grid points per axis (3)")
    parser.add_argument("--wait", default="first", choices=("first", "all"),
                        help="start playing when the banks under the start position are made "
                             "(first) or the whole grid (all; with --corner-every 0 the worker "
                             "then stays idle: a baseline without generation load)")
    parser.add_argument("--generator-in-process", action="store_true",
                        help="run the model in serve's own process, as before the generator "
                             "process (to compare)")
    parser.add_argument("--reference", type=float, default=10.0,
                        help="seconds of the reference run (an empty Python callback alone on "
                             "the server) before the soak; 0 skips it (10)")
    parser.add_argument("--jack-server", default=None,
                        help="use this running JACK server instead of starting one")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for the recording and logs (default: temporary, removed)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gansynth-soak-"))
    options = SoakOptions(seconds=args.seconds, model=args.model, rate=args.rate,
                          blocksize=args.blocksize, voices=args.voices,
                          corner_every_s=args.corner_every or 1e9, kernel=args.kernel,
                          resolution=args.resolution, wait=args.wait,
                          reference_s=args.reference,
                          generator_process=not args.generator_in_process,
                          jack_server=args.jack_server, folder=folder)
    try:
        result = run_soak(options)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n## Soak ({os.cpu_count()} CPUs)\n")
    print(result.table())
    verdict = []
    if result.xruns or result.overruns:
        verdict.append(f"{result.xruns} xrun(s), {result.overruns} overrun(s) "
                       f"(steal in those seconds: {result.steal_at_xruns_pct})")
    if result.dropped_events:
        verdict.append(f"{result.dropped_events} dropped event(s)")
    if not result.recording_complete:
        verdict.append("recording incomplete")
    print("\n" + ("PASS" if not verdict else "ATTENTION: " + "; ".join(verdict)))
    if args.json:
        data = asdict(result)
        data["log"] = result.log.splitlines()
        args.json.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
