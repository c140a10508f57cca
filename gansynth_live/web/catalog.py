"""The JSON documents the page reads besides feedback: presets, controls, the timbre map.

`/presets.json` lists what the running instrument's PresetLibrary plays, with
the MIDI program numbers `PresetLibrary.program` maps to each (the config's
[programs] table first, else the Nth name); `/controls.json` the envelope
faders, from the TouchOSC layout's one definition (range, default, curve);
`/timbre-map.json` the map for the model being played (timbre_map).
"""

from __future__ import annotations

from typing import Any, Callable

PROGRAMS = 128


def preset_catalog(library: Any) -> dict[str, Any]:
    """Every preset the library plays: name, program numbers, morph setup or single."""
    presets = library.presets()
    table = {int(k): v for k, v in library.programs.items()}
    rows = []
    for index, preset in enumerate(presets):
        programs = sorted(k for k, v in table.items() if v == preset.name)
        if index < PROGRAMS and index not in table:
            programs.append(index)
        rows.append({"name": preset.name, "programs": sorted(programs),
                     "morph": bool(preset.is_morph),
                     "corners": list(preset.corners or []) if preset.is_morph else [],
                     "description": getattr(preset, "description", "") or ""})
    return {"presets": rows}


def fader_catalog() -> dict[str, Any]:
    """The envelope faders as the TouchOSC layout defines them (one definition)."""
    from ..touchosc.layout import _range, fader_settings

    faders = []
    for name, address, caption, default, curve in fader_settings():
        if not address.startswith("/envelope/"):
            continue  # the volume has its own fader on the page
        low, high = _range(address)
        faders.append({"name": name, "address": address, "caption": caption, "low": low,
                       "high": high, "default": default, "curve": curve})
    return {"faders": faders}


def instrument_documents(instrument: Any) -> dict[str, Callable[[], Any]]:
    """path -> producer of the documents for `instrument` (none it cannot answer)."""
    from .timbre_map import map_for

    docs: dict[str, Callable[[], Any]] = {"/controls.json": fader_catalog}
    library = getattr(instrument, "library", None)
    if library is not None:
        docs["/presets.json"] = lambda: preset_catalog(library)
        docs["/timbre-map.json"] = lambda: map_for(
            getattr(instrument, "model_name", None), library.names(single_only=True))
    return docs
