"""Render a MIDI file with GANSynth instruments whose timbre moves over time.

Every note gets one latent, taken at its onset from the instruments placed
with --instrument SPEC@TIME (magenta's colab rule), is generated at its pitch,
made into a bank note by the live bank builder (sustain loop included), and
played by the live engine's own code, offline, keeping its onset's timbre;
the whole track is then normalised once so it never clips.

SPEC: a preset NAME, seed:N, or audition:DIR:INDEX. TIME: seconds or m:ss.
Without --instrument, random instruments are placed every --random-every
seconds (magenta's get_random_instruments).

With --corners A,B[,C,D] (and --mpe for MPE files) the file is played the
way `serve` would play it instead: on serve's morph pad, every MIDI message
through the live MIDI translator, so per-note bend, slide (CC74), pressure
and polyphonic aftertouch move each note on its own (studio/pad.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GansynthLiveError
from ..shipped import example_midi, example_names

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("midi", help="MIDI file (format 0 or 1), or example:NAME for a "
                        "shipped example (" + ", ".join(example_names()) + ")")
    parser.add_argument("--model", default=None,
                        help="model folder or name (default: the model shipped with the package)")
    parser.add_argument("--instrument", action="append", default=[], metavar="SPEC[@TIME]",
                        help="an instrument at a time; repeat to move between them. SPEC: "
                             "preset NAME | seed:N | audition:DIR:INDEX; TIME: seconds or m:ss")
    parser.add_argument("--random-every", type=float, default=None, metavar="SECONDS",
                        help="without --instrument: a new random instrument every SECONDS "
                             "(default 6, as magenta's colab script)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the random instruments (default: random, printed)")
    parser.add_argument("--slerp", action="store_true",
                        help="spherical interpolation between instruments (what magenta's "
                             "get_z_notes does) instead of linear")
    parser.add_argument("--out", type=Path, default=None,
                        help="output WAV (default: the MIDI file's name with .wav, here)")
    parser.add_argument("--sample-rate", type=int, default=16000,
                        help="output sample rate in Hz (default 16000, the model's)")
    parser.add_argument("--bit-depth", choices=sorted(SUBTYPES), default="24",
                        help="WAV sample format (default 24-bit)")
    parser.add_argument("--out-of-range", choices=("resample", "octave", "drop"),
                        default="resample",
                        help="notes outside the model's pitches: play the nearest model pitch "
                             "resampled (default), move them by octaves, or drop them (magenta)")
    parser.add_argument("--include-drums", action="store_true",
                        help="also play MIDI channel 10 (General MIDI drums) as pitched notes")
    parser.add_argument("--min-note", type=float, default=0.05, metavar="SECONDS",
                        help="shorter notes (zero-length ones too) are lengthened to this")
    parser.add_argument("--attack", type=float, default=0.010, help="attack, s (default 0.01)")
    parser.add_argument("--decay", type=float, default=0.2, help="decay, s (default 0.2)")
    parser.add_argument("--sustain", type=float, default=1.0, help="sustain level 0..1 "
                        "(default 1)")
    parser.add_argument("--release", type=float, default=0.3, help="release, s (default 0.3)")
    parser.add_argument("--velocity-curve", type=float, default=2.0,
                        help="gain = (velocity/127)^CURVE; 1 is magenta's linear law, 2 "
                             "(default) the live engine's")
    parser.add_argument("--peak-db", type=float, default=-1.0,
                        help="peak level of the output in dBFS (default -1; must be <= 0)")
    parser.add_argument("--plot", action="store_true",
                        help="also write OUT.cqt.png (spectrogram) and OUT.roll.png (piano roll "
                             "with the timbre path)")
    parser.add_argument("--preset-dir", type=Path, default=None,
                        help="extra folder searched first for presets")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="notes per generator batch (default: the model's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_pad_arguments(parser)


def _add_pad_arguments(parser: argparse.ArgumentParser) -> None:
    """serve's --corners, --morph, --resolution, --mpe and --expression-* (their values go
    through serve's option table, studio/pad.py)."""
    from ..live.config import OPTION_BY_KEY
    from ..studio.pad import DEFAULT_RESOLUTION, EXPRESSION_OPTIONS

    group = parser.add_argument_group(
        "morph pad", "play the file on serve's morph pad with the live engine instead: MPE, "
        "per-note expression and polyphonic aftertouch move each note (docs/studio.md)")
    group.add_argument("--corners", default=None, metavar="A,B[,C,D]",
                       help="the pad's 2..4 corners, as serve's --corners: preset names or "
                            "seed:N (1 bottom-left, 2 bottom-right, 3 top-left, 4 top-right)")
    morph = OPTION_BY_KEY["morph"]
    group.add_argument(morph.flag, default=None, metavar=morph.metavar, help=morph.help)
    group.add_argument("--resolution", default=None, metavar="N",
                       help=f"morph grid points per axis (default {DEFAULT_RESOLUTION}, "
                            "as serve's)")
    for key in EXPRESSION_OPTIONS:  # serve's per-note expression mapping, as serve has it
        option = OPTION_BY_KEY[key]
        group.add_argument(option.flag, dest=key, default=None, metavar=option.metavar,
                           choices=option.choices, help=option.help)
    group.add_argument("--mpe", nargs="?", const="lower", default=None, metavar="ZONE[,ZONE]",
                       help="MPE file: bare --mpe is the lower zone with 15 member channels "
                            "(MPE's default); or lower[:N] and/or upper[:N] as serve's --mpe. "
                            "The file's own MPE Configuration Messages (RPN 6) set zones too")


def _settings(args: argparse.Namespace):
    from ..presets import Envelope, PresetError
    from ..studio.render import RenderSettings

    if not 8000 <= args.sample_rate <= 384000:
        raise GansynthLiveError("--sample-rate must be in 8000..384000 Hz")
    if not -60.0 <= args.peak_db <= 0.0:
        raise GansynthLiveError("--peak-db must be in -60..0 dBFS")
    if not 0.0 <= args.velocity_curve <= 8.0:
        raise GansynthLiveError("--velocity-curve must be in 0..8")
    if not 0.0 <= args.min_note <= 10.0:
        raise GansynthLiveError("--min-note must be in 0..10 s")
    try:
        envelope = Envelope(args.attack, args.decay, args.sustain,
                            args.release).validated("envelope")
    except PresetError as exc:
        raise GansynthLiveError(str(exc)) from None
    return RenderSettings(sample_rate=args.sample_rate, envelope=envelope,
                          velocity_curve=args.velocity_curve, peak_db=args.peak_db,
                          range_mode=args.out_of_range, batch_size=args.batch_size)


def midi_path(spec: str) -> Path:
    """The MIDI file a user named: a path, or example:NAME for a file shipped with the package."""
    if spec.startswith("example:"):
        return example_midi(spec.removeprefix("example:"))
    return Path(spec)


def run(args: argparse.Namespace) -> int:
    from ..studio.pad import PAD_OPTIONS

    given = {key: getattr(args, key) for key in PAD_OPTIONS if getattr(args, key) is not None}
    if given:
        return _run_pad(args, given)
    from ..model import load_model
    from ..model.registry import resolve_model
    from ..studio.audition import random_seed
    from ..studio.instruments import path_from_specs, random_path
    from ..studio.progress import tqdm_progress
    from ..studio.render import plan_render, render_plan
    from ..studio.score import read_score

    settings = _settings(args)
    midi = midi_path(args.midi)
    out = args.out or Path(midi.stem + ".wav")
    score = read_score(midi, min_note_s=args.min_note, skip_drums=not args.include_drums)
    if not score.notes:
        raise GansynthLiveError(f"'{midi}' has no notes to render")
    model_name = args.model or "default"
    model = load_model(resolve_model(args.model))
    interpolation = "spherical" if args.slerp else "linear"
    warnings: list[str] = []
    if args.instrument:
        if args.random_every is not None:
            raise GansynthLiveError("use --instrument or --random-every, not both")
        timbre = path_from_specs(args.instrument, model.latent_size, score.duration_s,
                                 interpolation, args.preset_dir, warnings, model_name,
                                 prior=model.prior)
    else:
        seed = random_seed() if args.seed is None else args.seed
        every = 6.0 if args.random_every is None else args.random_every
        last_end = max(n.end_s for n in score.notes)
        timbre = random_path(model.latent_size, last_end, every, seed, interpolation,
                             prior=model.prior)
        print(f"random instruments: seed {seed}, {len(timbre.times)} instruments every "
              f"{every:g} s (reproduce with --seed {seed})")
    for text in warnings:
        print(f"warning: {text}")
    plan = plan_render(score, timbre, model.pitch_range, settings.range_mode)
    if not plan.notes:
        raise GansynthLiveError("no notes left to render (all outside the model's pitch range "
                                "and --out-of-range drop)")
    result = render_plan(model, plan, settings, progress=tqdm_progress(not args.quiet))
    _write(out, result.audio, result.sample_rate, args.bit_depth)
    _report(score, plan, result, out)
    if args.plot:
        _plot(out, result, plan.notes, timbre, model.pitch_range, midi.name, score.duration_s)
    return 0


def _write(out: Path, audio, sample_rate: int, bit_depth: str) -> None:
    import soundfile as sf

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sf.write(out, audio, sample_rate, subtype=SUBTYPES[bit_depth])
    except (OSError, RuntimeError) as exc:  # soundfile raises RuntimeError on write failures
        raise GansynthLiveError(f"cannot write '{out}': {exc}") from None


def _run_pad(args: argparse.Namespace, given: dict[str, str]) -> int:
    """render --corners/--mpe: the file played on serve's morph pad (studio/pad.py)."""
    from ..model import load_model
    from ..model.registry import resolve_model
    from ..studio.pad import pad_settings, resolve_corners
    from ..studio.progress import tqdm_progress
    from ..studio.render import render_pad
    from ..studio.score import read_messages, read_score

    if "corners" not in given:
        flags = ", ".join(f"--{key}" for key in given)
        raise GansynthLiveError(f"{flags}: needs --corners A,B[,C,D], the morph pad's corners "
                                "(preset names or seed:N, as serve's --corners)")
    other = [flag for flag, used in (
        ("--instrument", args.instrument), ("--random-every", args.random_every is not None),
        ("--seed", args.seed is not None), ("--slerp", args.slerp),
        ("--out-of-range", args.out_of_range != "resample")) if used]
    if other:
        raise GansynthLiveError(f"{', '.join(other)}: not with --corners (on the morph pad the "
                                "timbre comes from the pad, and out-of-range notes are "
                                "resampled, as in serve)")
    pad = pad_settings(given)
    settings = _settings(args)
    midi = midi_path(args.midi)
    out = args.out or Path(midi.stem + ".wav")
    skip_drums = not (args.include_drums or pad.mpe)  # MPE: channel 10 is a member channel
    score = read_score(midi, min_note_s=args.min_note, skip_drums=skip_drums)
    if not score.notes:
        raise GansynthLiveError(f"'{midi}' has no notes to render")
    messages = read_messages(midi)
    model = load_model(resolve_model(args.model))
    anchors = resolve_corners(pad.corners, model.latent_size, model.prior, args.preset_dir)
    result = render_pad(model, score, messages, anchors, pad, settings, skip_drums=skip_drums,
                        progress=tqdm_progress(not args.quiet))
    _write(out, result.audio, result.sample_rate, args.bit_depth)
    _report_pad(score, pad, result, out)
    if args.plot:
        from ..studio.plots import PadPaths

        paths = PadPaths(pad.corners, result.capture.pad, tuple(result.paths))
        _plot(out, result, score.notes, None, model.pitch_range, midi.name, score.duration_s,
              pad=paths)
    return 0


def _plot(out: Path, result, notes, timbre, pitch_range, title: str, duration_s: float,
          pad=None) -> None:
    """--plot: the CQT and the piano roll (with each note's pad path in pad mode) beside
    the WAV."""
    from ..studio.plots import plot_cqt, plot_piano_roll

    stem = out.with_suffix("")
    cqt = plot_cqt(result.audio, result.sample_rate, Path(f"{stem}.cqt.png"),
                   title=f"{out.name}: CQT spectrogram")
    roll = plot_piano_roll(notes, Path(f"{stem}.roll.png"), timbre, pitch_range, title=title,
                           duration_s=duration_s, pad=pad)
    print(f"plots: {cqt}, {roll}")


def _report_pad(score, pad, result, out: Path) -> None:
    stats = score.stats
    seconds = len(result.audio) / result.sample_rate
    own = sum(1 for p in result.paths if p.expressive)
    x, y = pad.position
    print(f"{len(score.notes)} notes on the morph pad ({', '.join(pad.corners)}; {result.banks} "
          f"banks, pad from {x:g},{y:g}), {own} with timbre of their own; {seconds:.1f} s at "
          f"{result.sample_rate} Hz, gain {result.gain_db:+.1f} dB -> {out}")
    if result.warning:
        print(f"warning: {result.warning}")
    remarks = [(stats.drum_notes_skipped, "drum notes (channel 10) skipped (--include-drums "
                "or --mpe plays them)"),
               (result.capture.programs_ignored, "program changes ignored (the pad keeps its "
                "corners)"),
               (result.capture.messages_ignored, "channel pressure messages outside an MPE zone "
                "ignored (an MPE file? give --mpe)"),
               (result.voices_stolen, "notes cut short: more voices than the engine has"),
               (result.notes_refused, "notes not played: no voice free")]
    for count, text in remarks:
        if count:
            print(f"  {count} {text}")


def _report(score, plan, result, out: Path) -> None:
    stats, fit = score.stats, plan.range_fit
    seconds = len(result.audio) / result.sample_rate
    print(f"{len(plan.notes)} notes ({result.distinct_notes} generated), {seconds:.1f} s at "
          f"{result.sample_rate} Hz, gain {result.gain_db:+.1f} dB -> {out}")
    remarks = [(fit.dropped, "out-of-range notes dropped"),
               (fit.transposed, "out-of-range notes moved by octaves"),
               (fit.resampled, "out-of-range notes resampled from the nearest model pitch"),
               (stats.drum_notes_skipped, "drum notes (channel 10) skipped"),
               (stats.orphan_note_offs, "note-offs without a note-on ignored"),
               (stats.unterminated_notes, "notes never released (ended at the end of the file)"),
               (stats.lengthened_notes, "very short notes lengthened"),
               (stats.retriggered_notes, "pedal-held notes re-struck"),
               (result.voices_stolen, "notes cut short: more than 1024 sounding at once"),
               (result.notes_refused, "notes not played: no voice free")]
    for count, text in remarks:
        if count:
            print(f"  {count} {text}")
