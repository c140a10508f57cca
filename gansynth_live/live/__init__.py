"""The live instrument behind `serve`: corners and morph over the bank service, presets,
recording, the session that wires model, banks, engine, audio, MIDI and OSC together."""
