"""`serve` settings: one table of options, read from a TOML file and from flags.

Every option is a command-line flag and a key of the config file (same name,
dashes as underscores), so a file can hold everything the flags hold.
Precedence: built-in default < config file < flag given on the command line.
Paths in a config file are relative to the file's folder. Unknown keys and
values of the wrong type or range are errors that name the file (or flag)
and the key: a typo in a gig's config must not silently fall back to a
default. Whatever the file holds (numbers of hundreds of digits, nesting
thousands deep), loading ends in a ServeConfig or one ConfigError line.

    # gansynth-live.toml
    model = "default"
    preset = "grand_piano"
    midi_in = ["Keystation", "nanoKONTROL"]
    midi_channels = [1, 2]
    cc_x = 1
    cc_y = 74
    osc_host = "0.0.0.0"
    volume = 0.6
    [programs]
    0 = "grand_piano"
    1 = "default"
"""

from __future__ import annotations

import argparse
import copy
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from ..documents import DocumentError, parse_toml, shown
from ..errors import GansynthLiveError
from ..inputs.midi import AXES, POWER_RANGE, Expression, MpeZone, curve_function

MAX_CONFIG_BYTES = 1 << 20
EXPRESSION = Expression()  # the per-note expression defaults
INT_LIMIT = 2**31  # no option takes an integer beyond this; bigger ones are refused as such


class ConfigError(GansynthLiveError):
    """A config file or flag value that cannot be used (names the source and the key)."""


def _words(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [w.strip() for w in value.split(",") if w.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ConfigError(f"{where}: expected a list of names (or one comma-separated string)")


def _is_zone(text: str) -> bool:
    try:
        MpeZone.parse(text)
    except ValueError:
        return False
    return True


def _is_curve(text: str) -> bool:
    try:
        curve_function(text)
    except ValueError:
        return False
    return True


def _curve(value: Any, where: str) -> str:
    """A curve name, or a power given as a number or as text (checked by `ServeConfig`)."""
    if isinstance(value, float):
        return repr(_float(value, where))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(_int(value, where))
    return _str(value, where).strip().lower()


def _int(value: Any, where: str) -> int:
    """An int within +-INT_LIMIT, from an int or its text (range checks come later)."""
    number = None
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:  # not digits, or past Python's 4300-digit limit
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    if number is None:
        raise ConfigError(f"{where}: expected an integer, got {shown(value)}")
    if not -INT_LIMIT <= number <= INT_LIMIT:
        raise ConfigError(f"{where}: {shown(number)} is far out of range")
    return number


def _optional_int(value: Any, where: str) -> int | None:
    if value is None or value is False or (isinstance(value, str) and
                                           value.strip().lower() in ("none", "off", "")):
        return None
    return _int(value, where)


def _float(value: Any, where: str) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {shown(value)}") from None
    except OverflowError:  # an int of hundreds of digits
        raise ConfigError(f"{where}: expected a finite number, got {shown(value)}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where}: expected a finite number, got {shown(value)}")
    return number


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: expected true or false, got {shown(value)}")


def _str(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    raise ConfigError(f"{where}: expected a string, got {shown(value)}")


def _optional_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _numbers(value: Any, where: str, convert: Callable[[Any, str], Any]) -> list[Any]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of numbers, got {shown(value)}")
    return [convert(v, where) for v in value]


def _programs(value: Any, where: str) -> dict[int, str]:
    items: list[tuple[Any, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = []
        for entry in value:
            number, sep, name = entry.partition("=")
            if not sep:
                raise ConfigError(f"{where}: expected PROGRAM=PRESET, got {shown(entry)}")
            items.append((number, name.strip()))
    else:
        raise ConfigError(f"{where}: expected a table of program number = preset name")
    out = {}
    for number, name in items:
        program = _int(number, where)
        if not 0 <= program <= 127:
            raise ConfigError(f"{where}: program {program} is outside 0..127")
        out[program] = _str(name, where)
    return out


@dataclass(frozen=True)
class Option:
    key: str
    convert: Callable[[Any, str], Any]
    default: Any
    help: str
    group: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    negative: str | None = None  # a --no-... flag that sets the "off" value
    off: Any = None
    repeat: bool = False  # the flag may be given several times (values collected)
    is_path: bool = False
    off_help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


def _choice(*choices: str) -> Callable[[Any, str], str]:
    def convert(value: Any, where: str) -> str:
        text = _str(value, where)
        if text not in choices:
            raise ConfigError(f"{where}: expected one of {', '.join(choices)}, "
                              f"got {shown(text)}")
        return text
    return convert


def _path(value: Any, where: str) -> Path | None:
    return None if value is None else Path(_str(value, where)).expanduser()


OPTIONS: tuple[Option, ...] = (
    # sound source
    Option("model", _optional_str, None, "model folder or name (default: the model shipped "
           "with the package)", "sound", "PATH|NAME"),
    Option("preset", _optional_str, None, "preset or morph setup to start with (default: the "
           "preset named 'default' if there is one, else four seeded random corners)",
           "sound", "NAME"),
    Option("corners", _words, [], "2..4 corners instead of a preset: preset names or seed:N, "
           "comma-separated (corner 1 bottom-left, 2 bottom-right, 3 top-left, 4 top-right)",
           "sound", "A,B[,C,D]"),
    Option("morph", lambda v, w: _numbers(v, w, _float), [0.5, 0.5],
           "start position on the morph pad, x,y in 0..1", "sound", "X,Y"),
    Option("resolution", _optional_int, None, "morph grid points per axis (default: the "
           "preset's, else 3)", "sound", "N"),
    Option("presets_dir", _path, None, "an extra presets folder, searched first", "sound",
           "PATH", is_path=True),
    Option("cache_dir", _path, None, "bank cache folder (default: the user cache folder)",
           "sound", "PATH", is_path=True),
    Option("no_cache", _bool, False, "neither read nor write the bank cache", "sound"),
    Option("allow_large_grid", _bool, False, "start even if --resolution asks for more "
           "banks than the bank cache or the memory holds", "sound"),
    Option("generator", _optional_str, None, "make the banks on a generation server "
           "(`gansynth-live generate-server` on a GPU box, reached as http://HOST:PORT, e.g. "
           "through an SSH tunnel); this machine takes over at once while it is unreachable",
           "sound", "URL"),
    Option("allow_insecure_generator", _bool, False, "let --generator be a plain-text "
           "address outside this machine (only on a network you trust: docs/cluster.md)",
           "sound"),
    Option("wait", _choice("none", "first", "all"), "first", "before opening audio, wait for "
           "no bank, the bank at the start position, or the whole grid (default first)",
           "sound", choices=("none", "first", "all")),
    # audio
    Option("audio_device", _optional_str, None, "output device: index or part of 'name, "
           "host API' (see --list-devices)", "audio", "DEVICE"),
    Option("jack", _bool, False, "play as a JACK client of its own instead of through "
           "PortAudio: out_1/out_2 to the system playback, and MIDI ports read inside JACK's "
           "process callback (a note sounds a period sooner than through --midi-api jack); "
           "the server's rate and period are used", "audio"),
    Option("sample_rate", _int, 48000, "output sample rate in Hz", "audio", "HZ"),
    Option("blocksize", _int, 256, "frames per audio callback (0: let PortAudio choose)",
           "audio", "FRAMES"),
    Option("latency", _str, "low", "'low', 'high' or seconds", "audio", "LATENCY"),
    Option("polyphony", _int, 64, "voices sounding at once", "audio", "N"),
    Option("volume", _float, 0.5, "start volume fader 0..1 (gain 2*v^2: 0.5 is -6 dB)",
           "audio", "V"),
    Option("bend_range", _float, 2.0, "pitch-bend range in semitones", "audio", "SEMITONES"),
    Option("record", _path, None, "record the whole session to this file", "audio", "FILE",
           is_path=True),
    Option("record_dir", _path, None, "folder for recordings started with OSC /record "
           "(default: the user data folder's recordings/)", "audio", "PATH", is_path=True),
    Option("max_take_minutes", _float, 60.0, "a take started with OSC /record stops by "
           "itself after this long (a take left running must not fill the disk)", "audio",
           "MINUTES"),
    # MIDI
    Option("midi", _bool, True, "open MIDI inputs (config key; flag --no-midi)", "midi",
           negative="--no-midi", off=False, off_help="no MIDI at all (OSC only)"),
    Option("midi_in", _words, ["all"], "MIDI input to open: a port name, part of one, or "
           "'all' (every hardware input, also ones plugged in later); repeat for several; "
           "'none' for only the virtual port", "midi", "NAME", repeat=True),
    Option("midi_virtual", _str, "gansynth-live in", "name of the virtual MIDI input port "
           "DAWs connect to", "midi", "NAME", negative="--no-midi-virtual", off="",
           off_help="no virtual MIDI port"),
    Option("midi_api", _choice("auto", "alsa", "jack"), "auto", "MIDI system (auto: ALSA if "
           "there is a sequencer, else JACK)", "midi", choices=("auto", "alsa", "jack")),
    Option("midi_channels", lambda v, w: _numbers(v, w, _int), [], "MIDI channels to listen "
           "to, 1..16, comma-separated (default: all)", "midi", "1,2,..."),
    Option("cc_x", _optional_int, 1, "controller driving morph x (default 1, the mod wheel; "
           "'none' for no controller)", "midi", "CC"),
    Option("cc_y", _optional_int, 2, "controller driving morph y (default 2; 'none')", "midi",
           "CC"),
    Option("programs", _programs, {}, "MIDI program number -> preset (default: the Nth preset "
           "by name)", "midi", "N=PRESET", repeat=True),
    Option("mpe", _words, [], "MPE zones from the start: lower[:N] and/or upper[:N] (N member "
           "channels, default 15); an MPE controller's own RPN 6 message sets them too",
           "midi", "ZONE[,ZONE]"),
    Option("expression_slide", _choice(*AXES), EXPRESSION.slide_axis, "morph axis that "
           "MPE slide (CC74 on a member channel) moves each note along (default "
           f"{EXPRESSION.slide_axis}; none: slide does nothing)", "midi", choices=AXES),
    Option("expression_pressure", _choice(*AXES), EXPRESSION.pressure_axis, "morph axis "
           "that pressure (channel pressure on a member channel, polyphonic aftertouch) moves "
           f"each note along (default {EXPRESSION.pressure_axis})", "midi", choices=AXES),
    Option("expression_depth", _float, EXPRESSION.depth, "how far a note moves at full "
           f"slide or pressure, in morph units 0..1 (default {EXPRESSION.depth:g})", "midi",
           "UNITS"),
    Option("expression_curve", _curve, EXPRESSION.curve, "slide's and pressure's travel "
           "curve: linear (default), exp (fine at first, steep at the end) or a power P "
           "(2: gentle start, 0.5: quick start)", "midi", "CURVE"),
    # OSC
    Option("osc", _bool, True, "open the OSC server (config key; flag --no-osc)", "osc",
           negative="--no-osc", off=False, off_help="no OSC server"),
    Option("osc_host", _str, "127.0.0.1", "address the OSC server listens on (0.0.0.0 opens "
           "it to the LAN)", "osc", "HOST"),
    Option("osc_port", _int, 9000, "OSC UDP port (0: any free port)", "osc", "PORT"),
    Option("osc_allow", _words, [], "only accept OSC from these addresses, networks "
           "(192.168.1.0/24) or host names, comma-separated; repeat for more (default: "
           "anyone who can reach --osc-host)", "osc", "ADDR[,ADDR]", repeat=True),
    Option("osc_reply_port", _optional_int, None, "also send feedback to every sender's host "
           "at this port (TouchOSC's receive port)", "osc", "PORT"),
    Option("feedback_rate", _float, 20.0, "OSC feedback messages per second at most", "osc",
           "HZ"),
    Option("oscquery_port", _optional_int, None, "serve the OSC address space (types, ranges, "
           "values) to OSCQuery clients over HTTP on this TCP port, on --osc-host "
           "(default: off)", "osc", "PORT"),
    # web surface
    Option("web", _bool, True, "serve the browser control surface (config key; flag "
           "--no-web)", "web", negative="--no-web", off=False, off_help="no web surface"),
    Option("web_host", _str, "127.0.0.1", "address the web surface listens on (another "
           "than loopback asks for the token printed on start)", "web", "HOST"),
    Option("web_port", _int, 8000, "web surface TCP port (0: any free port)", "web", "PORT"),
)
OPTION_BY_KEY = {o.key: o for o in OPTIONS}


def _defaults_from_options(cls: type) -> type:
    """Give each field of `cls` the default its Option declares: defaults are declared
    once, in OPTIONS (a field without an option, or an option without a field, is an
    error at import). Lists and tables get a fresh copy per config."""
    fields_ = set(cls.__annotations__)
    if fields_ != set(OPTION_BY_KEY):
        raise TypeError(f"ServeConfig fields and OPTIONS differ: "
                        f"{sorted(fields_ ^ set(OPTION_BY_KEY))}")
    for key in cls.__annotations__:
        default = OPTION_BY_KEY[key].default
        if isinstance(default, (list, dict)):
            setattr(cls, key, field(default_factory=lambda d=default: copy.deepcopy(d)))
        else:
            setattr(cls, key, default)
    return cls


@dataclass(frozen=True)
@_defaults_from_options
class ServeConfig:
    """Every `serve` setting, validated; the types here, the defaults in OPTIONS."""

    model: str | None
    preset: str | None
    corners: list[str]
    morph: list[float]
    resolution: int | None
    presets_dir: Path | None
    cache_dir: Path | None
    no_cache: bool
    allow_large_grid: bool
    generator: str | None
    allow_insecure_generator: bool
    wait: str
    audio_device: str | None
    jack: bool
    sample_rate: int
    blocksize: int
    latency: str
    polyphony: int
    volume: float
    bend_range: float
    record: Path | None
    record_dir: Path | None
    max_take_minutes: float
    midi: bool
    midi_in: list[str]
    midi_virtual: str
    midi_api: str
    midi_channels: list[int]
    cc_x: int | None
    cc_y: int | None
    mpe: list[str]
    expression_slide: str
    expression_pressure: str
    expression_depth: float
    expression_curve: str
    programs: dict[int, str]
    osc: bool
    osc_host: str
    osc_port: int
    osc_allow: list[str]
    osc_reply_port: int | None
    oscquery_port: int | None
    feedback_rate: float
    web: bool
    web_host: str
    web_port: int


    def __post_init__(self) -> None:
        def check(key: str, ok: bool, allowed: str) -> None:
            if not ok:
                raise ConfigError(f"{key} = {shown(getattr(self, key))}: {allowed}")

        check("morph", len(self.morph) == 2 and all(0.0 <= v <= 1.0 for v in self.morph),
              "two numbers x,y in 0..1")
        check("corners", not self.corners or 2 <= len(self.corners) <= 4,
              "2 to 4 corners")
        check("resolution", self.resolution is None or 2 <= self.resolution <= 33, "2..33")
        check("sample_rate", 8000 <= self.sample_rate <= 384000, "8000..384000 Hz")
        check("blocksize", self.blocksize == 0 or 16 <= self.blocksize <= 8192,
              "0 or 16..8192 frames")
        check("latency", self.latency in ("low", "high") or _is_seconds(self.latency),
              "'low', 'high' or seconds")
        check("polyphony", 1 <= self.polyphony <= 1024, "1..1024")
        check("volume", 0.0 <= self.volume <= 1.0, "0..1")
        check("max_take_minutes", 0.0 < self.max_take_minutes <= 24 * 60, "0..1440")
        check("bend_range", 0.0 <= self.bend_range <= 48.0, "0..48 semitones")
        check("midi_channels", all(1 <= c <= 16 for c in self.midi_channels), "channels 1..16")
        check("mpe", len(self.mpe) <= 2 and all(_is_zone(z) for z in self.mpe),
              "lower[:N] and/or upper[:N], N 1..15")
        check("expression_slide", self.expression_slide in AXES, "x, y or none")
        check("expression_pressure", self.expression_pressure in AXES, "x, y or none")
        check("expression_depth", 0.0 <= self.expression_depth <= 1.0, "0..1 morph units")
        check("expression_curve", _is_curve(self.expression_curve),
              "linear, exp or a power {:g}..{:g}".format(*POWER_RANGE))
        check("osc_port", 0 <= self.osc_port <= 65535, "0..65535")
        check("osc_reply_port", self.osc_reply_port is None or
              1 <= self.osc_reply_port <= 65535, "1..65535")
        check("oscquery_port", self.oscquery_port is None or
              0 <= self.oscquery_port <= 65535, "0..65535")
        check("web_port", 0 <= self.web_port <= 65535, "0..65535")
        check("feedback_rate", 0.0 <= self.feedback_rate <= 200.0, "0..200 per second")
        check("preset", not (self.preset and self.corners), "give a preset or corners, not both")
        check("jack", not (self.jack and self.audio_device), "--jack plays through JACK "
              "directly: leave out --audio-device")
        check("jack", not (self.jack and self.midi_api == "alsa"), "--jack reads MIDI from "
              "JACK ports: leave out --midi-api alsa (a2jmidid bridges ALSA MIDI into JACK)")

    @property
    def channels(self) -> frozenset[int] | None:
        """0-based MIDI channels to accept, None for omni."""
        return frozenset(c - 1 for c in self.midi_channels) or None

    @property
    def mpe_zones(self) -> tuple[MpeZone, ...]:
        """The configured MPE zones (checked by `check`)."""
        return tuple(MpeZone.parse(z) for z in self.mpe)

    @property
    def expression(self) -> Expression:
        """How slide and pressure move each note's morph (checked by `check`)."""
        return Expression(self.expression_slide, self.expression_pressure,
                          self.expression_depth, self.expression_curve)

    @property
    def latency_value(self) -> float | str:
        return self.latency if self.latency in ("low", "high") else float(self.latency)


def _is_seconds(text: str) -> bool:
    try:
        return 0.0 < float(text) < 10.0
    except ValueError:
        return False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for every option; unspecified flags stay out of the namespace (SUPPRESS)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    titles = {"sound": "sound", "audio": "audio output", "midi": "MIDI input", "osc": "OSC",
              "web": "web surface"}
    for option in OPTIONS:
        group = groups.get(option.group)
        if group is None:
            group = groups[option.group] = parser.add_argument_group(titles[option.group])
        kwargs: dict[str, Any] = {"dest": option.key, "default": argparse.SUPPRESS,
                                  "help": option.help}
        if option.convert is _bool and option.negative is None:
            group.add_argument(option.flag, action="store_const", const=True, **kwargs)
            continue
        if option.convert is _bool:  # on by default: only the negative flag
            kwargs["help"] = option.off_help
            group.add_argument(option.negative, action="store_const", const=option.off,
                               **kwargs)
            continue
        if option.choices:
            kwargs["choices"] = option.choices
        if option.metavar:
            kwargs["metavar"] = option.metavar
        group.add_argument(option.flag, action="append" if option.repeat else "store", **kwargs)
        if option.negative:
            group.add_argument(option.negative, action="store_const", const=option.off,
                               dest=option.key, default=argparse.SUPPRESS,
                               help=option.off_help)


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, at most MAX_CONFIG_BYTES (a config is a page, not a disk)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file '{path}': larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file '{path}': not UTF-8 text (byte {exc.start}); TOML "
                          "files are UTF-8") from None


def load_toml(path: Path) -> dict[str, Any]:
    try:
        raw = parse_toml(_read_text(path))
    except DocumentError as exc:  # malformed, nested too deeply, a 5000-digit int, ...
        raise ConfigError(f"config file '{path}': {exc}") from None
    unknown = sorted(set(raw) - set(OPTION_BY_KEY))
    if unknown:
        raise ConfigError(f"config file '{path}': unknown key(s) "
                          f"{', '.join(k if k.isidentifier() else shown(k) for k in unknown[:8])}"
                          f"{' ...' if len(unknown) > 8 else ''} "
                          f"(known: {', '.join(OPTION_BY_KEY)})")
    values = {}
    for key, value in raw.items():
        option = OPTION_BY_KEY[key]
        converted = option.convert(value, f"config file '{path}': {key}")
        if option.is_path and converted is not None and not converted.is_absolute():
            converted = path.parent / converted
        values[key] = converted
    return values


def from_flags(namespace: argparse.Namespace) -> dict[str, Any]:
    values = {}
    for option in OPTIONS:
        if not hasattr(namespace, option.key):
            continue
        raw = getattr(namespace, option.key)
        where = option.flag
        if option.negative and raw == option.off:
            values[option.key] = option.off
            continue
        if option.convert is _bool:
            values[option.key] = bool(raw)
        elif option.repeat:
            if option.key == "programs":
                values[option.key] = _programs(raw, where)
            else:
                values[option.key] = [w for item in raw for w in option.convert(item, where)]
        else:
            values[option.key] = option.convert(raw, where)
    return values


def build_config(namespace: argparse.Namespace) -> ServeConfig:
    """Defaults, then the --config file, then the flags given."""
    values: dict[str, Any] = {}
    config_path = getattr(namespace, "config", None)
    if config_path is not None:
        values.update(load_toml(Path(config_path).expanduser()))
    values.update(from_flags(namespace))
    known = {f.name for f in fields(ServeConfig)}
    try:
        return ServeConfig(**{k: v for k, v in values.items() if k in known})
    except ConfigError as exc:
        source = f" (config file '{config_path}' or flags)" if config_path else ""
        raise ConfigError(f"{exc}{source}") from None
