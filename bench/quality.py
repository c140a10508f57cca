"""Quality bars of a fitted model's presets, printed as tables.

    python bench/quality.py [--model default|PATH] [--presets a,b] [--pitch-step 1]
    python bench/quality.py --prior [--prior-count 16] [--prior-seed 1234]
    python bench/quality.py --fidelity [--fidelity-pitches 48,60,72] [--listening DIR]

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

5. Fidelity (--fidelity, alone): each fitted instrument's notes against the FluidR3
   notes of its GM program, rendered as the fit rendered them (fit.json's SoundFont
   and velocity, dataset.render_program), both peak-normalised, at MIDI 48, 60, 72:
   envelope distance (3. above), attack (RMS rise 10 -> 90 % of peak) and decay (peak
   -> -20 dB) time errors in ms, harmonic-to-noise ratio of both (fit/quality.py).
   The worst figure is the one furthest off in units of a rough just-noticeable
   difference (FIDELITY_TOLERANCE); the table says what it points at. --listening DIR
   writes A/B WAVs of a few staples (A = FluidR3, B = generated) and an index.md.

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
from gansynth_live.fit.quality import (DISTINCT_DB, PITCH_BAR, attack_ms,  # noqa: E402
                                       decay_ms, harmonic_to_noise_db, in_tune, is_bad,
                                       log_spectrum, midi_to_hz, pitch_error_cents,
                                       rms_envelope, spectral_centroid_hz)
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
        rms = rms_envelope(w, model.sample_rate, frame_s=0.01)
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

# --- fidelity: fitted instruments against the FluidR3 notes they were fitted on ---------

FIDELITY_PITCHES = (48, 60, 72)
# Rough just-noticeable differences, to say which figure is furthest off: band levels
# ~1 dB, so 3 dB on average (the distinctness bar); rise and decay times 10-30 %, so
# 25 % (at least 10 ms); harmonic-to-noise ratio 3 dB.
FIDELITY_TOLERANCE = {"env_db": DISTINCT_DB, "attack": (0.25, 10.0), "decay": (0.25, 10.0),
                      "hnr": 3.0}
# (figure, sign of the mean error) -> what it points at
FIDELITY_POINTERS = {
    ("env_db", 1): "the spectral envelope (the magnitude channel): a magnitude loss on the "
                   "decoded audio (multi-resolution STFT), more steps or capacity",
    ("attack", 1): "onsets too slow, smeared: the magnitude loss averages transients away; "
                   "a multi-resolution STFT loss with short windows on the decoded audio, "
                   "or a discriminator",
    ("attack", -1): "onsets too abrupt, swells missed: weight the first frames in the loss",
    ("decay", 1): "notes ring on too long: the quiet tail has little weight in a loud-bin "
                  "loss; weight the envelope over time (loss on the decoded audio)",
    ("decay", -1): "notes die too early: the quiet tail has little weight in a loud-bin "
                   "loss; weight the envelope over time (loss on the decoded audio)",
    ("hnr", -1): "harmonics blurred into noise (soft bands, phase/IF errors between "
                 "frames): a loss on the decoded audio (multi-resolution STFT) or a "
                 "discriminator for realism",
    ("hnr", 1): "too clean: the breath, bow and hammer noise of the real notes is missing; "
                "a discriminator for realism",
}
STAPLE_PROGRAMS = (("piano", (0,)), ("strings", (40, 48, 42)), ("trumpet", (56, 61)),
                   ("flute", (73, 75)), ("organ", (19, 16, 21)))


def fit_source(model_dir: Path, soundfont: Path | None) -> tuple[Path, int]:
    """The SoundFont and velocity the model was fitted on (its fit.json), as defaults."""
    from gansynth_live.fit.dataset import DatasetError

    path = Path(model_dir) / "fit.json"
    data = json.loads(path.read_text()).get("data", {}) if path.is_file() else {}
    velocities = data.get("velocities") or [100]
    font = soundfont or Path(data.get("soundfont") or "/usr/share/sounds/sf2/FluidR3_GM.sf2")
    if not font.is_file():
        raise DatasetError(f"SoundFont '{font}' does not exist; pass --soundfont")
    return font, int(velocities[0])


def fidelity_notes(model, table, names, pitches, soundfont: Path, velocity: int):
    """name -> (real notes, generated notes), both peak-normalised as the fit saw them."""
    import tempfile

    from gansynth_live.fit.dataset import SAMPLE_RATE, normalise, render_program

    if model.sample_rate != SAMPLE_RATE:
        raise SystemExit(f"the model runs at {model.sample_rate} Hz, FluidR3 notes are "
                         f"rendered at {SAMPLE_RATE} Hz")
    notes = {}
    with tempfile.TemporaryDirectory(prefix="gansynth-fidelity-") as tmp:
        for name in names:
            program, z = table[name]
            real = normalise(render_program(soundfont, program, pitches, velocity, Path(tmp)))[0]
            gen = normalise(model.generate(np.repeat(z[None, :], len(pitches), 0), pitches))[0]
            notes[name] = (real, gen)
            print(f"  {name}", file=sys.stderr, flush=True)
    return notes


def round_trip(model, waves: np.ndarray) -> np.ndarray:
    """The notes through the model's own mel + IF representation and back: what a
    perfect generator would give (the ceiling of the fidelity table)."""
    import tensorflow as tf

    codec = model.codec
    return codec.melspecs_to_waves(codec.waves_to_melspecs(tf.constant(waves))).numpy()


def note_figures(wave: np.ndarray, pitch: int, sample_rate: int) -> dict[str, float]:
    return {"attack": attack_ms(wave, sample_rate), "decay": decay_ms(wave, sample_rate),
            "hnr": harmonic_to_noise_db(wave, midi_to_hz(pitch), sample_rate)}


def _mean(values) -> float | None:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    return float(v.mean()) if v.size else None


def fidelity_row(name, program, real, gen, pitches, sample_rate: int) -> dict:
    """One instrument: envelope distance as in distinct_rows, then per-pitch figures
    averaged over the pitches (errors only where both notes have the figure)."""
    env = [np.mean([band_envelope(w, sample_rate) for w in waves], axis=0)
           for waves in (real, gen)]
    row = {"instrument": name, "program": program,
           "env_db": float(np.mean(np.abs(env[0] - env[1])))}
    figs = [(note_figures(r, p, sample_rate), note_figures(g, p, sample_rate))
            for r, g, p in zip(real, gen, pitches)]
    for key in ("attack", "decay", "hnr"):
        pairs = [(fr[key], fg[key]) for fr, fg in figs]
        row[f"{key}_real"] = _mean(r for r, _ in pairs)
        row[f"{key}_gen"] = _mean(g for _, g in pairs)
        row[f"{key}_err"] = _mean(g - r for r, g in pairs)
        row[f"{key}_per_pitch"] = [[None if not np.isfinite(v) else round(float(v), 2)
                                    for v in pair] for pair in pairs]
    return row


def _score(key: str, row: dict) -> float | None:
    """|error| in units of the figure's tolerance (FIDELITY_TOLERANCE)."""
    err = row["env_db" if key == "env_db" else f"{key}_err"]
    if err is None:
        return None
    tol = FIDELITY_TOLERANCE[key]
    if isinstance(tol, tuple):
        tol = max(tol[0] * (row[f"{key}_real"] or 0.0), tol[1])
    return abs(err) / tol


def fidelity_summary(rows: list[dict]) -> dict:
    """Per figure: mean, mean |error|, worst instrument, mean score; the worst figure."""
    out = {}
    for key in ("env_db", "attack", "decay", "hnr"):
        col = "env_db" if key == "env_db" else f"{key}_err"
        have = [r for r in rows if r[col] is not None]
        worst = max(have, key=lambda r: abs(r[col]))
        out[key] = {"mean": _mean(r[col] for r in have),
                    "mean_abs": _mean(abs(r[col]) for r in have),
                    "worst": worst[col], "worst_instrument": worst["instrument"],
                    "score": _mean(_score(key, r) for r in have), "measured": len(have)}
        if key != "env_db":
            out[key]["mean_real"] = _mean(r[f"{key}_real"] for r in have)
            out[key]["mean_gen"] = _mean(r[f"{key}_gen"] for r in have)
    key = max(out, key=lambda k: out[k]["score"])
    sign = 1 if key == "env_db" or out[key]["mean"] >= 0 else -1
    out["worst_figure"] = {"figure": key, "score": out[key]["score"],
                           "points_at": FIDELITY_POINTERS[(key, sign)]}
    return out


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


ERR_FORMAT = {"env_db": ".1f", "attack": "+.0f", "decay": "+.0f", "hnr": "+.1f"}
VALUE_FORMAT = {"attack": ".0f", "decay": ".0f", "hnr": ".1f"}


def fidelity_markdown(rows: list[dict], summary: dict, pitched: set[str],
                      ceiling: dict | None = None) -> str:
    """The table: one row per instrument, then mean, mean |error|, worst, x tolerance,
    and the round trip's mean |error| (the ceiling)."""
    figs = ("attack", "decay", "hnr")
    lines = ["| instrument | GM | env dB | attack real | attack gen | attack err | decay real "
             "| decay gen | decay err | HNR real | HNR gen | HNR diff |", "|" + " --- |" * 12]
    for r in rows:
        mark = "" if r["instrument"] in pitched else " *"
        cells = [_cell(r[f"{k}_{c}"], VALUE_FORMAT[k] if c != "err" else ERR_FORMAT[k])
                 for k in figs for c in ("real", "gen", "err")]
        lines.append(f"| {r['instrument']}{mark} | {r['program']} | {r['env_db']:.1f} | "
                     + " | ".join(cells) + " |")
    s = summary
    means = [_cell(s[k][c], VALUE_FORMAT[k] if c != "mean" else ERR_FORMAT[k])
             for k in figs for c in ("mean_real", "mean_gen", "mean")]
    lines.append(f"| **mean** | | {s['env_db']['mean']:.1f} | " + " | ".join(means) + " |")
    cells = {"mean abs": lambda k: format(s[k]["mean_abs"], VALUE_FORMAT.get(k, ".1f")),
             "worst": lambda k: (f"{s[k]['worst']:{ERR_FORMAT[k]}} "
                                 f"({s[k]['worst_instrument']})"),
             "x tolerance": lambda k: f"{s[k]['score']:.1f}"}
    if ceiling is not None:
        cells["round trip: mean abs (x tol.)"] = lambda k: (
            f"{ceiling[k]['mean_abs']:{VALUE_FORMAT.get(k, '.1f')}} "
            f"({ceiling[k]['score']:.1f})")
    for label, cell in cells.items():
        lines.append(f"| **{label}** | | {cell('env_db')} | "
                     + " | ".join(f" | | {cell(k)}" for k in figs).lstrip() + " |")
    return "\n".join(lines)


def pick_staples(table) -> list[str]:
    """One fitted instrument per staple family, chosen by GM program, where present."""
    by_program = {prog: name for name, (prog, _) in table.items()}
    picks = []
    for _, programs in STAPLE_PROGRAMS:
        found = [by_program[p] for p in programs if p in by_program]
        if found:
            picks.append(found[0])
    return picks


def _pair(values, fmt: str) -> str:
    return " / ".join(_cell(v, fmt) for v in values)


def write_listening(folder: Path, notes, rows, pitches, sample_rate: int) -> list[Path]:
    """A/B WAVs (A = real FluidR3 note, B = generated) of the staples, and index.md with
    each pair's figures."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    by_name = {r["instrument"]: r for r in rows}
    lines = ["# Listening sheet: FluidR3 note (A) against the model's note (B)", "",
             "Both peak-normalised to 0.5 (as the fit saw them), 4 s at 16 kHz, held 3 s "
             "then released. Figures of each pair as in `bench/quality.py --fidelity`; "
             "real / generated.", "",
             "| instrument | MIDI | A: real (FluidR3) | B: generated | env dB | attack ms "
             "| decay ms | HNR dB |", "|" + " --- |" * 8]
    written = []
    for name in pick_staples({n: (r["program"], None) for n, r in by_name.items()}):
        r = by_name[name]
        for i, pitch in enumerate(pitches):
            real, gen = notes[name][0][i], notes[name][1][i]
            files = []
            for tag, wave in (("A-real-fluidr3", real), ("B-generated", gen)):
                path = folder / f"{name}_midi{pitch}_{tag}.wav"
                sf.write(path, wave, sample_rate, subtype="PCM_16")
                files.append(path.name)
                written.append(path)
            env = np.mean(np.abs(band_envelope(real, sample_rate)
                                 - band_envelope(gen, sample_rate)))
            lines.append(f"| {name} | {pitch} | {files[0]} | {files[1]} | {env:.1f} | "
                         f"{_pair(r['attack_per_pitch'][i], '.0f')} | "
                         f"{_pair(r['decay_per_pitch'][i], '.0f')} | "
                         f"{_pair(r['hnr_per_pitch'][i], '.1f')} |")
    (folder / "index.md").write_text("\n".join(lines) + "\n")
    return written


def fidelity_table(args) -> int:
    tic = time.perf_counter()
    model_dir = resolve_model(args.model)
    model = load_model(model_dir)
    table = {n: v for n, v in read_instruments(model_dir, model.latent_size).items()
             if v[0] is not None}
    names = args.presets.split(",") if args.presets else list(table)
    pitches = [int(p) for p in args.fidelity_pitches.split(",")]
    soundfont, velocity = fit_source(model_dir, args.soundfont)
    notes = fidelity_notes(model, table, names, pitches, soundfont, velocity)
    rows = [fidelity_row(n, table[n][0], *notes[n], pitches, model.sample_rate)
            for n in names]
    pitched = set(pitched_presets(model_dir))
    summary = fidelity_summary([r for r in rows if r["instrument"] in pitched] or rows)
    ceiling_rows = [fidelity_row(n, table[n][0], notes[n][0], round_trip(model, notes[n][0]),
                                 pitches, model.sample_rate) for n in names]
    ceiling = fidelity_summary([r for r in ceiling_rows if r["instrument"] in pitched]
                               or ceiling_rows)
    print(f"\nFidelity: each fitted instrument's notes against the FluidR3 notes of its GM "
          f"program ({soundfont.name}, velocity {velocity}), MIDI {pitches}. env: "
          "third-octave envelope distance (as the distinctness bar); attack: RMS rise "
          "10 -> 90 % of peak, ms; decay: peak -> -20 dB, ms (notes released at 3 s); "
          "err = generated - real; HNR: harmonic-to-noise ratio over 0.2..1.4 s, dB. "
          "Summary over the instruments held to the pitch bar (* = not); round trip: the "
          "FluidR3 notes through the model's mel + IF and back, the best a generator "
          "could do.\n")
    print(fidelity_markdown(rows, summary, pitched, ceiling))
    worst = summary["worst_figure"]
    limit = ceiling[worst["figure"]]["score"]
    short = "representation" if limit > worst["score"] / 2 else "model"
    print(f"\nWorst figure: {worst['figure']} ({worst['score']:.1f}x its tolerance; the "
          f"round trip {limit:.1f}x, so the {short} is what falls short); points at "
          f"{worst['points_at']}")
    if args.listening:
        files = write_listening(args.listening, notes, rows, pitches, model.sample_rate)
        print(f"listening sheet: {len(files)} WAVs and index.md in {args.listening}")
    seconds = time.perf_counter() - tic
    print(f"\n{seconds:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(
            {"model": str(model_dir), "fingerprint": model.fingerprint,
             "soundfont": str(soundfont), "velocity": velocity, "pitches": pitches,
             "date": time.strftime("%Y-%m-%d"), "seconds": round(seconds, 1),
             "summary": summary, "rows": rows, "round_trip_summary": ceiling,
             "round_trip_rows": ceiling_rows}, indent=1) + "\n")
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
    parser.add_argument("--fidelity", action="store_true",
                        help="only the fidelity table: each fitted instrument against the "
                             "FluidR3 notes of its GM program")
    parser.add_argument("--fidelity-pitches", default=",".join(map(str, FIDELITY_PITCHES)),
                        help="MIDI pitches of the fidelity table (default 48,60,72)")
    parser.add_argument("--soundfont", type=Path, default=None,
                        help="SoundFont of the fidelity table (default: the one in the "
                             "model's fit.json)")
    parser.add_argument("--listening", type=Path, default=None,
                        help="with --fidelity: write A/B WAVs of a few staples and an "
                             "index.md to this folder")
    args = parser.parse_args()
    if args.fidelity:
        return fidelity_table(args)
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
