"""A `serve` session: model -> bank service -> instrument -> engine -> audio, MIDI and OSC.

`Session.open` builds everything in dependency order and `Session.close`
takes it down in the reverse one, each step guarded so one failing close
cannot skip the rest:

1. inputs first (MIDI ports release the notes they hold, OSC stops),
2. all notes off while audio still runs, waiting (at most a couple of
   seconds) for release tails to end, then all sound off,
3. the audio stream, then the recordings are finalised (after the stream,
   so they hold every block the stream played), then the layer thread,
4. the bank worker (it saves partial banks to the cache).

If the audio device goes away while playing (the JACK server stopped), the
stream's watchdog reports it, `run` returns and `audio_lost` says why; the
close sequence then finalises the recordings without waiting for audio that
will not come, and `serve` exits with a one-line message (status 3).

Threads: open/run/close from the main thread.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..banks.builder import BuildSettings
from ..banks.cache import DEFAULT_MAX_BYTES, BankCache, bank_folder
from ..banks.source import ModelSource, StampMemo
from ..banks.service import BankService
from ..engine import AudioStream, Engine, EngineConfig
from ..errors import GansynthLiveError
from ..events import AllNotesOff, AllSoundOff
from ..inputs.cc_map import CCMap
from ..inputs.midi_ports import MidiInputs, MidiUnavailable
from ..inputs.osc import OscServer
from ..inputs.osc_feedback import feedback_values
from ..model.prior import NORMAL, LatentPrior
from ..paths import data_dir
from ..presets import PresetError
from .config import ServeConfig
from .corners import Corner, PresetLibrary, corner_from_spec, seeded_corner
from .grid_budget import available_memory, check_grid
from .instrument import Instrument, fader_gain
from .status import Console, format_status
from .timbre_space import GridSpace

if TYPE_CHECKING:
    from ..engine.jack_stream import JackStream
    from ..inputs.jack_midi import JackMidiInputs

log = logging.getLogger(__name__)

DEFAULT_SEEDS = (1, 2, 3, 4)
RELEASE_WAIT_MAX_S = 2.0
TAIL_S = 0.1  # silence rendered after all sound off, before the stream stops


def model_name_for(spec: str | None, path: Path) -> str:
    """'default', a released model's name, or the model folder's name."""
    if spec is None or not ("/" in spec or Path(spec).exists()):
        return spec or "default"
    return path.resolve().name


class Session:
    """Everything `serve` runs (see the module docstring)."""

    def __init__(self, config: ServeConfig, console: Console | None = None, *,
                 source: ModelSource | None = None, settings: BuildSettings | None = None,
                 model_name: str | None = None, generator_process: bool = True) -> None:
        self.config = config
        self.console = console or Console()
        self._source = source
        self._settings = settings
        self.model_name = model_name
        self.generator_process = generator_process  # False: the model in this process (A/B)
        self.service: BankService | None = None
        self.engine: Engine | None = None
        self.instrument: Instrument | None = None
        self.stream: AudioStream | JackStream | None = None
        self.midi: MidiInputs | JackMidiInputs | None = None
        self.osc: OscServer | None = None
        self.web = None  # web.server.WebServer while the browser surface is served
        self.oscquery = None  # inputs.oscquery.OscQueryServer with --oscquery-port
        self.status_text = ""
        self.prior: LatentPrior = NORMAL  # the model's, once open
        self.audio_lost = ""  # why the audio device went away while playing ('' if it did not)
        self._stop = threading.Event()

    # --- building -----------------------------------------------------------------------
    def open(self) -> "Session":
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def _open(self) -> None:
        config = self.config
        say = self.console.message
        if config.resolution is not None and not config.allow_large_grid:
            check_grid(config.resolution, config.sample_rate,  # before generating anything
                       None if config.no_cache else DEFAULT_MAX_BYTES, available_memory())
        if not config.jack:  # JackStream checks the server's rate when it opens
            _check_audio(config)  # before minutes of bank building, not after
        source = self._source or self._model_source()
        settings = self._settings or BuildSettings(sample_rate=config.sample_rate)
        cache = None if config.no_cache else BankCache(bank_folder(config.cache_dir))
        # The model runs in a generator process: generation never holds the interpreter
        # lock the audio callback needs (see banks/generator_process.py). With --generator
        # a server makes the banks, and that process takes over while it is unreachable.
        own = BankService.own_generator(source, settings, self.generator_process)
        remote = self._remote_generator(settings)
        self.service = BankService(source, settings, cache, generator=remote or own,
                                   fallback=own if remote else None).start()
        if remote is not None:
            say(f"banks from {remote.name} (this machine while it is unreachable)")
        if source.stamp is None:
            say("loading the model (first use of this model: fingerprinting its weights) ...")
            if not self.service.wait_ready():
                error = self.service.status()["load_error"]
                raise GansynthLiveError(f"cannot load the model: {error}")
        stamp = source.stamp
        assert stamp is not None
        self.prior = source.prior(stamp.latent_size)  # random corners draw the model's own
        self.engine = Engine(EngineConfig(
            sample_rate=config.sample_rate, polyphony=config.polyphony,
            bend_range_semitones=config.bend_range,
            master_gain=fader_gain(config.volume)))
        library = PresetLibrary(config.presets_dir, config.programs)
        service = self.service

        def make_space(anchors, previous, resolution):
            return GridSpace(service, anchors, resolution, previous)

        self.instrument = Instrument(
            self.engine, make_space, latent_size=stamp.latent_size,
            model_name=self.model_name or stamp.name, library=library,
            recordings=config.record_dir or data_dir() / "recordings",
            cc_map=CCMap(config.cc_x, config.cc_y, on_change=say), volume=config.volume,
            resolution=config.resolution, report=say,
            max_take_s=config.max_take_minutes * 60.0, prior=self.prior,
            expression=config.expression)
        library.model_name = self.model_name or stamp.name
        corners, preset = self._initial_setup(library, stamp.latent_size, say)
        self.instrument.start(corners=corners, preset=preset,
                              position=(config.morph[0], config.morph[1]))
        self._wait_for_banks()
        if config.jack:
            from ..engine.jack_stream import JackStream

            self.stream = JackStream(self.engine, on_lost=self._audio_lost)
        else:
            self.stream = AudioStream(self.engine, device=_device(config.audio_device),
                                      blocksize=config.blocksize, latency=config.latency_value,
                                      on_lost=self._audio_lost)
        self.stream.start()
        say(f"audio: {self.stream.describe()}")
        if config.record is not None:
            path = self.instrument.recording.start_session(config.record)
            say(f"recording the session to {path}")
        if config.midi:
            self._open_midi()
        if config.osc:
            self.osc = OscServer(self.instrument, config.osc_host, config.osc_port,
                                 reply_port=config.osc_reply_port,
                                 feedback_hz=config.feedback_rate, values=self.feedback,
                                 allow=config.osc_allow, report=say).start()
            allowed = f", from {', '.join(config.osc_allow)} only" if config.osc_allow else ""
            say(f"OSC: listening on {config.osc_host}:{self.osc.port} (UDP){allowed}")
            if config.oscquery_port is not None:
                self._open_oscquery()
        if config.web:
            self._open_web()

    def _model_source(self) -> ModelSource:
        from ..model.registry import resolve_model

        path = resolve_model(self.config.model)
        self.model_name = self.model_name or model_name_for(self.config.model, path)
        memo = None if self.config.no_cache else StampMemo(bank_folder(self.config.cache_dir))
        return ModelSource(path=path, memo=memo, name=self.model_name)

    def _remote_generator(self, settings):
        """The --generator server's client, or None. Its constructor checks the address
        (one line for a bad or unsafe one), before anything starts. A server that does not
        answer one batch in LIVE_TIMEOUT_S (cluster/client.py) hands over to this machine."""
        if not self.config.generator:
            return None
        from ..cluster.client import LIVE_TIMEOUT_S, RemoteGenerator

        return RemoteGenerator(self.config.generator, settings,
                               allow_insecure=self.config.allow_insecure_generator,
                               timeout_s=LIVE_TIMEOUT_S)

    def _initial_setup(self, library: PresetLibrary, latent_size: int,
                       say: Callable[[str], None]) -> tuple[list[Corner] | None, str | None]:
        """What to play first: the flags' choice, else the preset `default` when it belongs
        to this model, else four seeded corners (said on the console)."""
        config = self.config
        if config.preset:
            return None, config.preset
        if config.corners:
            return [corner_from_spec(spec, library, latent_size, self.prior)
                    for spec in config.corners], None
        try:
            default = library.find("default")
        except PresetError:
            default = None
        if default is not None and library.plays(default):
            return None, "default"
        if default is not None:
            say(f"the preset 'default' belongs to model {default.model!r}, not "
                f"{library.model_name!r}: starting on seeds {', '.join(map(str, DEFAULT_SEEDS))} "
                "(save this model's own presets with `gansynth-live preset save`)")
        return [seeded_corner(latent_size, s, self.prior) for s in DEFAULT_SEEDS], None

    def _wait_for_banks(self) -> None:
        if self.config.wait == "none":
            return
        from tqdm import tqdm

        follower = self.instrument.follower
        want_all = self.config.wait == "all"
        with tqdm(total=0, unit="note", desc="banks", leave=False) as bar:
            while True:
                progress = follower.progress()
                if progress.failed:
                    errors = [h.error for h in follower.space.handles() if h.error is not None]
                    raise GansynthLiveError(f"bank generation failed: {errors[0] if errors else ''}")
                if progress.notes_total != bar.total:
                    bar.total = progress.notes_total
                bar.set_postfix_str(progress.describe(), refresh=False)
                bar.update(progress.notes_done - bar.n)
                layers = follower.layers
                if want_all and progress.complete:
                    break
                if not want_all and layers is not None and all(b.complete for b in layers.banks):
                    break
                follower.wait_pass(0.5)
        self.console.message(f"banks: {follower.progress().describe()}")

    def _open_midi(self) -> None:
        config = self.config
        if config.jack:
            self._open_jack_midi()
            return
        explicit = config.midi_api != "auto" or config.midi_in != ["all"]
        try:
            self.midi = MidiInputs(
                self.instrument, self.instrument.cc_map, inputs=tuple(config.midi_in),
                virtual=config.midi_virtual or None, api=config.midi_api,
                channels=config.channels, report=self.console.message,
                zones=config.mpe_zones, expression=config.expression).start()
        except MidiUnavailable as exc:
            if explicit:
                raise
            self.console.message(f"MIDI unavailable ({exc}); playing from OSC only "
                                 "(--no-midi hides this)")
            return
        virtual = self.midi.virtual_port_name()
        self.console.message(f"MIDI ({self.midi.api.upper()}): "
                             + (f"virtual input '{virtual}'" if virtual else "no virtual input")
                             + f", CC map {self.instrument.cc_map.describe()}")

    def _open_jack_midi(self) -> None:
        """MIDI ports on the engine's own JACK client, read in its process callback."""
        from ..inputs.jack_midi import JackMidiInputs

        config = self.config
        self.midi = JackMidiInputs(
            self.stream, self.instrument, self.instrument.cc_map, inputs=tuple(config.midi_in),
            virtual=config.midi_virtual or None, channels=config.channels,
            report=self.console.message, zones=config.mpe_zones,
            expression=config.expression).start()
        virtual = self.midi.virtual_port_name()
        self.console.message("MIDI (JACK, read in the process callback): "
                             + (f"input '{virtual}'" if virtual else "no virtual input")
                             + f", CC map {self.instrument.cc_map.describe()}")

    def _open_web(self) -> None:
        """The browser surface; a port that cannot be opened is said, not fatal (the
        instrument plays from MIDI and OSC without it)."""
        from ..web.server import WebServerError, web_dispatcher
        from ..web.session import open_web

        try:
            self.web, url = open_web(
                self.config, web_dispatcher(self.instrument, self.osc, self.console.message),
                self.feedback, self.console.message)
        except WebServerError as exc:
            self.console.message(f"{exc}; the web surface is off (--web-port PORT picks "
                                 "another, --no-web hides this)")
            return
        self.console.message(f"web surface: {url}")

    def _open_oscquery(self) -> None:
        """The address space for OSCQuery clients; a port that cannot be opened is said,
        not fatal (OSC itself is open)."""
        from ..inputs.oscquery import OscQueryError, OscQueryServer

        host = self.config.osc_host
        try:
            self.oscquery = OscQueryServer(self.feedback, self.osc.port, host,
                                           self.config.oscquery_port).start()
        except OscQueryError as exc:
            self.console.message(f"{exc}; OSCQuery is off")
            return
        shown = f"[{host}]" if ":" in host else host
        self.console.message(f"OSCQuery: http://{shown}:{self.oscquery.port}/ "
                             f"(OSC port {self.osc.port})")

    # --- running ------------------------------------------------------------------------
    def feedback(self) -> dict:
        """OSC feedback values (the OSC feedback thread)."""
        return feedback_values(self.instrument.state(), self.engine.stats(), self.status_text)

    def status_line(self) -> str:
        instrument, engine = self.instrument, self.engine
        state = instrument.state()
        return format_status(
            state, engine.stats(), self.midi.open_count if self.midi is not None else None,
            self.osc.stats() if self.osc is not None else None,
            state.record_seconds if state.recording else None,
            instrument.recording.session_active, self._generator_text())

    def _generator_text(self) -> str:
        """'' without --generator; else who makes the banks now, and why not the server."""
        if not self.config.generator or self.service is None:
            return ""
        if self.service.generator_note:
            return "banks here (generator unreachable)"
        return "banks remote"

    def run(self, period_s: float = 0.25) -> None:
        """Show the status line until `stop()` or KeyboardInterrupt (main thread)."""
        while not self._stop.wait(period_s):
            self.instrument.recording.stop_if_too_long()
            self.status_text = self.status_line()
            self.console.status(self.status_text)

    def stop(self) -> None:
        self._stop.set()

    def _audio_lost(self, reason: str) -> None:
        """The stream's watchdog (housekeeping thread): end `run`, let close skip the audio."""
        self.audio_lost = reason
        self._stop.set()

    # --- closing ------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        self.console.finish()
        steps = [("web surface", self._close_web), ("MIDI inputs", self._close_midi),
                 ("OSCQuery", self._close_oscquery), ("OSC server", self._close_osc),
                 ("release", self._release_notes), ("audio", self._close_stream),
                 ("instrument", self._close_instrument), ("bank worker", self._close_service)]
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - finish closing everything else
                self.console.message(f"closing {what}: {type(exc).__name__}: {exc}")
                log.exception("closing %s failed", what)

    def _close_midi(self) -> None:
        if self.midi is not None:
            self.midi.close()
            self.midi = None

    def _close_web(self) -> None:
        if self.web is not None:
            self.web.close()
            self.web = None

    def _close_oscquery(self) -> None:
        if self.oscquery is not None:
            self.oscquery.close()
            self.oscquery = None

    def _close_osc(self) -> None:
        if self.osc is not None:
            self.osc.close()
            self.osc = None

    def _release_notes(self) -> None:
        engine = self.engine
        if engine is None:
            return
        engine.push(AllNotesOff())
        if self.stream is None or not self.stream.active:
            return
        deadline = time.monotonic() + RELEASE_WAIT_MAX_S
        while engine.stats().voices_active and time.monotonic() < deadline:
            time.sleep(0.02)
        engine.push(AllSoundOff())
        # End on silence measured in audio time (a starved callback renders less than
        # wall-clock time suggests), so a recording never stops inside a fade.
        start = engine.stats().frames
        deadline = time.monotonic() + 1.0
        while engine.stats().frames - start < TAIL_S * engine.sample_rate and \
                time.monotonic() < deadline:
            time.sleep(0.01)

    def _close_stream(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def _close_instrument(self) -> None:
        if self.instrument is not None:
            for path in self.instrument.recording.stop_all():
                self.console.message(f"recording saved: {path}")
            self.instrument.close()
            self.instrument = None

    def _close_service(self) -> None:
        if self.service is not None:
            self.service.close()
            self.service = None


def _check_audio(config: ServeConfig) -> None:
    """Fail early if the output device cannot take our stream (PortAudio's own check)."""
    from ..engine.stream import AudioDeviceError, sounddevice

    sd = sounddevice()
    try:
        sd.check_output_settings(device=_device(config.audio_device), channels=2,
                                 dtype="float32", samplerate=config.sample_rate)
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioDeviceError(
            f"audio output {config.audio_device or '(default)'} cannot play "
            f"{config.sample_rate} Hz stereo: {exc}. See `gansynth-live serve "
            "--list-devices`; with JACK, --sample-rate must be the server's rate") from None


def _device(spec: str | None) -> int | str | None:
    if spec is None:
        return None
    return int(spec) if spec.strip().isdigit() else spec
