"""No path from OSC or MIDI input reaches the file system outside the presets, cache and
recordings folders.

A real Instrument (tone model, real bank service) behind a real OscServer; hostile and
random names go in through `/preset/save`, `/preset`, `/corner/N/preset`, `/record` and
MIDI program changes. A Python audit hook (sys.addaudithook) sees every file the process
opens, renames, removes or creates while they are handled: writes must stay inside the
allowed folders, and reads too (apart from Python's own modules). The one file written
by C code, a recording (libsndfile), is checked by listing the folders instead.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: tone_model

from tone_model import write_tone_presets  # noqa: E402

from gansynth_live.live.corners import PresetLibrary  # noqa: E402
from gansynth_live.live.instrument import Instrument  # noqa: E402
from gansynth_live.live.timbre_space import GridSpace  # noqa: E402
from gansynth_live.engine import Engine, EngineConfig  # noqa: E402
from gansynth_live.inputs.cc_map import CCMap  # noqa: E402
from gansynth_live.inputs.midi import MidiTranslator  # noqa: E402
from gansynth_live.inputs.osc import OscServer  # noqa: E402
from gansynth_live.inputs.osc_limits import ACTION_RATES, ActionLimits  # noqa: E402
from gansynth_live.presets import SHIPPED_DIR  # noqa: E402

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PATH_EVENTS = {"os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,),
               "os.symlink": (0, 1), "os.link": (0, 1), "os.truncate": (0,), "os.chmod": (0,),
               "os.chown": (0,), "os.utime": (0,), "shutil.rmtree": (0,),
               "shutil.copyfile": (1,), "shutil.move": (1,)}
CODE_ROOTS = tuple(Path(p).resolve() for p in {sys.prefix, sys.base_prefix,
                                               Path(__file__).resolve().parents[2]})


class FileWatch:
    """Collects file-system events outside the allowed folders while `active`."""

    def __init__(self) -> None:
        self.active = False
        self.allowed: tuple[Path, ...] = ()
        self.violations: list[str] = []
        self.seen = 0
        self.lock = threading.Lock()

    def hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & WRITE_FLAGS)
            self._check(event, path, writes)
        elif event in PATH_EVENTS:
            for index in PATH_EVENTS[event]:
                if index < len(args) and isinstance(args[index], (str, bytes, os.PathLike)):
                    self._check(event, args[index], True)

    def _check(self, event: str, path, writes: bool) -> None:
        resolved = Path(os.fsdecode(path)).resolve()
        self.seen += 1
        if any(resolved == root or root in resolved.parents for root in self.allowed):
            return
        if event == "os.mkdir" and any(resolved in root.parents for root in self.allowed):
            return  # making an allowed folder's parents (mkdir(parents=True))
        if not writes and any(root in resolved.parents for root in CODE_ROOTS) and \
                resolved.suffix in (".py", ".pyc", ".so", ".json", ".txt", ".zip", ""):
            return  # Python importing a module on first use (python311.zip is on sys.path)
        with self.lock:
            self.violations.append(f"{event} {'write' if writes else 'read'} {resolved}")


WATCH = FileWatch()
sys.addaudithook(WATCH.hook)  # permanent for the process, idle unless a test activates it


@pytest.fixture
def rig(tmp_path, monkeypatch, tone_service):
    """Instrument + OSC server + MIDI translator over temporary folders."""
    data, presets, recordings = tmp_path / "data", tmp_path / "presets", tmp_path / "rec"
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(data))
    monkeypatch.setenv("GANSYNTH_LIVE_CACHE_DIR", str(tmp_path / "cache"))
    write_tone_presets(presets)
    engine = Engine(EngineConfig())

    def make_space(anchors, previous, resolution):
        return GridSpace(tone_service, anchors, resolution, previous)

    instrument = Instrument(engine, make_space, latent_size=8, model_name="tones",
                            library=PresetLibrary(presets), recordings=recordings,
                            report=lambda text: None)
    instrument.start(preset="duo")
    server = OscServer(instrument, "127.0.0.1", 0, report=lambda text: None)
    # this test is about where names lead, not about rates (tests/security/test_osc_limits.py)
    server.limits = ActionLimits({name: (1e6, 1e6) for name in ACTION_RATES}, max_saves=10**6)
    server.start()
    midi = MidiTranslator(instrument, CCMap(), name="fuzz")
    WATCH.allowed = (presets.resolve(), (data / "presets").resolve(), SHIPPED_DIR.resolve(),
                     recordings.resolve(), (tmp_path / "cache").resolve())
    WATCH.violations.clear()
    try:
        yield tmp_path, instrument, server, midi
    finally:
        WATCH.active = False
        server.close()
        instrument.close()


def dgram(address: str, *args) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


HOSTILE = ["../../evil", "../evil", "/tmp/evil-abs", "..", ".", ".hidden", "a/b", "a\\b",
           "evil\x00.json", "~/evil", "C:\\evil", "presets/../../evil", "x" * 128,
           "con", " evil", "évil/../../x", "%2e%2e%2fevil", "evil\n", "$HOME/evil"]


def test_hostile_names_over_udp_stay_inside_their_folders(rig):
    tmp_path, instrument, server, midi = rig
    before = files_under(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    WATCH.active = True
    try:
        for name in HOSTILE:
            for address in ("/preset/save", "/preset", "/corner/1/preset"):
                sock.sendto(dgram(address, name), ("127.0.0.1", server.port))
                sent += 1
        for arg in ("/etc/evil.wav", "../evil.wav", "start", "stop"):
            sock.sendto(dgram("/record", arg), ("127.0.0.1", server.port))
            sent += 1
        deadline = time.monotonic() + 10
        while server.packets < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        for program in range(128):  # MIDI: program changes pick presets, never paths
            midi.handle(mido.Message("program_change", program=program, channel=program % 16))
        midi.handle(mido.Message("sysex", data=list(b"../../evil")))
    finally:
        WATCH.active = False
        sock.close()
    assert server.packets == sent and server.stats().handler_errors == 0
    assert not WATCH.violations, WATCH.violations
    assert WATCH.seen > 0  # the hook did see the preset look-ups
    new = files_under(tmp_path) - before
    allowed = (tmp_path / "data" / "presets", tmp_path / "rec")
    assert all(any(root in p.parents for root in allowed) for p in new), sorted(new)
    assert all(p.parent in allowed for p in new)  # no sub-folders either
    saved = {p.name for p in new if p.parent == tmp_path / "data" / "presets"}
    # plain names only ("evil\x00.json" reaches us as "evil": OSC strings end at the NUL)
    assert saved == {"x" * 128 + ".json", "con.json", "evil.json"}
    assert not list(tmp_path.parent.glob("evil*")) and not Path("/tmp/evil-abs.json").exists()
    assert len([p for p in new if p.parent == tmp_path / "rec"]) == 1  # the one clock-named take


names = st.text(min_size=1, max_size=40) | st.sampled_from(HOSTILE) | st.builds(
    lambda a, b: f"{a}/{b}", st.sampled_from(["..", ".", "", "~", "/tmp"]), st.text(max_size=8))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.sampled_from(["/preset/save", "/preset", "/corner/1/preset",
                                "/corner/*/preset", "/preset/*"]), name=names)
def test_any_name_stays_inside_the_presets_folders(rig, address, name):
    tmp_path, instrument, server, midi = rig
    WATCH.active = True
    try:
        server.handle_datagram(dgram(address, name), ("127.0.0.1", 9))
    finally:
        WATCH.active = False
    assert not WATCH.violations, WATCH.violations
    assert server.stats().handler_errors == 0
    user = tmp_path / "data" / "presets"
    if user.exists():
        assert all(p.is_file() and p.parent == user for p in user.iterdir())


@pytest.mark.parametrize("name", ["evil\n", "a\nb", "evil\r", "x\t", "..", "a/b", ".x", "x."])
def test_names_with_control_characters_or_separators_are_refused(tmp_path, name):
    from gansynth_live.paths import UnsafePathError, child_path

    with pytest.raises(UnsafePathError):
        child_path(tmp_path, name, ".json")


def test_a_symlink_out_of_the_presets_folder_is_not_followed(tmp_path):
    from gansynth_live.paths import UnsafePathError, child_path

    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "link.json").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside"):
        child_path(folder, "link", ".json")
