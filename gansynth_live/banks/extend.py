"""MIDI pitches outside the model's range (24..84 for the released models).

Above the range, notes are pre-rendered from the highest generated pitch with
soxr (`builder.process_wave(..., shift_semitones=k)`): the model's 16 kHz note
is read as if recorded 2^(k/12) times faster and converted to the output rate
in one band-limited step, so harmonics that would pass the output Nyquist are
removed instead of folding back as aliases (soxr VHQ, measured: flat to 92% of
Nyquist, -3 dB at 95%, -43 dB at 98%, below -190 dB past it). One note is
pre-rendered every `step` semitones (3 by default): `NoteBank.nearest` then
asks the engine for at most +-1 semitone, and a semitone up moves content at
most to 1.06 x Nyquist, whose alias lands above 94% of Nyquist (22.6 kHz at
48 kHz, 20.7 kHz at 44.1 kHz): above hearing. Shifted-up notes are short
(4 s / 2^(k/12)): pitches 87, 90, .., 126 and 127 together cost what 4.9 model
notes cost (1.9 MB at 48 kHz int16; every semitone would cost 15.4 notes).

Below the range nothing is pre-rendered: `NoteBank.nearest` plays the lowest
generated pitch slower. Slowing down only moves content down, so it cannot
alias; pre-rendering would be costly because slowed notes are long: MIDI 0..23
from 24 would add the length of 53.5 model notes (20.5 MB at 48 kHz int16,
nearly the whole bank again).
"""

from __future__ import annotations


def extension_sources(model_pitches: range, step: int = 3, highest: int = 127
                      ) -> dict[int, int]:
    """Pre-rendered pitch -> the generated pitch it is made from (only above the range)."""
    if len(model_pitches) == 0:
        return {}
    top = model_pitches[-1]
    plan = {p: top for p in range(top + step, highest + 1, step)}
    if highest > top:
        plan[highest] = top
    return plan


def extension_cost_notes(shifts: list[int]) -> float:
    """Total length of notes shifted by these semitones, in unshifted-note units."""
    return float(sum(2.0 ** (-k / 12.0) for k in shifts))
