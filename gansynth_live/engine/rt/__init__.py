"""Audio thread only: the real-time core, exactly the code the audio callback runs.

callback (the per-block work, and the function PortAudio calls), renderer (events and layer swaps
applied per block), event_apply (the note rules, compiled, applied to the
queued event records), morph_glide (what a swap does to sounding voices),
voices (the voice table), mixer and kernel_numba (the per-block kernels, with
block_params), output_stage (gain, limiter, clipper), envelope and steal (the
rules the kernels and note-ons apply), counters, and the rings between this
thread and the others: event_queue (events in), bank_slots (banks out through
the retire ring); with `serve --jack`, jack_callback (the function JACK calls:
compiled, it runs Python only in the cycles that need it), stash (the engine's
arrays kept where that compiled function finds them), atomics (its fences with the
threads that publish to it), jack_ports (libjack's calls from compiled code) and
jack_midi (the MIDI ports read in the callback; it runs inputs/midi.py's translator
here, in the cycles with messages for it).
Nothing here waits, logs, touches the disk or takes a lock another thread may hold
(jack_midi's translator takes the engine's own ring's lock, which only this thread
takes while playing); the rest of `engine/` is the facade other threads call and the
setup that builds this.
"""
