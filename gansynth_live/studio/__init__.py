"""The offline studio: audition instruments, render MIDI files, plot, match a recorded note.

Layers, each usable alone:

- `score`: MIDI file -> timed notes (tempo map, pedal, format 0/1, edge cases);
- `instruments` + `timbre`: instruments placed in time -> one latent per note
  (magenta's interpolation over note onsets);
- `notegen`: distinct (latent, pitch) notes generated in batches;
- `material` + `mix`: generated notes -> playable banks -> a mixed stereo track;
- `render`: the pipeline from a score to a WAV;
- `plots`, `match`, `audition`, `examples`: the rest of the colab, done better.
"""
