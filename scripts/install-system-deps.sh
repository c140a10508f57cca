#!/usr/bin/env bash
# System packages gansynth-live needs on Debian/Ubuntu: PortAudio and JACK for audio
# and MIDI (the tests run a JACK server with its dummy driver), libsndfile for WAV
# files, and FluidSynth + the FluidR3 GM SoundFont for `fit` training data and the
# benchmarks that compare against FluidSynth; python3-venv and python3-pip, which a stock
# Debian/Ubuntu lacks, for the virtual environment the README's commands make; Chromium
# and its WebDriver for the web surface's browser tests (headless, offline); rt-tests
# for cyclictest, the soak benchmark's reference of how late a C real-time thread wakes.
set -euo pipefail
SUDO=()
if [ "$(id -u)" != "0" ]; then SUDO=(sudo -E); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    python3-venv python3-pip libportaudio2 jackd2 libjack-jackd2-0 libsndfile1 fluidsynth fluid-soundfont-gm \
    chromium chromium-driver rt-tests >/dev/null
