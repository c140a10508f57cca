#!/usr/bin/env python
"""Soak: the whole instrument under a full performance load, on a JACK dummy server.

The real `serve` stack (gansynth_live.live.Session: bank service with its generator
process, morph grid, instrument, engine, PortAudio/JACK audio, session recording, MIDI,
OSC) runs in this process for `--seconds` while, from a process of their own
(soaklib/performers.py):

* a JACK MIDI keyboard plays random notes on two channels, holding about `--voices` at
  once, with the sustain pedal down one second in three and a pitch bend sweeping at
  50 messages a second;
* an OSC client on 127.0.0.1 moves the morph pad continuously (30 messages a second)
  and gives a corner a new random timbre every `--corner-every` seconds, so the bank
  worker regenerates banks the whole time, at full speed (it never catches up);
* serve records its own output (`record = ...`).

At the end every key is released and the pedal lifted (voices must die away), then
All Notes Off is sent (none may be left). Measured every second: resident memory, the
engine's counters, CPU of serve, its generator and the performers, the other processes'
CPU and the hypervisor's steal time. JACK's xruns are counted by a monitor client
(one per notification), and jackd's own log turns them into events with a cause each:
the driver's thread late, a client's thread not woken, or a client still running
(soaklib/xrun_causes.py).

Reference, measured in the same run just before: a Python callback that only writes
zeros, alone on the same server (`--reference` seconds): the xruns this machine's load
causes any Python JACK client. And during the soak, unless `--no-alongside`: the same
empty callback in a process of its own on a second JACK server, so a bad stretch of
the machine shows in both rows (soaklib/jack_server.py, Alongside). With it (not with
`--no-alongside`), if rt-tests is installed, `cyclictest` runs too: how late a C real-time
thread wakes in the same seconds, the floor no design in any language gets under
(soaklib/wakeups.py). Always: a JACK client on the engine's own server whose process
callback is compiled C (soaklib/compiled_probe.py) notes how late each cycle reached
it, with no Python and no interpreter lock: where it is on time and the engine's
callback late, the wait was for Python, not for the thread. `--gil-probe` adds
a thread that names what holds the interpreter lock when it wakes late.

    python bench/soak.py                            # 60 s, default model, 256 frames, 48 kHz
    python bench/soak.py --model tiny --seconds 20  # the small test checkpoint
    python bench/soak.py --seconds 600 --json soak.json --keep soak-run/
    python bench/soak.py --jack                     # serve --jack, with JACK-client references

`tests/integration/test_soak.py` runs the same code for 12 s in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH), str(ROOT / "tests" / "integration")]  # jack_process

from soaklib.gc_watch import GcWatch  # noqa: E402
from soaklib.compiled_probe import CompiledProbe  # noqa: E402
from soaklib.gil_probe import GilProbe  # noqa: E402
from soaklib.xrun_causes import JackLogWindow  # noqa: E402
from soaklib.wakeups import Wakeups  # noqa: E402
from soaklib.jack_server import (Alongside, JackMonitor, JackServer, late_figures,  # noqa: E402
                                 reference_run)
from soaklib.machine import (cpu_times, pid_cpu_s, process_cpu_s, rss_mb,  # noqa: E402
                             thread_major_faults,
                             runnable, slope_per_min, TICKS)
from soaklib.performers import Performers  # noqa: E402
from soaklib.recording import check_wav  # noqa: E402
from soaklib.result import Second, SoakResult, steal_in_xrun_seconds  # noqa: E402

TINY_MODEL = ROOT / "tests" / "fixtures" / "gansynth-tiny"
MODELS = {"tiny": str(TINY_MODEL), "default": "default"}


@dataclass
class SoakOptions:
    seconds: float = 60.0
    model: str = "default"  # a model name or folder
    rate: int = 48000
    blocksize: int = 256
    voices: int = 32
    polyphony: int = 64
    corner_every_s: float = 2.0
    morph_hz: float = 30.0
    warmup_fraction: float = 1 / 3  # memory is compared after this share of the run
    reference_s: float = 10.0  # the empty callback alone on the server first
    resolution: int = 3
    generator_process: bool = True  # False: the model in serve's own process (for an A/B)
    wait: str = "first"  # "all": every grid bank made before playing
    jack_server: str | None = None  # None: start a private one
    folder: Path | None = None  # recording and logs (default: a temporary folder)
    seed: int = 1
    gil_probe: bool = False  # a probe thread names what holds the interpreter lock when late
    alongside: bool = True  # the empty callback on a second JACK server during the soak
    jack: bool = False  # serve --jack: the engine a JACK client of its own, MIDI in its callback


def run_soak(options: SoakOptions, say=print) -> SoakResult:
    """Start a JACK server (unless given one), play a serve Session on it for
    options.seconds, take everything down, return the figures."""
    folder = Path(options.folder or tempfile.mkdtemp(prefix="gansynth-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = None
    old_server = os.environ.get("JACK_DEFAULT_SERVER")
    if options.jack_server is None:
        server = JackServer(options.rate, options.blocksize, folder / "jackd.log")
        os.environ["JACK_DEFAULT_SERVER"] = server.name
    else:
        os.environ["JACK_DEFAULT_SERVER"] = options.jack_server
    # PortAudio's JACK host API joins the server as a client of its own; serve --jack has
    # none, so with --jack PortAudio is shut down for the soak (not merely left alone: a
    # client it keeps on a server that has gone crashes libjack's threads later)
    from gansynth_live.engine.stream import rescan_devices, sounddevice

    sd = sounddevice()
    if options.jack:
        sd._terminate()
    else:
        rescan_devices()
    try:
        return _soak(options, folder, say)
    finally:
        if not options.jack:  # (with --jack it is down already)
            sd._terminate()  # PortAudio lets go of JACK before the server goes
        if server is not None:
            server.stop()
        if old_server is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old_server
        sd._initialize()  # and sees the JACK server it saw before the soak, not a dead one


class Sampler:
    """Takes one `Second` of the timeline per call: counters since `start`."""

    def __init__(self, session, monitor: JackMonitor, generator: int | None,
                 harness: int) -> None:
        self.engine, self.monitor = session.engine, monitor
        self.generator, self.harness = generator, harness
        self.before = self.engine.stats()
        self.jack_before = monitor.xruns
        self.t0 = time.monotonic()
        self.cpu0 = self.last = self._counters()
        self.last_t = 0.0
        self.timeline: list[Second] = []

    def _counters(self) -> tuple[float, ...]:
        steal, busy, total = cpu_times()
        return (steal, busy, total, process_cpu_s(), pid_cpu_s(self.generator),
                pid_cpu_s(self.harness))

    def sample(self) -> Second:
        stats = self.engine.stats()
        now = self._counters()
        elapsed = time.monotonic() - self.t0
        span = max(elapsed - self.last_t, 1e-3)
        d = [b - a for a, b in zip(self.last, now)]
        ours, gen, harness = (100.0 * x / span for x in d[3:])
        second = Second(
            t=elapsed, rss_mb=rss_mb(), steal_pct=100.0 * d[0] / max(d[2], 1),
            frames=stats.frames - self.before.frames, xruns=stats.xruns - self.before.xruns,
            overruns=stats.overruns - self.before.overruns,
            jack_xruns=self.monitor.xruns - self.jack_before, voices=stats.voices_active,
            cpu_pct=ours, generator_pct=gen, generator_rss_mb=rss_mb(self.generator),
            harness_pct=harness,
            others_pct=max(0.0, 100.0 * d[1] / TICKS / span - ours - gen - harness),
            runnable=runnable())
        self.timeline.append(second)
        self.last, self.last_t = now, elapsed
        return second

    def totals(self, result: SoakResult) -> None:
        """Whole-run CPU and steal figures into result."""
        now = self._counters()
        wall = time.monotonic() - self.t0
        harness_s = max(now[5], self.last[5]) - self.cpu0[5]  # it may have exited by now
        d = [b - a for a, b in zip(self.cpu0, now)]
        result.steal_pct = 100.0 * d[0] / max(d[2], 1)
        result.process_cpu_pct = 100.0 * d[3] / wall
        result.generator_cpu_pct = 100.0 * d[4] / wall
        result.harness_cpu_pct = 100.0 * harness_s / wall
        result.others_cpu_pct = max(0.0, 100.0 * (d[1] / TICKS - d[3] - d[4] - harness_s)
                                    / wall)
        result.steal_max_pct = max((s.steal_pct for s in self.timeline), default=0.0)
        result.steal_at_xruns_pct = steal_in_xrun_seconds(self.timeline)
        result.voices_max = max((s.voices for s in self.timeline), default=0)
        result.timeline = self.timeline


def _serve_config(options: SoakOptions, folder: Path):
    from gansynth_live.live.config import ServeConfig

    return ServeConfig(
        model=MODELS.get(options.model, options.model),
        corners=["seed:1", "seed:2", "seed:3", "seed:4"], resolution=options.resolution,
        wait=options.wait, sample_rate=options.rate, blocksize=options.blocksize,
        polyphony=options.polyphony, record=folder / "soak.wav",
        record_dir=folder / "takes", midi_api="jack", midi_in=["none"], osc_port=0,
        no_cache=True, feedback_rate=20.0, jack=options.jack)


def _soak(options: SoakOptions, folder: Path, say) -> SoakResult:
    from gansynth_live.live.session import Session
    from gansynth_live.live.status import Console

    config = _serve_config(options, folder)
    host = "jack" if options.jack else "portaudio"
    result = SoakResult(options.seconds, options.rate, options.blocksize,
                        model=Path(config.model).name,
                        period_ms=1e3 * options.blocksize / options.rate, host=host)
    if options.reference_s > 0:
        say(f"soak: reference, an empty Python callback for {options.reference_s:.0f} s")
        result.reference_s = options.reference_s
        (result.reference_xruns, result.reference_others_cpu_pct,
         result.reference_steal_pct, late, _) = reference_run(options.reference_s, host=host)
        figures = late_figures(late, result.period_ms / 1e3)
        result.reference_late_p99_ms = figures["late_p99_ms"]
        result.reference_late_max_ms = figures["late_max_ms"]
    say(f"soak: opening the instrument (model {result.model}) ...")
    log = io.StringIO()
    session = Session(config, Console(log, tty=False),
                      generator_process=options.generator_process).open()
    result.frames_before_arm_max = session.engine.stats().frames
    monitor = performers = alongside = wakeups = collections = compiled = None
    try:
        monitor = JackMonitor()
        performers = Performers(session.osc.port, session.midi.virtual_port_name(),
                                voices=options.voices, corner_every_s=options.corner_every_s,
                                morph_hz=options.morph_hz, seed=options.seed)
        time.sleep(0.5)  # the MIDI connection settles
        probe = GilProbe() if options.gil_probe else None
        if probe is not None:
            probe.start()
        counters = session.engine.counters
        collections = GcWatch(lambda: counters.audio_thread_id).start()
        alongside = (Alongside(options.rate, options.blocksize, options.seconds, folder, host)
                     if options.alongside else None)
        wakeups = Wakeups(options.seconds, folder) if options.alongside else None
        compiled = CompiledProbe()
        compiled.mark()
        server_log = JackLogWindow(folder / "jackd.log")  # empty with --jack-server
        server_log.mark()
        _perform(options, session, monitor, performers, result, say)
        period_s = options.blocksize / options.rate
        causes = server_log.read()
        result.xrun_causes = causes.summary() if causes is not None else ""
        figures = late_figures(compiled.late_s(), period_s)
        result.compiled_late_p99_ms = figures["late_p99_ms"]
        result.compiled_late_max_ms = figures["late_max_ms"]
        result.compiled_late_over_half_period = figures["late_over_half_period"]
        collections.stop()
        result.collections = collections.summary()
        if probe is not None:
            probe.stop()
            result.gil_probe = probe.report()
        if alongside is not None:
            figures = alongside.result()
            result.alongside_xruns = figures.get("xruns", -1)
            result.alongside_portaudio_xruns = figures.get("portaudio_xruns", -1)
            result.alongside_late_p99_ms = figures.get("late_p99_ms", 0.0)
            result.alongside_late_max_ms = figures.get("late_max_ms", 0.0)
            result.alongside_late_over_half_period = figures.get("late_over_half_period", -1)
            causes = JackLogWindow(folder / "jackd-alongside.log").read()
            result.alongside_xrun_causes = causes.summary() if causes is not None else ""
        if wakeups is not None:
            result.wakeups = wakeups.result(options.blocksize / options.rate)
    finally:
        for part in (performers, monitor, alongside, wakeups, collections, compiled):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 - take the rest down anyway
                    pass
        recording = session.instrument.recording if session.instrument else None
        session.close()  # stops the stream, then closes the recording
    result.frames_played = session.engine.stats().frames
    _check_recording(recording, config.record, result)
    result.log = log.getvalue()
    return result


def _perform(options: SoakOptions, session, monitor: JackMonitor, performers: Performers,
             result: SoakResult, say) -> None:
    engine, service = session.engine, session.service
    midi_before, osc_before = session.midi.messages, session.osc.stats()
    generated_before = service.stats.generated_notes
    busy_before = service.stats.generate_s + service.stats.process_s
    generator = service.generator_pid
    sampler = Sampler(session, monitor, generator, performers.pid)
    before = sampler.before
    python_before = engine.counters.python_cycles
    audio_thread = engine.counters.audio_thread_id
    faults_before = thread_major_faults(audio_thread)
    say(f"soak: playing for {options.seconds:.0f} s")
    performers.go()
    end = sampler.t0 + options.seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        sampler.sample()
    counts = performers.stop()  # every key released, the pedal lifted
    sampler.totals(result)
    faults_after = thread_major_faults(audio_thread)
    result.audio_major_faults = (None if faults_before is None or faults_after is None
                                 else faults_after - faults_before)
    wall = time.monotonic() - sampler.t0
    _wait_delivered(session, midi_before, osc_before, counts)
    result.voices_after_release = _wait_silent(engine, engine.config.release_s + 2.0)
    counts = performers.all_notes_off()
    _wait_delivered(session, midi_before, osc_before, counts)
    result.voices_after_all_off = _wait_silent(engine, engine.config.release_s + 1.0)
    time.sleep(0.3)  # a stretch of silence at the end of the recording
    after, osc_after = engine.stats(), session.osc.stats()
    result.portaudio_xruns = after.xruns - before.xruns
    result.jack_xruns = monitor.xruns - sampler.jack_before
    result.xrun_seconds = [round(t - sampler.t0, 2) for t in monitor.times if t >= sampler.t0]
    result.overruns = after.overruns - before.overruns
    result.callback_errors = after.callback_errors
    result.load_average = os.getloadavg()[0]
    result.midi_sent = counts["midi_sent"]
    result.midi_received = session.midi.messages - midi_before
    result.midi_bad = session.midi.bad_messages + session.midi.errors
    result.cycles_missed = after.cycles_missed - before.cycles_missed
    result.callbacks = after.callbacks - before.callbacks
    result.python_cycles = engine.counters.python_cycles - python_before
    result.osc_sent = counts["osc_sent"]
    result.osc_received = osc_after.packets - osc_before.packets
    p99, worst = session.osc.handler_times()
    result.osc_handler_p99_ms, result.osc_handler_max_ms = 1e3 * p99, 1e3 * worst
    result.osc_bad = (osc_after.bad_total - osc_before.bad_total
                      + osc_after.handler_errors - osc_before.handler_errors)
    result.events_refused = after.events_refused - before.events_refused
    result.events_lost_recovered = after.events_lost_recovered - before.events_lost_recovered
    result.notes_started = after.notes_started - before.notes_started
    result.notes_refused = after.notes_refused - before.notes_refused
    result.voices_stolen = after.voices_stolen - before.voices_stolen
    _memory(options, sampler.timeline, result)
    result.bank_mb = 2 * service._capacity(service.source.stamp) / 1e6  # int16 samples
    late = engine.counters.start_lateness_s()[-max(1, after.callbacks - before.callbacks):]
    figures = late_figures(late, options.blocksize / options.rate)
    result.start_late_p50_ms = figures["late_p50_ms"]
    result.start_late_p99_ms = figures["late_p99_ms"]
    result.start_late_max_ms = figures["late_max_ms"]
    result.start_late_over_half_period = figures["late_over_half_period"]
    result.callback_avg_ms = after.callback_avg_ms
    result.callback_p50_ms = 1e3 * engine.counters.cost_percentile_s(50.0)
    result.callback_p99_ms = after.callback_p99_ms
    result.callback_max_ms = after.callback_max_ms
    result.banks_requested = counts["corner_changes"]
    result.notes_generated = service.stats.generated_notes - generated_before
    result.worker_busy_pct = 100.0 * (service.stats.generate_s + service.stats.process_s
                                      - busy_before) / wall
    result.generator_in_process = service.in_process
    result.tensorflow_here = "tensorflow" in sys.modules


def _wait_delivered(session, midi_before: int, osc_before, counts: dict,
                    timeout_s: float = 5.0) -> None:
    """Until serve's MIDI reader and OSC thread have taken everything sent (or timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (
            session.midi.messages - midi_before < counts["midi_sent"] or
            session.osc.stats().packets - osc_before.packets < counts["osc_sent"]):
        time.sleep(0.05)


def _wait_silent(engine, timeout_s: float) -> int:
    """Voices still active after waiting up to timeout_s for them to finish."""
    deadline = time.monotonic() + timeout_s
    while (voices := engine.stats().voices_active) and time.monotonic() < deadline:
        time.sleep(0.05)
    return voices


def _memory(options: SoakOptions, timeline: list[Second], result: SoakResult) -> None:
    """RSS after warm-up: medians of its thirds (less noise than single samples), slope."""
    warm = [s for s in timeline if s.t >= options.warmup_fraction * options.seconds]
    if warm:
        n = len(warm)
        thirds = [warm[i * n // 3:max((i + 1) * n // 3, i + 1)] for i in range(3)]
        result.rss_start_mb, result.rss_middle_mb, result.rss_end_mb = (
            float(np.median([s.rss_mb for s in part])) for part in thirds)
        result.generator_rss_start_mb = warm[0].generator_rss_mb
        result.generator_rss_end_mb = warm[-1].generator_rss_mb
        result.rss_slope_mb_per_min = slope_per_min([s.t for s in warm],
                                                    [s.rss_mb for s in warm])
    result.rss_peak_mb = max((s.rss_mb for s in timeline), default=0.0)


def _check_recording(recording, path: Path, result: SoakResult) -> None:
    """The session recording against what the callback handed to it and what the engine
    played (the recorder is armed just after the stream starts, so the engine played a
    few blocks more, at most those before `open` returned; it closes after the stream
    stops, so nothing at the end may be missing)."""
    rec = recording.session_recorder if recording is not None else None
    if rec is None:
        result.record_error = "no session recorder"
        return
    result.record_written_frames = rec.frames_written
    result.record_lost_frames = rec.overflow_frames
    result.record_expected_frames = rec.frames_written + rec.overflow_frames
    result.record_error = rec.error
    wav = check_wav(path, result.rate)
    result.record_file_frames = wav.frames
    result.record_valid = wav.valid
    result.record_peak_dbfs, result.record_tail_dbfs = wav.peak_dbfs, wav.tail_dbfs
    if wav.problem and not result.record_error:
        result.record_error = wav.problem


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Soak the whole instrument on a JACK dummy server and print a table.")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run (60)")
    parser.add_argument("--model", default="default",
                        help="model name or folder; 'tiny' is the small test checkpoint "
                             "(default: the shipped default model)")
    parser.add_argument("--blocksize", type=int, default=256, help="JACK period and block (256)")
    parser.add_argument("--rate", type=int, default=48000, help="sample rate (48000)")
    parser.add_argument("--voices", type=int, default=32, help="notes held at once (32)")
    parser.add_argument("--corner-every", type=float, default=2.0,
                        help="seconds between new random corners (bank regeneration; 2; "
                             "0: never)")
    parser.add_argument("--resolution", type=int, default=3, help="morph grid points per axis (3)")
    parser.add_argument("--wait", default="first", choices=("first", "all"),
                        help="start playing when the banks under the start position are made "
                             "(first) or the whole grid (all)")
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
    parser.add_argument("--no-alongside", action="store_true",
                        help="skip the empty callback on a second JACK server during the soak "
                             "(the reference that sees the same seconds of the machine)")
    parser.add_argument("--jack", action="store_true",
                        help="serve --jack: the engine a JACK client of its own, MIDI read in "
                             "its process callback; the empty-callback references become JACK "
                             "clients of their own too (soaklib/jack_server.EmptyJackClient)")
    parser.add_argument("--gil-probe", action="store_true",
                        help="a thread in serve's process that wakes every millisecond and, "
                             "when late, notes where the other threads are: what holds the "
                             "interpreter lock (perturbs the run a little)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gansynth-soak-"))
    options = SoakOptions(seconds=args.seconds, model=args.model, rate=args.rate,
                          blocksize=args.blocksize, voices=args.voices,
                          corner_every_s=args.corner_every or 1e9,
                          resolution=args.resolution, wait=args.wait,
                          reference_s=args.reference,
                          generator_process=not args.generator_in_process,
                          jack_server=args.jack_server, folder=folder,
                          gil_probe=args.gil_probe, alongside=not args.no_alongside,
                          jack=args.jack)
    try:
        result = run_soak(options)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n## Soak ({os.cpu_count()} CPUs)\n")
    print(result.table())
    verdict = result.verdict()
    if result.gil_probe:
        print("\n" + result.gil_probe)
    print("\n" + ("PASS" if not verdict else "ATTENTION: " + "; ".join(verdict)))
    if args.json:
        data = asdict(result)
        data["log"] = result.log.splitlines()
        args.json.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
