"""Pitch-indexed note banks: what the engine plays, made by the model ahead of time."""
