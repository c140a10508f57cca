"""The soak's figures: one sample a second, the totals, and the table it prints."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Second:
    """One sample of the timeline (counters since the performance started)."""

    t: float
    rss_mb: float
    steal_pct: float
    frames: int
    xruns: int
    overruns: int
    jack_xruns: int
    voices: int
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
    model: str = ""
    host: str = "portaudio"  # "jack": serve --jack (xruns counted by its own JACK client)
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
    cycles_missed: int = 0  # serve --jack: JACK cycles the engine's callback missed (MIDI lost)
    callbacks: int = 0
    python_cycles: int = 0  # serve --jack: cycles whose compiled callback ran Python (the GIL)
    osc_sent: int = 0
    osc_received: int = 0
    osc_bad: int = 0
    osc_handler_p99_ms: float = 0.0  # OSC thread time per datagram, last 1,024 datagrams
    osc_handler_max_ms: float = 0.0
    events_refused: int = 0
    events_lost_recovered: int = 0
    notes_started: int = 0
    notes_refused: int = 0
    voices_stolen: int = 0
    voices_max: int = 0
    # the end: every key released, then All Notes Off
    voices_after_release: int = -1  # still sounding release_s + 2 s after the note-offs
    voices_after_all_off: int = -1  # and after All Notes Off
    # memory
    rss_start_mb: float = 0.0
    rss_middle_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_slope_mb_per_min: float = 0.0
    rss_peak_mb: float = 0.0
    bank_mb: float = 0.0  # one 61-note bank at this rate, at most (the unit memory comes in)
    # recording
    frames_played: int = 0  # by the engine, the whole session
    frames_before_arm_max: int = 0  # played when the session had opened (recorder armed)
    record_expected_frames: int = 0  # frames the callback handed to the recorder
    record_written_frames: int = 0
    record_file_frames: int = 0
    record_lost_frames: int = 0
    record_error: str = ""
    record_valid: bool = False  # readable, finite, within full scale
    record_peak_dbfs: float = -200.0
    record_tail_dbfs: float = -200.0  # the last 0.25 s: silence when no voice is stuck
    # callback
    callback_avg_ms: float = 0.0
    callback_p50_ms: float = 0.0  # to 25 us (the counters' histogram bin)
    callback_p99_ms: float = 0.0
    audio_major_faults: int | None = None  # the callback thread's, during the run (None: unread)
    callback_max_ms: float = 0.0
    # how late after its period's start each callback's Python code ran (Counters.starts)
    start_late_p50_ms: float = 0.0
    start_late_p99_ms: float = 0.0
    start_late_max_ms: float = 0.0
    start_late_over_half_period: int = 0
    # the same for a compiled (GIL-free) callback on the engine's server (compiled_probe.py)
    compiled_late_p99_ms: float = 0.0
    compiled_late_max_ms: float = 0.0
    compiled_late_over_half_period: int = -1
    reference_late_p99_ms: float = 0.0  # the same for the empty callback of the reference
    reference_late_max_ms: float = 0.0
    period_ms: float = 0.0
    alongside_xruns: int = -1  # the empty callback on a second JACK server during the soak
    alongside_portaudio_xruns: int = -1  # its blocks PortAudio flagged (as the engine's own)
    alongside_late_p99_ms: float = 0.0
    alongside_late_max_ms: float = 0.0
    alongside_late_over_half_period: int = -1
    xrun_causes: str = ""  # the engine's server: xrun events and their causes (xrun_causes.py)
    alongside_xrun_causes: str = ""  # the same for the second server's
    wakeups: dict = field(default_factory=dict)  # cyclictest in the same seconds (wakeups.py)
    collections: str = ""  # Python's garbage collections in serve's process (gc_watch.py)
    gil_probe: str = ""  # soak --gil-probe: what held the interpreter lock at late wakes
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
    def engine_counter(self) -> str:
        """Who counted the engine's own xruns: PortAudio's underflow flags, or with
        serve --jack the engine's JACK client."""
        return "engine's JACK client" if self.host == "jack" else "PortAudio"

    @property
    def xruns(self) -> int:
        return self.portaudio_xruns + self.jack_xruns

    @property
    def dropped_events(self) -> int:
        return (self.midi_sent - self.midi_received) + (self.osc_sent - self.osc_received) + \
            self.midi_bad + self.osc_bad + self.events_refused + self.notes_refused

    @property
    def recording_complete(self) -> bool:
        return (self.record_valid and self.record_lost_frames == 0 and not self.record_error
                and self.record_file_frames == self.record_written_frames ==
                self.record_expected_frames > 0
                and 0 <= self.frames_played - self.record_expected_frames
                <= self.frames_before_arm_max)

    def verdict(self) -> list[str]:
        """What fell short of the issue's targets, one phrase each (empty: all met)."""
        out = []
        if self.xruns or self.overruns:
            out.append(f"{self.xruns} xrun(s), {self.overruns} overrun(s) (reference: "
                       f"{self.reference_xruns} in {self.reference_s:.0f} s; steal in those "
                       f"seconds: {self.steal_at_xruns_pct})")
        if self.dropped_events:
            out.append(f"{self.dropped_events} dropped event(s)")
        if self.voices_after_release or self.voices_after_all_off:
            out.append(f"voices left: {self.voices_after_release} after the note-offs, "
                       f"{self.voices_after_all_off} after All Notes Off")
        if not self.recording_complete:
            out.append("recording incomplete or invalid")
        return out

    def rows(self) -> list[tuple[str, str, str]]:
        period = self.period_ms
        generator = (f"{self.generator_cpu_pct:.0f} %" if not self.generator_in_process
                     else "(in serve's process)")
        return [
            ("run", f"{self.seconds:.0f} s at {self.rate} Hz, block {self.blocksize} "
                    f"({period:.2f} ms), model {self.model}, load average "
                    f"{self.load_average:.1f}", ""),
            (f"xruns ({self.engine_counter} / JACK)", f"{self.portaudio_xruns} / {self.jack_xruns}",
             "0"),
            ("reference: JACK xruns of an empty Python callback",
             f"{self.reference_xruns} in {self.reference_s:.0f} s (others' CPU "
             f"{self.reference_others_cpu_pct:.0f} %, steal {self.reference_steal_pct:.1f} %)",
             ""),
            ("engine overruns (callback > period)", f"{self.overruns}", "0"),
            *([("cycles whose callback ran Python (took the GIL) / all cycles",
                f"{self.python_cycles} / {self.callbacks} "
                f"({100.0 * self.python_cycles / max(1, self.callbacks):.1f} %)", "few")]
              if self.host == "jack" else []),
            ("steal time (whole run / worst second)",
             f"{self.steal_pct:.1f} % / {self.steal_max_pct:.0f} %", "low"),
            ("steal in the seconds with xruns",
             ", ".join(f"{s:.0f} %" for s in self.steal_at_xruns_pct) or "-", ""),
            (f"other processes' CPU (of one core; the machine has {os.cpu_count()})",
             f"{self.others_cpu_pct:.0f} %", ""),
            ("MIDI messages sent / received / bad" +
             (" (JACK cycles the engine missed, whose MIDI is lost)" if self.host == "jack" else ""),
             f"{self.midi_sent} / {self.midi_received} / {self.midi_bad}" +
             (f" ({self.cycles_missed})" if self.host == "jack" else ""), "all, 0 bad"),
            ("OSC messages sent / received / bad",
             f"{self.osc_sent} / {self.osc_received} / {self.osc_bad}", "all, 0 bad"),
            ("OSC handler time per datagram: p99 / max",
             f"{self.osc_handler_p99_ms:.2f} / {self.osc_handler_max_ms:.2f} ms",
             "well under the period"),
            ("engine events refused / notes refused",
             f"{self.events_refused} / {self.notes_refused}", "0 / 0"),
            ("notes started / voices stolen / most voices",
             f"{self.notes_started} / {self.voices_stolen} / {self.voices_max}", ""),
            ("voices after the note-offs / after All Notes Off",
             f"{self.voices_after_release} / {self.voices_after_all_off}", "0 / 0"),
            ("serve RSS after warm-up: start / middle / end (medians of thirds)",
             f"{self.rss_start_mb:.0f} / {self.rss_middle_mb:.0f} / {self.rss_end_mb:.0f} MB"
             f" (peak {self.rss_peak_mb:.0f}; one bank <= {self.bank_mb:.1f} MB)", "flat"),
            ("RSS slope after warm-up", f"{self.rss_slope_mb_per_min:+.1f} MB/min", "~0"),
            ("recording: frames played (engine) / handed to the recorder / written / in "
             "the WAV", f"{self.frames_played} / {self.record_expected_frames} / "
             f"{self.record_written_frames} / {self.record_file_frames}",
             f"played - handed <= {self.frames_before_arm_max} (before arming), rest equal"),
            ("recording: frames lost, error, valid",
             f"{self.record_lost_frames}, {self.record_error or 'none'}, "
             f"{'yes' if self.record_valid else 'NO'} (peak {self.record_peak_dbfs:.1f} dBFS, "
             f"last 0.25 s {self.record_tail_dbfs:.0f} dBFS)", "0, none, yes"),
            ("audio callback mean / p50 / p99 / max",
             f"{self.callback_avg_ms:.2f} / {self.callback_p50_ms:.2f} / "
             f"{self.callback_p99_ms:.2f} / "
             f"{self.callback_max_ms:.2f} ms", f"< {period:.2f} ms"),
            ("callback start after its period's start (" +
             ("the scheduler: noted by the compiled callback before any Python" if
              self.host == "jack" else "GIL and scheduler") +
             "): p50 / p99 / max; later than half a period",
             f"{self.start_late_p50_ms:.2f} / {self.start_late_p99_ms:.2f} / "
             f"{self.start_late_max_ms:.2f} ms; {self.start_late_over_half_period} (the empty "
             f"callback: p99 {self.reference_late_p99_ms:.2f}, max "
             f"{self.reference_late_max_ms:.2f} ms)", "small; 0"),
            ("the same for a compiled C callback on the engine's server, same cycles (no "
             "Python, no GIL): p99 / max; later than half a period",
             "-" if self.compiled_late_over_half_period < 0 else
             f"{self.compiled_late_p99_ms:.2f} / {self.compiled_late_max_ms:.2f} ms; "
             f"{self.compiled_late_over_half_period}", "the thread's own wake-up"),
            (f"the empty callback on a second JACK server during the soak: xruns "
             f"{'its JACK client' if self.host == 'jack' else 'PortAudio'} / "
             "JACK; start late p99 / max; later than half a period",
             "-" if self.alongside_xruns < 0 else
             f"{self.alongside_portaudio_xruns} / {self.alongside_xruns}; "
             f"{self.alongside_late_p99_ms:.2f} / "
             f"{self.alongside_late_max_ms:.2f} ms; {self.alongside_late_over_half_period}",
             "what the machine does to any Python client"),
            ("xrun events on the engine's server and their causes, from jackd's log "
             "(soaklib/xrun_causes.py)",
             self.xrun_causes or "-", "a client overran 0"),
            ("the same on the second server (the empty callback's)",
             self.alongside_xrun_causes or "-", ""),
            ("a C real-time thread beside it (cyclictest, 1 ms): wake-ups later than half a "
             "period / a period; latest",
             (f"{self.wakeups['over_half_period']} / {self.wakeups['over_period']} of "
              f"{self.wakeups['wakeups']}; {self.wakeups['max_ms']:.2f} ms")
             if self.wakeups else "- (not run: rt-tests missing, cyclictest failed, or "
             "--no-alongside)",
             "the machine's floor"),
            ("garbage collections in serve's process, generation 0 / 1 / 2 (each holds the "
             "interpreter lock)", self.collections or "-", "none long"),
            ("audio thread major page faults (pages read from disk) during the run",
             "-" if self.audio_major_faults is None else str(self.audio_major_faults), "0"),
            ("bank worker: corners re-rolled / notes made / busy",
             f"{self.banks_requested} / {self.notes_generated} / {self.worker_busy_pct:.0f} %",
             ""),
            ("CPU (of one core): serve / generator process / performers",
             f"{self.process_cpu_pct:.0f} % / {generator} / {self.harness_cpu_pct:.0f} %", ""),
            ("generator process RSS: start / end",
             f"{self.generator_rss_start_mb:.0f} / {self.generator_rss_end_mb:.0f} MB"
             if not self.generator_in_process else "-", "flat"),
        ]

    def table(self) -> str:
        rows = self.rows()
        width = max(len(r[0]) for r in rows)
        value_width = max(len(r[1]) for r in rows)
        lines = [f"| {'measure':<{width}} | {'value':<{value_width}} | target |",
                 f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|--------|"]
        lines += [f"| {a:<{width}} | {b:<{value_width}} | {c} |" for a, b, c in rows]
        return "\n".join(lines)


def steal_in_xrun_seconds(timeline: list[Second]) -> list[float]:
    """Steal time of each one-second sample in which an xrun or overrun happened."""
    out, previous = [], (0, 0, 0)
    for s in timeline:
        now = (s.xruns, s.jack_xruns, s.overruns)
        if now != previous:
            out.append(round(s.steal_pct, 1))
        previous = now
    return out
