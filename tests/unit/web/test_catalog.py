"""/presets.json, /controls.json and /timbre-map.json: what the page's browser and map read."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from recording_instrument import RecordingInstrument

from gansynth_live.live.corners import PresetLibrary
from gansynth_live.touchosc.layout import TIME_CURVE, fader_settings
from gansynth_live.web.catalog import fader_catalog, instrument_documents, preset_catalog
from gansynth_live.web.server import WebServer, web_dispatcher

pytestmark = pytest.mark.shipped_presets


@pytest.fixture
def library(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    library = PresetLibrary(programs={5: "cello", 100: "trumpet"})
    library.model_name = "default"
    return library


def test_presets_carry_the_program_numbers_the_library_maps(library):
    rows = preset_catalog(library)["presets"]
    names = library.names()
    assert [r["name"] for r in rows] == names and "grand_piano" in names
    for row in rows:
        for number in row["programs"]:
            assert library.program(number) == row["name"]
    by_name = {r["name"]: r for r in rows}
    assert 5 in by_name["cello"]["programs"] and 100 in by_name["trumpet"]["programs"]
    assert by_name[names[5]]["programs"] == ([5] if names[5] == "cello" else [])
    assert by_name["default"]["morph"] and by_name["default"]["corners"]
    assert not by_name["cello"]["morph"]


def test_the_envelope_faders_are_the_touchosc_layouts():
    faders = fader_catalog()["faders"]
    assert [f["address"] for f in faders] == [
        "/envelope/attack", "/envelope/decay", "/envelope/sustain", "/envelope/release"]
    layout = {address: (default, curve) for _, address, _, default, curve in fader_settings()}
    for fader in faders:
        assert (fader["default"], fader["curve"]) == layout[fader["address"]]
    attack = faders[0]
    assert (attack["low"], attack["high"], attack["curve"]) == (0.001, 10.0, TIME_CURVE)


def get(server, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as answer:
        return answer.headers["Content-Type"], json.loads(answer.read())


def test_the_server_answers_the_documents_with_the_state_checks(library):
    instrument = RecordingInstrument()
    instrument.library, instrument.model_name = library, "default"
    docs = instrument_documents(instrument)
    with WebServer(web_dispatcher(instrument, None), dict, "127.0.0.1", 0,
                   documents=docs) as server:
        kind, presets = get(server, "/presets.json")
        assert kind == "application/json"
        cello = next(p for p in presets["presets"] if p["name"] == "cello")
        assert cello["programs"] == [3, 5] and not cello["morph"]  # 4th by name, and [programs]
        _, timbre = get(server, "/timbre-map.json")
        assert timbre["available"] and any(p["preset"] for p in timbre["points"])
        _, controls = get(server, "/controls.json")
        assert len(controls["faders"]) == 4
    with WebServer(web_dispatcher(instrument, None), dict, "127.0.0.1", 0, token="t0ken",
                   documents=docs) as server:  # the token guards them as it does /state.json
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(server, "/presets.json")
        assert refused.value.code == 403
        assert get(server, "/presets.json?token=t0ken")[1]["presets"]


def test_a_model_without_measurements_gets_a_map_that_says_so(library):
    instrument = RecordingInstrument()
    instrument.library, instrument.model_name = library, "magenta-nsynth"
    timbre = instrument_documents(instrument)["/timbre-map.json"]()
    assert not timbre["available"] and "no timbre measurements" in timbre["why"]
