"""The General MIDI programs rendered for the default training set.

Chosen to span the GM families (keys, mallets, organs, guitars, basses, strings,
brass, reeds, pipes, synth leads and pads) so one model learns a wide timbre
space; percussive programs without a stable pitch (drums, effects) are left out
because the pitch bar could not be met on them by any model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    name: str  # file-name safe, used as instrument (preset) name
    program: int  # 0-based General MIDI program number
    family: str


GM_PROGRAMS: tuple[Program, ...] = (
    Program("grand_piano", 0, "keys"),
    Program("electric_piano", 4, "keys"),
    Program("harpsichord", 6, "keys"),
    Program("clavinet", 7, "keys"),
    Program("celesta", 8, "mallets"),
    Program("music_box", 10, "mallets"),
    Program("vibraphone", 11, "mallets"),
    Program("marimba", 12, "mallets"),
    Program("drawbar_organ", 16, "organs"),
    Program("church_organ", 19, "organs"),
    Program("accordion", 21, "organs"),
    Program("nylon_guitar", 24, "guitars"),
    Program("steel_guitar", 25, "guitars"),
    Program("clean_guitar", 27, "guitars"),
    Program("overdrive_guitar", 29, "guitars"),
    Program("acoustic_bass", 32, "basses"),
    Program("finger_bass", 33, "basses"),
    Program("synth_bass", 38, "basses"),
    Program("violin", 40, "strings"),
    Program("cello", 42, "strings"),
    Program("pizzicato_strings", 45, "strings"),
    Program("harp", 46, "strings"),
    Program("string_ensemble", 48, "strings"),
    Program("trumpet", 56, "brass"),
    Program("trombone", 57, "brass"),
    Program("french_horn", 60, "brass"),
    Program("brass_section", 61, "brass"),
    Program("alto_sax", 65, "reeds"),
    Program("oboe", 68, "reeds"),
    Program("bassoon", 70, "reeds"),
    Program("clarinet", 71, "reeds"),
    Program("flute", 73, "pipes"),
    Program("pan_flute", 75, "pipes"),
    Program("ocarina", 79, "pipes"),
    Program("square_lead", 80, "synth_leads"),
    Program("saw_lead", 81, "synth_leads"),
    Program("warm_pad", 89, "synth_pads"),
    Program("polysynth_pad", 90, "synth_pads"),
)


def by_name() -> dict[str, Program]:
    return {p.name: p for p in GM_PROGRAMS}
