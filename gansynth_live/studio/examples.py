"""The example MIDI files in `examples/`, written by this project with mido.

- `arpeggio.mid`: format 0 (one track), 110 bpm, a sixteenth-note arpeggio
  riff over Am - F - C - G with a held bass note per bar, twice, ending on
  a long A minor chord;
- `short-piece.mid`: format 1, a conductor track with a ritardando (80, 72,
  then 60 bpm), a melody (channel 1) and a pedalled broken-chord accompaniment
  (channel 2) in A minor; the last chord is held about 6 s, so it exercises
  tempo changes, pedal and sustain loops.

All pitches lie in 36..84, inside the model's range and magenta's, so both
render every note. Run `python -m gansynth_live.studio.examples [FOLDER]` to
write them again (byte-identical; a test checks the committed copies).
"""

from __future__ import annotations

import sys
from pathlib import Path

import mido

from ..shipped import shipped_dir

TICKS = 480  # per beat

_CHORDS = {  # (bass, arpeggio tones low to high)
    "Am": (45, (57, 60, 64, 69, 72, 76)),
    "F": (41, (53, 57, 60, 65, 69, 72)),
    "C": (48, (55, 60, 64, 67, 72, 76)),
    "G": (43, (55, 59, 62, 67, 71, 74)),
}


def _to_delta(events: list[tuple[int, mido.Message]]) -> list[mido.Message]:
    """(absolute tick, message) -> messages with delta times, offs before ons at a tick."""
    def order(item: tuple[int, mido.Message]) -> tuple[int, int]:
        tick, msg = item
        is_on = msg.type == "note_on" and msg.velocity > 0
        return tick, 1 if is_on else 0

    out, last = [], 0
    for tick, msg in sorted(events, key=order):
        out.append(msg.copy(time=tick - last))
        last = tick
    return out


def _note(events: list, channel: int, pitch: int, start: int, length: int, velocity: int
          ) -> None:
    events.append((start, mido.Message("note_on", channel=channel, note=pitch,
                                       velocity=velocity)))
    events.append((start + length, mido.Message("note_off", channel=channel, note=pitch,
                                                velocity=64)))


def arpeggio_riff() -> mido.MidiFile:
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS)
    track = midi.add_track("arpeggio riff")
    head = [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(110)),
            mido.MetaMessage("time_signature", numerator=4, denominator=4)]
    events: list = []
    sixteenth = TICKS // 4
    up_down = (0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 2)
    bar = 4 * TICKS
    for repeat in range(2):
        for index, name in enumerate(("Am", "F", "C", "G")):
            start = (repeat * 4 + index) * bar
            bass, tones = _CHORDS[name]
            _note(events, 0, bass, start, bar - sixteenth, 92)
            for step, tone in enumerate(up_down):
                accent = 100 if step % 4 == 0 else (84 if step % 2 == 0 else 70)
                _note(events, 0, tones[tone], start + step * sixteenth, sixteenth - 12, accent)
    end = 8 * bar
    for pitch in (45, 57, 60, 64, 69):
        _note(events, 0, pitch, end, 3 * TICKS, 96)
    track.extend(head + _to_delta(events))
    return midi


# melody per bar: (pitch, beats); chord per bar for the accompaniment
_MELODY = [
    [(69, 1), (72, 1), (76, 1.5), (74, 0.5)],
    [(72, 1), (69, 1), (65, 2)],
    [(67, 1), (72, 1), (76, 1), (79, 1)],
    [(77, 1.5), (76, 0.5), (74, 2)],
    [(76, 1), (81, 1), (79, 1), (76, 1)],
    [(77, 1), (74, 1), (69, 1), (74, 1)],
    [(71, 1), (68, 1), (64, 1), (71, 1)],
    [(69, 6)],
]
_ACCOMPANIMENT = [  # bass, then three chord tones on beats 2..4
    (45, (52, 57, 60)), (41, (53, 57, 60)), (36, (52, 55, 60)), (43, (50, 55, 59)),
    (45, (52, 57, 60)), (38, (50, 53, 57)), (40, (52, 56, 59)), (45, (52, 57, 60, 64)),
]


def short_piece() -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    conductor = midi.add_track("conductor")
    bar = 4 * TICKS
    conductor.extend([
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(80), time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(72), time=6 * bar),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60), time=bar),
    ])
    melody: list = []
    tick = 0
    for bar_notes in _MELODY:
        for pitch, beats in bar_notes:
            length = int(beats * TICKS)
            velocity = 96 if tick % bar == 0 else 80
            _note(melody, 0, pitch, tick, length - 20, velocity)
            tick += length
    track = midi.add_track("melody")
    track.append(mido.Message("program_change", channel=0, program=0))
    track.extend(_to_delta(melody))

    accompaniment: list = []
    for index, (bass, tones) in enumerate(_ACCOMPANIMENT):
        start = index * bar
        # pedal: up at the bar line, down again just after (a clean pedal change)
        if index:
            accompaniment.append((start, mido.Message("control_change", channel=1, control=64,
                                                      value=0)))
        accompaniment.append((start + 30, mido.Message("control_change", channel=1,
                                                       control=64, value=127)))
        last = index == len(_ACCOMPANIMENT) - 1
        _note(accompaniment, 1, bass, start, (6 * TICKS if last else TICKS) - 20, 78)
        for beat, tone in enumerate(tones, start=1):
            length = (6 - beat) * TICKS if last else TICKS // 2
            _note(accompaniment, 1, tone, start + beat * TICKS // (2 if last else 1),
                  length, 62)
    accompaniment.append((7 * bar + 6 * TICKS, mido.Message("control_change", channel=1,
                                                            control=64, value=0)))
    track = midi.add_track("accompaniment")
    track.append(mido.Message("program_change", channel=1, program=0))
    track.extend(_to_delta(accompaniment))
    return midi


EXAMPLES = {"arpeggio.mid": arpeggio_riff, "short-piece.mid": short_piece}


def write_examples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in EXAMPLES.items():
        path = folder / name
        make().save(str(path))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else shipped_dir("examples")
    for path in write_examples(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
