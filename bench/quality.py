"""Quality bars of a fitted model's presets, printed as tables.

    python bench/quality.py [--model default|PATH] [--presets a,b] [--pitch-step 1]
    python bench/quality.py --prior [--prior-count 16] [--prior-seed 1234]

1. Pitch: librosa pYIN median f0 of the sustained part of every note, MIDI 36..84;
   a note is in tune within +-50 cents. Bar: >= 90 % per preset, no NaN or silent note.
2. Interpolation: slerp between two presets' latents in 9 steps; the spectral
   centroid (mean over pitches 48, 60, 72, in log Hz) should move monotonically
   from one end to the other. Bar: no step goes back by more than 10 % of the
   end-to-end change, and the ends differ by at least 5 % in frequency.
3. Distinctness: per preset a loudness-normalised spectral envelope in
   third-octave bands (100 Hz..7 kHz, pitches 48, 60, 72); distance = mean
   absolute band-level difference in dB. Bar: every preset's nearest neighbour is
   at least 3 dB away. Why 3 dB: the just-noticeable change of a band level in a
   broadband sound is ~1 dB, and a 1-2 dB tilt is the spread between renders of
   one FluidR3 instrument at velocities 100 and 127 (printed as a reference with
   --soundfont); 3 dB on average over all bands is clearly above both.

4. Prior (--prior, alone): random instruments from N(0, 1), from the model's own
   prior (model/prior.py) and the fitted instruments it draws on, at MIDI 60:
   mean pairwise and nearest-pair envelope distance (3. above, sustained part
   0.2..1.4 s, and the same over the first 2 s), and the share in tune over
   MIDI 36..84 step 12. Bar: the prior's mean distance within 20 % of the fitted
   instruments', >= 90 % in tune.

Presets are the instruments of the model's instruments.json. Expect ~1 s of
pYIN per note on one core: the full table for 38 presets takes ~40 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gansynth_live.fit.instruments import pitched_presets, read_instruments  # noqa: E402
from gansynth_live.interpolation import slerp  # noqa: E402
from gansynth_live.fit.quality import (DISTINCT_DB, PITCH_BAR, in_tune,  # noqa: E402
                                       is_bad, log_spectrum, pitch_error_cents,
                                       spectral_centroid_hz)
from gansynth_live.model import load_model  # noqa: E402
from gansynth_live.model.registry import resolve_model  # noqa: E402

TIMBRE_PITCHES = (48, 60, 72)
INTERP_STEPS = 9
BACKSTEP_TOLERANCE = 0.10
MIN_END_RATIO = 0.05


def band_envelope(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """Third-octave band levels (dB), normalised to mean 0 (loudness removed)."""
    spec_db = log_spectrum(wave)
    freqs = np.linspace(0, sample_rate / 2, len(spec_db))
    power = 10 ** (spec_db / 10)
    edges = 100.0 * 2 ** (np.arange(0, 19) / 3)  # 100 Hz .. 6.4 kHz, 18 bands
    levels = np.array([10 * np.log10(power[(freqs >= lo) & (freqs < hi)].mean() + 1e-12)
                       for lo, hi in zip(edges[:-1], edges[1:])])
    return levels - levels.mean()


def band_envelope_first(wave: np.ndarray, sample_rate: int, seconds: float = 2.0) -> np.ndarray:
    """band_envelope over the first `seconds` (attack included) instead of the sustain."""
    import librosa

    seg = np.asarray(wave[:int(seconds * sample_rate)], np.float32)
    power = (np.abs(librosa.stft(seg, n_fft=2048, hop_length=512)) ** 2).mean(axis=1)
    freqs = np.linspace(0, sample_rate / 2, len(power))
    edges = 100.0 * 2 ** (np.arange(0, 19) / 3)
    levels = np.array([10 * np.log10(power[(freqs >= lo) & (freqs < hi)].mean() + 1e-12)
                       for lo, hi in zip(edges[:-1], edges[1:])])
    return levels - levels.mean()


def pairwise_db(envelopes: np.ndarray) -> tuple[float, float]:
    """(mean, min) over pairs of the mean absolute band-level difference (dB)."""
    e = np.asarray(envelopes)
    d = np.mean(np.abs(e[:, None] - e[None]), axis=2)[np.triu_indices(len(e), 1)]
    return float(d.mean()), float(d.min())


PRIOR_PITCHES = (36, 48, 60, 72, 84)


def prior_rows(model, table, count: int, seed: int):
    """Variety and tuning of N(0, 1) draws, the model's prior and the fitted instruments."""
    from gansynth_live.model.prior import NORMAL

    prior = model.prior
    sets = [("N(0, 1)", NORMAL.draw(count, model.latent_size, seed))]
    if not prior.is_normal:
        sets.append(("model prior", prior.draw(count, model.latent_size, seed)))
        sets.append((f"fitted ({len(prior.names)}, the prior's)",
                     np.stack([table[n][1] for n in prior.names])))
    sets.append((f"fitted (all {len(table)})", np.stack([z for _, z in table.values()])))
    rows = []
    for label, z in sets:
        waves = model.generate(z, [60] * len(z))
        mean, nearest = pairwise_db([band_envelope(w, model.sample_rate) for w in waves])
        mean2, nearest2 = pairwise_db([band_envelope_first(w, model.sample_rate)
                                       for w in waves])
        pz = list(PRIOR_PITCHES) * len(z)
        notes = model.generate(np.repeat(z, len(PRIOR_PITCHES), axis=0), pz)
        cents = np.array([pitch_error_cents(w, p, model.sample_rate) for w, p in zip(notes, pz)])
        rows.append({"set": label, "count": len(z), "mean_db": mean, "nearest_db": nearest,
                     "mean_db_2s": mean2, "nearest_db_2s": nearest2,
                     "in_tune": float(in_tune(cents).mean()),
                     "bad": int(sum(is_bad(w) for w in notes))})
        print(f"  {label}: {mean:.2f} dB, {rows[-1]['in_tune']*100:.1f} % in tune",
              file=sys.stderr, flush=True)
    return rows


def prior_table(args) -> int:
    tic = time.perf_counter()
    model_dir = resolve_model(args.model)
    model = load_model(model_dir)
    table = read_instruments(model_dir, model.latent_size)
    rows = prior_rows(model, table, args.prior_count, args.prior_seed)
    print(f"\nPrior: {model.prior.describe()}")
    print(f"Random draws: {args.prior_count}, seed {args.prior_seed}. Envelope distance at MIDI 60 "
          "(third-octave, mean |dB|; sustain 0.2..1.4 s and first 2 s), pairs mean / nearest; "
          f"in tune: pYIN +-50 cents at MIDI {list(PRIOR_PITCHES)}")
    print(f"{'set':26s} {'n':>3s} {'mean':>6s} {'nearest':>8s} {'mean 2s':>8s} {'near 2s':>8s} "
          f"{'in tune':>8s} {'bad':>4s}")
    for r in rows:
        print(f"{r['set']:26s} {r['count']:3d} {r['mean_db']:6.2f} {r['nearest_db']:8.2f} "
              f"{r['mean_db_2s']:8.2f} {r['nearest_db_2s']:8.2f} {r['in_tune']*100:7.1f}% "
              f"{r['bad']:4d}")
    by = {r["set"]: r for r in rows}
    if "model prior" in by:
        ref = rows[2]
        ratio = by["model prior"]["mean_db"] / ref["mean_db"]
        ok = abs(ratio - 1) <= 0.20 and by["model prior"]["in_tune"] >= PITCH_BAR
        print(f"model prior / {ref['set']}: {ratio*100:.0f} % of their variety "
              f"(bar 80..120 %), {by['model prior']['in_tune']*100:.1f} % in tune "
              f"(bar {PITCH_BAR:.0%}): {'pass' if ok else 'FAIL'}")
    print(f"\n{time.perf_counter() - tic:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"model": str(model_dir), "prior": rows}, indent=1))
    return 0


def pitch_table(model, table, names, pitches):
    rows = []
    for name in names:
        z = np.repeat(table[name][1][None, :], len(pitches), axis=0)
        waves = model.generate(z, pitches)
        cents = np.array([pitch_error_cents(w, p, model.sample_rate)
                          for w, p in zip(waves, pitches)])
        bad = int(sum(is_bad(w) for w in waves))
        share = float(in_tune(cents).mean())
        finite = np.abs(cents[np.isfinite(cents)])
        rows.append({"preset": name, "notes": len(pitches), "in_tune": share,
                     "median_abs_cents": float(np.median(finite)) if finite.size else None,
                     "bad": bad, "pass": share >= PITCH_BAR and bad == 0,
                     "out_of_tune": [int(p) for p, c in zip(pitches, cents)
                                     if not in_tune([c])[0]]})
        print(f"  {name:20s} {share*100:5.1f} %  bad {bad}", file=sys.stderr, flush=True)
    return rows


def interpolation_rows(model, table, pairs):
    rows = []
    for a, b in pairs:
        path = []
        for t in np.linspace(0, 1, INTERP_STEPS):
            z = slerp(table[a][1], table[b][1], float(t))
            waves = model.generate(np.repeat(z[None, :], len(TIMBRE_PITCHES), 0),
                                   list(TIMBRE_PITCHES))
            path.append(float(np.mean([np.log(spectral_centroid_hz(w, model.sample_rate))
                                       for w in waves])))
        path = np.array(path)
        change = path[-1] - path[0]
        steps = np.diff(path) * np.sign(change if change else 1.0)
        backstep = float(max(0.0, -steps.min()) / abs(change)) if change else float("inf")
        rows.append({"from": a, "to": b,
                     "centroid_hz": [round(float(np.exp(c)), 1) for c in path],
                     "end_ratio": float(np.exp(abs(change)) - 1), "max_backstep": backstep,
                     "pass": backstep <= BACKSTEP_TOLERANCE
                     and np.exp(abs(change)) - 1 >= MIN_END_RATIO})
    return rows


def distinct_rows(model, table, names):
    env = {}
    for name in names:
        z = np.repeat(table[name][1][None, :], len(TIMBRE_PITCHES), axis=0)
        waves = model.generate(z, list(TIMBRE_PITCHES))
        env[name] = np.mean([band_envelope(w, model.sample_rate) for w in waves], axis=0)
    rows = []
    for name in names:
        dists = {o: float(np.mean(np.abs(env[name] - env[o]))) for o in names if o != name}
        nearest = min(dists, key=dists.get) if dists else None
        d = dists[nearest] if nearest else float("inf")
        rows.append({"preset": name, "nearest": nearest, "distance_db": d,
                     "pass": d >= DISTINCT_DB,
                     "distances_db": {o: round(v, 3) for o, v in sorted(dists.items())}})
    return rows


def character_rows(model, table, names, pitch: int = 60):
    """What each preset is like, measured: brightness, attack, how it sustains and decays."""
    rows = []
    for name in names:
        w = model.generate(table[name][1][None, :], [pitch])[0]
        frame = 160  # 10 ms
        rms = np.sqrt(np.mean(w[: len(w) // frame * frame].reshape(-1, frame) ** 2, axis=1))
        peak = rms.max() + 1e-12
        db = 20 * np.log10(rms / peak + 1e-9)
        above = np.flatnonzero(rms >= 0.9 * peak)
        rows.append({"preset": name, "centroid_hz": spectral_centroid_hz(w, model.sample_rate),
                     "attack_ms": float(above[0] * 10) if above.size else None,
                     "level_1s_db": float(db[100]), "level_2_5s_db": float(db[250]),
                     "level_3_5s_db": float(db[350])})
    return rows


def default_pairs(model, table, names):
    """Darkest <-> brightest preset, plus two fixed family pairs when present."""
    cent = {}
    for name in names:
        w = model.generate(table[name][1][None, :], [60])[0]
        cent[name] = spectral_centroid_hz(w, model.sample_rate)
    order = sorted(names, key=cent.get)
    pairs = [(order[0], order[-1])] if len(order) > 1 else []
    for a, b in (("flute", "trumpet"), ("grand_piano", "church_organ")):
        if a in table and b in table and (a, b) not in pairs:
            pairs.append((a, b))
    return pairs


def data_pitch_table(args) -> int:
    from gansynth_live.fit.dataset import load_rendered

    pitches = list(range(args.pitch_lo, args.pitch_hi + 1, args.pitch_step))
    names = args.presets.split(",") if args.presets else None
    notes = load_rendered(args.data, velocities=[100], names=names, pitches=pitches)
    rows = []
    for v, name in enumerate(notes.voices):
        sel = notes.voice == v
        cents = np.array([pitch_error_cents(w, p, notes.sample_rate)
                          for w, p in zip(notes.waves[sel], notes.pitches[sel])])
        rows.append({"preset": name, "notes": int(sel.sum()), "in_tune": float(in_tune(cents).mean()),
                     "out_of_tune": [int(p) for p, c in zip(notes.pitches[sel], cents)
                                     if not in_tune([c])[0]]})
        print(f"{name:20s} {rows[-1]['in_tune']*100:5.1f}%  {rows[-1]['out_of_tune']}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--presets", default=None, help="comma-separated (default: all)")
    parser.add_argument("--pitch-lo", type=int, default=36)
    parser.add_argument("--pitch-hi", type=int, default=84)
    parser.add_argument("--pitch-step", type=int, default=1,
                        help="measure every n-th pitch (1 = the full bar)")
    parser.add_argument("--skip-pitch", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--data", type=Path, default=None,
                        help="measure the rendered training notes in this folder instead "
                             "(velocity 100): the ceiling a model of them can reach")
    parser.add_argument("--prior", action="store_true",
                        help="only the prior table: N(0, 1) vs the model's prior vs its "
                             "fitted instruments")
    parser.add_argument("--prior-count", type=int, default=16,
                        help="random draws per prior (default 16)")
    parser.add_argument("--prior-seed", type=int, default=1234)
    args = parser.parse_args()
    if args.prior:
        return prior_table(args)
    if args.data is not None:
        return data_pitch_table(args)

    tic = time.perf_counter()
    model_dir = resolve_model(args.model)
    model = load_model(model_dir)
    table = read_instruments(model_dir, model.latent_size)
    # Presets: instruments whose own training notes pass the pitch test (see
    # scripts/ship_default_model.py); --presets overrides.
    names = pitched_presets(model_dir) if args.presets is None else args.presets.split(",")
    left_out = sorted(set(table) - set(names))
    if left_out and args.presets is None:
        print(f"not presets (their FluidR3 notes fail the pitch test): {left_out}")
    pitches = list(range(args.pitch_lo, args.pitch_hi + 1, args.pitch_step))
    result = {"model": str(model_dir), "fingerprint": model.fingerprint}

    if not args.skip_pitch:
        rows = pitch_table(model, table, names, pitches)
        result["pitch"] = rows
        print(f"\nPitch (pYIN, +-50 cents, MIDI {pitches[0]}..{pitches[-1]} step "
              f"{args.pitch_step}; bar {PITCH_BAR:.0%} per preset, no bad notes)")
        print(f"{'preset':20s} {'in tune':>8s} {'med|c|':>7s} {'bad':>4s}  pass  out of tune")
        for r in rows:
            med = "-" if r["median_abs_cents"] is None else f"{r['median_abs_cents']:.0f}"
            print(f"{r['preset']:20s} {r['in_tune']*100:7.1f}% {med:>7s} {r['bad']:4d}  "
                  f"{'yes' if r['pass'] else 'NO ':4s}  {r['out_of_tune'][:12]}")
        total = np.mean([r["in_tune"] for r in rows])
        print(f"{'all':20s} {total*100:7.1f}%   presets passing: "
              f"{sum(r['pass'] for r in rows)}/{len(rows)}")

    pairs = default_pairs(model, table, names)
    irows = interpolation_rows(model, table, pairs)
    result["interpolation"] = irows
    print(f"\nInterpolation (slerp, {INTERP_STEPS} steps, centroid over pitches "
          f"{TIMBRE_PITCHES}; bar: backstep <= {BACKSTEP_TOLERANCE:.0%}, ends >= "
          f"{MIN_END_RATIO:.0%} apart)")
    for r in irows:
        print(f"{r['from']:>16s} -> {r['to']:16s} ends {r['end_ratio']*100:5.1f}% apart, "
              f"backstep {r['max_backstep']*100:5.1f}%  {'pass' if r['pass'] else 'FAIL'}  "
              f"{r['centroid_hz']}")

    drows = distinct_rows(model, table, names)
    result["distinct"] = drows
    print(f"\nDistinctness (third-octave envelope, mean |dB| to the nearest preset; "
          f"bar >= {DISTINCT_DB} dB)")
    for r in sorted(drows, key=lambda r: r["distance_db"]):
        print(f"{r['preset']:20s} nearest {str(r['nearest']):20s} {r['distance_db']:5.2f} dB  "
              f"{'pass' if r['pass'] else 'FAIL'}")
    crows = character_rows(model, table, names)
    result["character"] = crows
    print("\nCharacter at MIDI 60 (centroid = brightness; attack = time to 90 % of peak RMS; "
          "levels re peak; the note is released at 3 s)")
    print(f"{'preset':20s} {'centroid':>9s} {'attack':>7s} {'@1s':>6s} {'@2.5s':>6s} {'@3.5s':>6s}")
    for r in crows:
        print(f"{r['preset']:20s} {r['centroid_hz']:7.0f}Hz {r['attack_ms'] or 0:5.0f}ms "
              f"{r['level_1s_db']:6.1f} {r['level_2_5s_db']:6.1f} {r['level_3_5s_db']:6.1f}")
    print(f"\n{time.perf_counter() - tic:.0f} s")
    if args.json:
        # numpy scalars (np.bool_ from comparisons, np.float64) as their Python values
        args.json.write_text(json.dumps(result, indent=1,
                                        default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
