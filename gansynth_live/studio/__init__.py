"""The offline studio: audition instruments, render MIDI files, plot, match a recorded note.

Layers, each usable alone:

- `score`: MIDI file -> timed notes (tempo map, pedal, format 0/1, edge cases);
- `instruments` + `timbre`: instruments placed in time -> one latent per note
  (magenta's interpolation over note onsets);
- `notegen`: distinct (latent, pitch) notes generated in batches;
- `material`: generated notes -> NoteBanks, by the live bank builder;
- `playback`: notes and banks -> engine events, played by the live engine offline;
- `gain`: one final gain for a whole track;
- `render`: the pipeline from a score to a WAV;
- `pad`, `capture`, `note_paths`: `render --corners/--mpe`, the file played on
  serve's morph pad through the live MIDI translator, each note's own path;
- `plots`, `match`, `audition`, `examples`: the rest of the colab, done better.
"""
