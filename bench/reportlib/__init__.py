"""Helpers of bench/report.py: running the benchmarks, reading their tables, and the one
measurement no other benchmark makes (CPU per voice against FluidSynth)."""
