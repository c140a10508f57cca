"""What a performer plays and turns: MIDI ports and the OSC server, turned into engine events
and instrument calls (see `midi.py`, `midi_ports.py`, `cc_map.py`, `osc.py`, `osc_space.py`)."""
