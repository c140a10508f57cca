#!/usr/bin/env python
"""Run the benchmarks (quick settings) and write docs/benchmark-report.md.

The report puts our figures next to FluidSynth's, measured in the same run on the same
machine (note-on latency through JACK, offline render speed, CPU per voice), next to
magenta's own bank generation (timed in the same run when `--magenta-venv` points at a
working magenta reference venv, built by ../shared/tools/magenta-ref/setup.sh; otherwise
"not measured": an old figure is never shown as a ratio), and summarises the soak. Below the summary,
each benchmark's own output is kept in full.

    python bench/report.py                        # ~10 minutes on 2 cores
    python bench/report.py --magenta-venv /work/magenta-ref-venv --out report.md

Timing figures depend on the machine's load: pause other heavy jobs while it runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from reportlib import voices  # noqa: E402
from reportlib.runs import Run, run_bench  # noqa: E402
from reportlib.tables import (aligned_value, find_row, generate_rows, markdown_rows,  # noqa: E402
                              number)

# The magenta figure docs/models.md records. It is never shown as a ratio: the report
# times magenta in the same run, or says "not measured" and cites this only as context.
RECORDED_MAGENTA = {"s_per_bank": 17.98, "doc_line": "| magenta 2.1.4 | 8 | 17.98 |",
                    "doc": "docs/models.md"}

# time_magenta.py's three import shims (../shared/tools/magenta-ref/README.md): without
# them `import magenta...` runs magenta/__init__, which needs note_seq, and fails.
_MAGENTA_PROBE = """
import collections, importlib.util, inspect, sys, types
sys.modules['tensorflow_datasets'] = types.ModuleType('tensorflow_datasets')
spec = importlib.util.find_spec('magenta')
pkg = types.ModuleType('magenta'); pkg.__path__ = list(spec.submodule_search_locations)
sys.modules['magenta'] = pkg
ArgSpec = collections.namedtuple('ArgSpec', 'args varargs keywords defaults')
inspect.getargspec = lambda f: ArgSpec(*inspect.getfullargspec(f)[:4])
import magenta.models.gansynth.lib.model
"""
MAGENTA_TOOLS = ROOT.parent / "shared" / "tools" / "magenta-ref"


def magenta_venv_works(venv: Path | None) -> tuple[bool, str]:
    if venv is None:
        return False, "no --magenta-venv given"
    python = venv / "bin" / "python"
    if not python.exists():
        return False, f"{python} missing"
    if not (MAGENTA_TOOLS / "time_magenta.py").exists():
        return False, f"{MAGENTA_TOOLS / 'time_magenta.py'} missing"
    probe = subprocess.run([str(python), "-c", _MAGENTA_PROBE], capture_output=True, text=True,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if probe.returncode:
        return False, probe.stderr.strip().splitlines()[-1] if probe.stderr else "import failed"
    return True, ""


def recorded_magenta_date() -> str:
    found = subprocess.run(["git", "log", "-S", RECORDED_MAGENTA["doc_line"], "--format=%as %h",
                            "--", RECORDED_MAGENTA["doc"]], capture_output=True, text=True,
                           cwd=ROOT).stdout.split("\n")
    found = [line for line in found if line.strip()]
    return found[-1] if found else "date unknown"


def _us(line: str) -> str:
    """The first figure after a bench/inputs.py label (its us/message column)."""
    cells = re.split(r"\s{2,}", line.strip())
    return cells[1] if len(cells) > 1 else "not measured"


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "not measured" if value is None else f"{value:{spec}}{unit}"


def generation_rows(gen: list[dict], magenta: dict) -> list[list[str]]:
    """Bank generation rows; a ratio only against magenta timed in the same run."""
    rows = []
    mag = magenta.get("row")
    for g in sorted((r for r in gen if r["model"] == "full" and r["path"] == "fast"),
                    key=lambda r: r["batch"]):
        if mag:
            ref = (f"magenta 2.1.4, batch 8: {mag['s_per_bank']:.1f} s, {mag['cpu_s']:.1f} CPU s"
                   f" ({mag['s_per_bank'] / g['s_per_bank']:.2f}x); target >= 2x")
        else:
            ref = f"magenta 2.1.4: not measured ({magenta['why']})"
        rows.append([f"bank generation, full-size generator, 61 notes, batch {g['batch']}: "
                     "s / notes per s / CPU s", f"{g['s_per_bank']:.1f} s, "
                     f"{g['notes_per_s']:.2f} notes/s, {g['cpu_s']:.1f} CPU s", ref,
                     "same run" if mag else "not measured"])
    one = next((r for r in gen if r["model"] == "full" and r["path"] == "fast"
                and r.get("one_note_s") is not None), None)
    if one:
        rows.append(["one new note at batch 1, full-size generator (generator + decode)",
                     f"{one['one_note_s']:.3f} s", "target <= 0.3 s", "bench/generate.py"])
    return rows


def summary(runs: dict[str, Run], voice_costs, soak: dict | None, magenta: dict) -> list[str]:
    """Summary rows: measure | gansynth-live | reference | reference measured."""
    rows = []
    engine = runs["engine"].output
    lat = markdown_rows(engine, "Note-on to first sound")  # the one table: --periods 128
    ours, theirs = find_row(lat, "engine, push() at random"), find_row(lat, "FluidSynth, JACK MIDI asked")
    if ours and theirs:
        rows.append(["note-on to first sound through JACK, 48 kHz, 128-frame periods, note at "
                     "a random moment: median / p99 (frames)", f"{ours[1]} / {ours[2]}",
                     f"FluidSynth: {theirs[1]} / {theirs[2]}", "same run, same harness"])
    render = markdown_rows(engine, "Offline render")
    ours, theirs = find_row(render, "gansynth-live engine, numba, block 256"), find_row(
        render, "FluidSynth, reverb and chorus off")
    if ours and theirs:
        rows.append(["offline render of a MIDI file (x real time)", ours[2],
                     f"FluidSynth: {theirs[2]}", "same run, same file"])
    if voice_costs:
        fluid, ours_v = voice_costs
        rows.append([f"CPU per voice held (% of one core; {ours_v.many} vs 1 notes, "
                     f"{ours_v.seconds:.0f} s offline, 128-frame blocks)",
                     f"{ours_v.core_pct_per_voice:.3f} %",
                     f"FluidSynth: {fluid.core_pct_per_voice:.3f} %", "same run, same method"])
    mixer = markdown_rows(engine, "Callback cost")
    row64 = next((r for r in mixer if r[:3] == ["numba", "1", "64"]), None)
    if row64:
        rows.append(["audio callback, 64 voices, one bank, 128 frames (median, of the period)",
                     f"{row64[3]} us ({row64[5]})", "target <= 10 %", "bench/engine.py"])
    rows += generation_rows(generate_rows(runs["generate"].output), magenta)
    banks = runs["banks"].output
    first = aligned_value(banks, "first playable note after a new latent (median)")
    if first:
        rows.append(["first playable note after a new latent (full-size, median)", first,
                     "target <= 0.5 s", "bench/banks.py"])
    restart = aligned_value(banks, "warm restart: process start to first playable note")
    if restart:
        rows.append(["warm-cache restart to first playable note", restart, "target < 1 s",
                     "bench/banks.py"])
    inputs = runs["inputs"].output
    midi = next((l for l in inputs.splitlines() if l.startswith("MIDI: parse")), None)
    mido = next((l for l in inputs.splitlines() if l.startswith("MIDI: mido.Message")), None)
    if midi and mido:
        rows.append(["MIDI input, one message: parse + translate + queue (us)",
                     f"{_us(midi)}", f"mido.Message.from_bytes alone: {_us(mido)}",
                     "same run"])
    if soak:
        rows.append([f"soak {soak['seconds']:.0f} s ({soak['model']} model, 256 frames, 32 "
                     "voices, banks regenerated): xruns (PortAudio / JACK)",
                     f"{soak['portaudio_xruns']} / {soak['jack_xruns']}",
                     f"empty Python callback alone: {soak['reference_xruns']} in "
                     f"{soak['reference_s']:.0f} s", "same run, same server"])
        dropped = (soak["midi_sent"] - soak["midi_received"] + soak["osc_sent"]
                   - soak["osc_received"] + soak["events_refused"] + soak["notes_refused"])
        rows.append(["soak: events dropped / voices left after All Notes Off",
                     f"{dropped} of {soak['midi_sent'] + soak['osc_sent']} / "
                     f"{soak['voices_after_all_off']}", "target 0 / 0", ""])
        rows.append(["soak: RSS after warm-up start / middle / end (MB)",
                     f"{soak['rss_start_mb']:.0f} / {soak['rss_middle_mb']:.0f} / "
                     f"{soak['rss_end_mb']:.0f}", f"one bank <= {soak['bank_mb']:.1f} MB",
                     ""])
        complete = soak["record_file_frames"] == soak["record_expected_frames"] and \
            soak["record_lost_frames"] == 0 and soak["record_valid"]
        rows.append(["soak: recording, frames in the WAV / handed over by the callback",
                     f"{soak['record_file_frames']} / {soak['record_expected_frames']} "
                     f"({'complete' if complete else 'INCOMPLETE'})", "equal", ""])
    lines = ["| measure | gansynth-live | reference | reference measured |",
             "| --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmark-report.md")
    parser.add_argument("--magenta-venv", type=Path, default=Path("/work/magenta-ref-venv"))
    parser.add_argument("--soak-seconds", type=float, default=30.0)
    parser.add_argument("--soak-model", default="default")
    parser.add_argument("--runs-json", type=Path, default=None,
                        help="keep every benchmark's output here; if the file exists, "
                             "write the report from it instead of measuring again")
    args = parser.parse_args()
    if args.runs_json and args.runs_json.exists():
        saved = json.loads(args.runs_json.read_text())
        runs = {k: Run(**v) for k, v in saved["runs"].items()}
        costs = [voices.VoiceCost(**c) for c in saved["voices"]] or None
        write(args.out, runs, costs, saved["voice_text"], saved["soak"], saved["magenta"],
              saved["header"])
        return 0
    started = datetime.datetime.now().astimezone()
    load_before = os.getloadavg()[0]
    venv_ok, venv_problem = magenta_venv_works(args.magenta_venv)
    generate_args = ["--batches", "1,8", "--banks", "1", "--paths", "fast", "--models", "full"]
    if venv_ok:
        generate_args += ["--magenta-venv", str(args.magenta_venv)]
    runs = {
        "generate": run_bench("generate", "generate.py", generate_args),
        "banks": run_bench("banks", "banks.py", ["--latents", "1"]),
        "engine": run_bench("engine", "engine.py", ["--quick", "--periods", "128"]),
        "inputs": run_bench("inputs", "inputs.py", ["--messages", "10000"]),
        "studio": run_bench("studio", "studio.py", ["--notes", "8", "--steps", "1",
                                                    "--models", "tiny"]),
    }
    print("report: CPU per voice, engine and FluidSynth ...", flush=True)
    try:
        voice_costs = voices.measure()
        voice_text = "\n".join(
            f"{c.renderer}: {c.core_pct_per_voice:.3f} % of a core per voice ({c.one_s:.2f} s "
            f"/ {c.many_s:.2f} s CPU for 1 / {c.many} notes held {c.seconds:.0f} s)"
            for c in voice_costs)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as exc:
        voice_costs, voice_text = None, f"failed: {exc}"
    with tempfile.TemporaryDirectory() as tmp:
        soak_json = Path(tmp) / "soak.json"
        runs["soak"] = run_bench("soak", "soak.py", [
            "--seconds", f"{args.soak_seconds:g}", "--reference", "5", "--model",
            args.soak_model, "--json", str(soak_json)])
        soak = json.loads(soak_json.read_text()) if soak_json.exists() else None
    ref = next((r for r in generate_rows(runs["generate"].output)
                if r["path"].startswith("magenta")), None)
    if ref:
        magenta = {"row": ref, "why": ""}
    else:
        why = (f"reference venv: {venv_problem}" if not venv_ok
               else "the magenta run printed no figure: see the generate section")
        magenta = {"row": None, "why": f"{why}; {RECORDED_MAGENTA['doc']} records an older "
                   f"run ({recorded_magenta_date()}), not compared here"}
    finished = datetime.datetime.now().astimezone()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    header = (
        f"Generated by `python bench/report.py` on {started:%Y-%m-%d %H:%M %Z} "
        f"({(finished - started).total_seconds() / 60:.1f} min), commit {commit}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end. "
        "Quick settings (fewer repeats than each benchmark's default); figures from a "
        "shared VM: compare within a row, where both sides ran minutes apart on the same "
        "machine.")
    if args.runs_json:
        from dataclasses import asdict

        args.runs_json.write_text(json.dumps({
            "runs": {k: asdict(v) for k, v in runs.items()},
            "voices": [asdict(c) for c in voice_costs or []], "voice_text": voice_text,
            "soak": soak, "magenta": magenta, "header": header}, indent=1))
    write(args.out, runs, voice_costs, voice_text, soak, magenta, header)
    return 0


def write(out: Path, runs: dict[str, Run], voice_costs, voice_text: str, soak: dict | None,
          magenta: dict, header: str) -> None:
    text = [
        "# Benchmark report",
        "",
        header,
        "",
        "## Summary",
        "",
        *summary(runs, voice_costs, soak, magenta),
        "",
        "The engine is Python with numba kernels and a 2-byte sample store; FluidSynth is C. "
        "The latency rows use the harness of `bench/engine.py` (a JACK dummy server, a "
        "capture client timing the first sample above -80 dBFS). The full 60-second soak "
        "with the default model is in [benchmarks/soak-60s.txt](benchmarks/soak-60s.txt).",
        "",
        "## CPU per voice",
        "",
        "```text",
        voice_text,
        "```",
        "",
    ]
    for run in runs.values():
        text += [f"## {run.name}: `{' '.join(run.command)}` ({run.seconds:.0f} s"
                 f"{'' if run.ok else ', FAILED'})", "", "```text", run.output.strip(), "```", ""]
    out.write_text("\n".join(text), encoding="utf-8")
    print(f"report: wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
