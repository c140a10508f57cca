"""The TouchOSC surface for `serve`: layout data, .tosc writer, a rendering of it."""
