"""The model and the note processing in a child process, so they never hold the audio's GIL.

Why: the audio callback is Python and needs the interpreter lock every
period. A bank worker thread in the same process holds that lock for much
of its work (TensorFlow's Python layers, the DSP's numpy glue), and on a
loaded machine the thread holding it can be descheduled for milliseconds
while the real-time callback waits. Measured with `bench/soak.py` on the
shared 2-core VM (30 s, 256-frame periods, corners re-rolled every 2 s):
15-30 JACK xruns with generation in-process, 1 with the same generation
load running in another process (and 0 for an empty Python callback).

The child lowers its own CPU priority (nice 10): generation is background
work, and the audio process's other threads (MIDI, OSC, the layer follower)
may hold the lock when the callback needs it, so they must not wait behind
the generator for a CPU.

The parent (`GeneratorProcess`, used by `BankService(process=True)`) keeps
all bookkeeping: schedules, arenas, publishing, the cache. The child
(`python -m gansynth_live.banks.generator_process`) loads the model folder,
then answers render requests: one generator batch for one latent, its notes
made by `generate_notes` (generators.py: the same function as in-process),
returned as float32 samples.

Protocol (no pickle): the parent writes one JSON object per line to the
child's stdin; the child answers on stdout with one JSON line, followed for a
render by the notes' float32 samples as raw bytes (sizes in the JSON). Its
stderr is left to the parent's (TensorFlow's start-up lines, errors).

Threads: a GeneratorProcess is used by one thread at a time (the bank worker).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np

from .builder import BuildSettings, ProcessedNote
from .generators import GeneratorError, generate_notes, warm_up
from .loops import LoopSettings
from .source import ModelStamp

START_TIMEOUT_S = 600.0  # loading and fingerprinting a full-size model, tracing its graph


class GeneratorProcessError(GeneratorError):
    """The generator process failed or went away."""


def settings_to_json(settings: BuildSettings) -> dict[str, Any]:
    return asdict(settings)


def settings_from_json(data: dict[str, Any]) -> BuildSettings:
    fields = dict(data)
    fields["loops"] = LoopSettings(**fields.get("loops", {}))
    return BuildSettings(**fields)


class GeneratorProcess:
    """Parent side: start the child on a model folder, ask it for processed notes.

    A NoteGenerator (generators.py): the bank service's usual generator in `serve`.
    """

    def __init__(self, model_path: str | Path, settings: BuildSettings, name: str = "") -> None:
        self.name = "child process"  # the NoteGenerator's name (the model's is `model_name`)
        self.model_path = Path(model_path)
        self.settings = settings
        self.model_name = name
        self.stamp: ModelStamp | None = None
        self.warm_up_s = 0.0
        self._proc: subprocess.Popen | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> ModelStamp:
        """Spawn the child, let it load and warm up the model; its stamp. Raises on failure.
        A child already running is kept (its stamp at once): the bank service may have
        started it in the background before its worker asks."""
        if self.running and self.stamp is not None:
            return self.stamp
        self.close()
        env = dict(os.environ, **thread_env(generator_threads()))
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                    else "")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "gansynth_live.banks.generator_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        t0 = time.perf_counter()
        reply = self._ask({"op": "load", "path": str(self.model_path), "name": self.model_name,
                           "settings": settings_to_json(self.settings)})
        self.stamp = ModelStamp(**reply["stamp"])
        self.warm_up_s = time.perf_counter() - t0
        return self.stamp

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self.running and self._proc is not None else None

    def close(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                assert proc.stdin is not None
                proc.stdin.write(b'{"op": "quit"}\n')
                proc.stdin.flush()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    # --- work ----------------------------------------------------------------------------
    def render(self, latent: np.ndarray, pitches: list[int], extensions: dict[int, int]
               ) -> tuple[list[ProcessedNote], float, float]:
        """Generate `pitches` for one latent and process them (plus extension pitches
        rendered from them); returns the notes, generator seconds, processing seconds."""
        if not self.running:
            self.start()
        reply = self._ask({"op": "render", "latent": [float(v) for v in latent],
                           "pitches": [int(p) for p in pitches],
                           "extensions": {str(k): int(v) for k, v in extensions.items()}})
        assert self._proc is not None and self._proc.stdout is not None
        notes = []
        for meta in reply["notes"]:
            samples = _read_exact(self._proc.stdout, 4 * int(meta["frames"]))
            notes.append(ProcessedNote(
                pitch=int(meta["pitch"]), samples=np.frombuffer(samples, dtype="<f4"),
                loop_start=int(meta["loop_start"]), loop_end=int(meta["loop_end"]),
                peak=float(meta["peak"]), rms=float(meta["rms"]),
                source_pitch=int(meta["source_pitch"])))
        return notes, float(reply["generate_s"]), float(reply["process_s"])

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise GeneratorProcessError("the generator process is not running")
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except OSError as exc:
            line = b""
            failure = str(exc)
        else:
            failure = ""
        if not line:
            code = proc.poll()
            self.close(timeout=1.0)
            raise GeneratorProcessError(
                f"the generator process ended ({failure or f'exit status {code}'}); "
                "see its messages above")
        reply = json.loads(line)
        if "error" in reply:
            raise GeneratorProcessError(reply["error"])
        return reply


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise GeneratorProcessError("the generator process ended in the middle of a reply")
    return data


# --- the child ---------------------------------------------------------------------------
class _Child:
    def __init__(self) -> None:
        self.model = None
        self.stamp: ModelStamp | None = None
        self.settings = BuildSettings()

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        import tensorflow as tf

        from ..model import load_model

        threads = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0") or 0)
        if threads > 0:  # the environment variable too, in case this TensorFlow ignores it
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        self.settings = settings_from_json(request["settings"])
        self.model = load_model(request["path"])
        self.stamp = ModelStamp.of(self.model, request.get("name") or Path(request["path"]).name)
        warm_up(self.model, self.stamp, self.settings)
        return {"stamp": asdict(self.stamp)}

    def render(self, request: dict[str, Any], out: IO[bytes]) -> None:
        assert self.model is not None and self.stamp is not None
        latent = np.asarray(request["latent"], dtype=np.float64)
        pitches = [int(p) for p in request["pitches"]]
        extensions = {int(k): int(v) for k, v in request["extensions"].items()}
        notes, generate_s, process_s = generate_notes(self.model, self.stamp.sample_rate, latent,
                                                      pitches, extensions, self.settings)
        meta = [{"pitch": n.pitch, "frames": len(n.samples), "loop_start": n.loop_start,
                 "loop_end": n.loop_end, "peak": n.peak, "rms": n.rms,
                 "source_pitch": n.source_pitch} for n in notes]
        out.write(json.dumps({"notes": meta, "generate_s": generate_s,
                              "process_s": process_s}).encode() + b"\n")
        for note in notes:
            out.write(np.ascontiguousarray(note.samples, dtype="<f4").tobytes())
        out.flush()


CHILD_NICE = 10  # background work: the audio process's threads come first for the CPU
THREADS_ENV = "GANSYNTH_LIVE_GENERATOR_THREADS"


def generator_threads() -> int:
    """CPU threads the child may use: all cores but one, so the audio always finds a core.

    Nice alone did not do it: with TensorFlow on both cores of the 2-core test
    machine the 60 s soak had 2 JACK xruns at nice 10 and 4 at nice 19 (a
    woken audio thread still waits out a running time slice). $GANSYNTH_LIVE_GENERATOR_THREADS
    overrides (e.g. on a machine that only renders).
    """
    value = os.environ.get(THREADS_ENV, "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return max(1, (os.cpu_count() or 2) - 1)


def thread_env(count: int) -> dict[str, str]:
    """For the child's environment: numpy's BLAS and TensorFlow size their pools at start."""
    env = {name: str(count) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                         "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    return env


def main() -> int:
    """The child: JSON requests on stdin, replies on stdout (see the module docstring)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import signal

    # Ctrl-C in a terminal reaches the whole process group: the parent closes this child
    # in order (a quit request, or its stdin closing when the parent dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(CHILD_NICE)
    except (AttributeError, OSError):  # no nice() on this platform
        pass
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the replies
    child = _Child()
    for line in stdin:
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                break
            if op == "load":
                reply = child.load(request)
            elif op == "render":
                if child.model is None:
                    raise GeneratorProcessError("render before load")
                child.render(request, stdout)
                continue
            else:
                raise GeneratorProcessError(f"unknown request {op!r}")
        except Exception as exc:  # noqa: BLE001 - told to the parent, which fails the job
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(reply).encode() + b"\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
