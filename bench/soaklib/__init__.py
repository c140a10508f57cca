"""Helpers of bench/soak.py: machine counters, a private JACK server, the performers'
process, the result table and the recording check (one concept per module)."""
