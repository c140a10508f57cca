"""Audio thread only: the real-time core, exactly the code the audio callback runs.

callback (the function PortAudio calls), renderer (events and layer swaps
applied per block), voices (the voice table), mixer and the kernels (numba,
or numpy as the reference), limiter (the output stage), envelope and steal
(the rules the kernels apply), counters, and the rings between this thread
and the others: event_queue (events in), bank_slots (banks out through the
retire ring). Nothing here locks, waits, logs or touches the disk; the rest of
`engine/` is the facade other threads call and the setup that builds this.
"""
