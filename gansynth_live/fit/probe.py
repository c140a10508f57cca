"""A quick pitch check of an exported model while it trains (pYIN on a few notes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .instruments import read_instruments
from .quality import in_tune, is_bad, pitch_error_cents

PROBE_PITCHES = (36, 48, 60, 72, 84)


def probe_pitch(model_dir: Path, max_voices: int = 6) -> dict[str, float]:
    """Share of probe notes within +-50 cents, and of bad (NaN/silent) notes."""
    from ..model import load_model

    model = load_model(model_dir)
    table = read_instruments(model_dir, model.latent_size)
    names = sorted(table)
    if len(names) > max_voices:  # spread over the list, deterministic
        names = [names[i] for i in np.linspace(0, len(names) - 1, max_voices).round().astype(int)]
    pitches = [p for p in PROBE_PITCHES if p in model.pitch_range]
    z = np.stack([table[n][1] for n in names for _ in pitches])
    notes = model.generate(z, [p for _ in names for p in pitches])
    cents = np.array([pitch_error_cents(w, p, model.sample_rate)
                      for w, p in zip(notes, [p for _ in names for p in pitches])])
    return {"probe_in_tune": float(in_tune(cents).mean()),
            "probe_bad": float(np.mean([is_bad(w) for w in notes])),
            "probe_notes": float(len(notes))}
