"""Hyper-parameters of a fit, stored in the run folder so `--resume` continues alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import GansynthLiveError


@dataclass(frozen=True)
class FitSettings:
    """Everything that shapes the trained model or its training trajectory.

    Architecture: magenta's generator at 2x16 -> 128x1024 in 7 blocks with channels
    min(fmap_base / 2**block, fmap_max): 64,64,64,64,32,16,8 by default (~0.94 M
    parameters, 3.8 MB of float32), sized for a CPU.

    `pitch_gain`: block 1 sees pixel-normalised concat(latent, one-hot pitch); with
    latents of norm sqrt(latent_size) (as N(0,1) draws have) the one-hot is ~1/16
    of the input and the pitch is nearly ignored. Instead of changing the input,
    the 61 pitch rows of block 1's kernel start `pitch_gain` times larger and learn
    `pitch_gain` times faster: the same as feeding a scaled one-hot, yet the saved
    model is sampled by the unchanged loader with ordinary N(0,1)-sized latents.

    `if_low_hz`: an IF error moves a harmonic by a fixed number of Hz, so its error
    in cents grows as 1/f. Plain IF L1 lets the model answer ~0 everywhere (every
    harmonic at its bin's centre), which is in tune from about MIDI 44 up and up to
    a semitone off below, where the 7.8 Hz bins are wide in cents. Weighting the IF
    error of bins under `if_low_hz` by if_low_hz / f (capped at 16) asks for the
    same precision in cents at every frequency.
    """

    seed: int = 0
    batch_size: int = 8
    learning_rate: float = 5.0e-3
    latent_learning_rate: float = 1.0e-2
    adam_beta1: float = 0.9
    adam_beta2: float = 0.99
    ema_decay: float = 0.999
    pitch_gain: float = 16.0
    latent_size: int = 256
    fmap_base: int = 1024
    fmap_max: int = 64
    fmap_decay: float = 1.0
    pitch_min: int = 24
    num_pitches: int = 61
    floor_db: float = 70.0  # magnitudes this far below a note's peak are not fitted
    if_mask_db: float = 40.0  # IF is fitted only on bins this close to the frame's peak
    weight_linear: float = 0.0  # peak-dominated linear-magnitude term (off: see losses.py)
    weight_if: float = 1.0
    peak_weight: float = 10.0  # extra log-magnitude weight on bins within 30 dB of the peak
    if_low_hz: float = 1000.0  # IF errors of bins below this weigh if_low_hz / f (0: off)
    weight_envelope: float = 0.0  # the level-over-time term (losses.envelope_l1; 0: off)
    weight_onset: float = 0.0  # the decoded onsets' envelope term (losses.onset_l1; 0: off)
    jit_compile: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "FitSettings":
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise GansynthLiveError(f"unknown fit settings {sorted(unknown)}; was the run "
                                    "folder written by a newer gansynth-live?")
        # Runs begun before the setting existed were fitted without it: resuming one
        # keeps its loss unless --if-low-hz asks otherwise.
        return cls(**{"if_low_hz": 0.0, "weight_envelope": 0.0, "weight_onset": 0.0, **raw})

    def check(self) -> None:
        if self.batch_size < 1:
            raise GansynthLiveError("--batch-size must be at least 1")
        if self.learning_rate <= 0 or self.latent_learning_rate <= 0:
            raise GansynthLiveError("learning rates must be positive")
        if not 0.0 <= self.ema_decay < 1.0:
            raise GansynthLiveError("EMA decay must be in [0, 1)")
        if not self.if_low_hz >= 0.0:
            raise GansynthLiveError("--if-low-hz must be 0 (off) or a frequency in Hz")
        if not self.weight_envelope >= 0.0:
            raise GansynthLiveError("--envelope-weight must be 0 (off) or positive")
        if not self.weight_onset >= 0.0:
            raise GansynthLiveError("--onset-weight must be 0 (off) or positive")
        if self.fmap_base < 8 or self.fmap_max < 1:
            raise GansynthLiveError("channel settings leave a block without channels")
