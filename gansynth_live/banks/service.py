"""The bank service: one worker thread owns the model and fills banks on request.

`BankService.request(latent, priority_pitches)` returns at once with a
BankHandle; the worker thread then, in priority order across requests:

1. looks the bank up in the cache (cheap, needs no model when the model's
   stamp is remembered, see `source.py`);
2. generates the pitches being played or asked for, one at a time, then the
   rest in batches sized to take about `batch_seconds` (so a cancel or a newly
   played pitch waits at most that long), farthest-first across the keyboard;
3. after every batch publishes a new partial NoteBank in `handle.current`
   (a new object each time, swapped by reference; see `arena.py`: no copies)
   and calls the handle's listeners with (done, total);
4. writes the finished bank to the cache (and a cancelled one's partial bank,
   so the work is kept and resumed by the next request for that latent; partial
   banks together stay within `partial_budget_bytes`, oldest dropped first).

Step 2 asks a NoteGenerator (generators.py) for processed notes: the model
in this process, in a child process (`process=True`, what `serve` uses: the
model is loaded there, TensorFlow is never imported here, and the interpreter
lock the audio callback needs is not held by generation), or a remote server
(`generator=RemoteGenerator(...)`, cluster/client.py). With a `fallback`
generator, a remote one that cannot be reached hands over to the fallback at
once (the status says so) and takes over again when it answers; the worker
thread only waits for replies and files the notes, whoever made them. The
fallback is started in the background when the service starts (with `preload`),
so its model is loaded before the remote is first found unreachable: a child
process that then idles (measured with the shipped model on the 2-core VM: ~4 s
to start, ~700 MB resident of which ~340 MB its own, no CPU while idle; the
same as `serve` without --generator holds).

Threads: `request`, `prioritize`, `set_priority`, `cancel` and `close` may be
called from any thread except the audio callback (they take a lock the
worker holds only for bookkeeping, never while generating). Reading
`handle.current` is safe anywhere, the audio callback included. Listeners run
on the worker thread and must return quickly.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from .arena import BankArena
from .bank import NoteBank
from .builder import BuildSettings, max_note_frames
from .cache import BankCache, bank_key, canonical_latent, encode_latent, latent_id
from .extend import extension_sources
from .generator_process import GeneratorProcess
from .generators import (GeneratorError, GeneratorUnavailable, LocalGenerator, NoteGenerator)
from .schedule import PitchSchedule
from .source import ModelSource, ModelStamp

if TYPE_CHECKING:
    from ..model.gansynth import GanSynth

RETRY_PRIMARY_S = 2.0  # how often a fallen-back service asks its remote generator again

log = logging.getLogger(__name__)

Listener = Callable[["BankHandle"], None]

QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"


class BankHandle:
    """One requested bank: its latest partial NoteBank, progress, and control.

    Shared by everyone who requested the same latent from the same service.
    """

    def __init__(self, service: "BankService", latent: np.ndarray, priority: float, seq: int,
                 first: Iterable[int]) -> None:
        self._service = service
        self.latent = canonical_latent(latent)
        self.latent_id = latent_id(self.latent)
        self.key: str | None = None
        self.current: NoteBank | None = None
        self.state = QUEUED
        self.error: BaseException | None = None
        self.from_cache = False
        self.priority = float(priority)
        self.seq = seq
        self._first = [int(p) for p in first]
        self._schedule: PitchSchedule | None = None
        self._arena: BankArena | None = None
        self._probed = False
        self._progress = (0, 0)
        self._listeners: list[Listener] = []
        self._finished = threading.Event()

    # --- read anywhere ---------------------------------------------------------------
    @property
    def progress(self) -> tuple[int, int]:
        """(generated pitches, pitches in the model's range); (0, 0) before the first look."""
        return self._progress

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done, cancelled or failed (never from the audio callback)."""
        return self._finished.wait(timeout)

    # --- control (any thread but the audio callback) ----------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call `listener(handle)` on the worker thread after every update.

        If the handle already has a bank (or has finished), the listener is also
        called once right away, on the calling thread, so no update is missed
        between `request` and `add_listener`; a listener may thus see the same
        bank twice and must tolerate it.
        """
        with self._service._cond:
            self._listeners.append(listener)
            catch_up = self.current is not None or self.finished
        if catch_up:
            self._service._call(listener, self)

    def prioritize(self, pitches: Iterable[int]) -> None:
        """Generate these pitches next (e.g. notes being played that are not ready)."""
        self._service._prioritize(self, pitches)

    def set_priority(self, priority: float) -> None:
        """Lower numbers are served first; ties go to the earlier request."""
        with self._service._cond:
            self.priority = float(priority)
            self._service._cond.notify_all()

    def cancel(self) -> None:
        """Stop working on this bank (within one batch); its partial bank stays usable."""
        self._service._cancel(self)

    def __repr__(self) -> str:
        done, total = self._progress
        return f"<BankHandle {self.latent_id} {self.state} {done}/{total}>"


@dataclass
class ServiceStats:
    generated_notes: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_write_errors: int = 0
    partials_dropped: int = 0  # cancelled requests' partial banks over their budget, not kept
    failures: int = 0
    warm_up_s: float = 0.0  # model load (if not loaded yet) and first trace
    seconds_per_note: float = 0.0  # generator time per note, smoothed
    generate_s: float = 0.0  # total time in the generator
    process_s: float = 0.0  # total time turning its output into bank notes


class BankService:
    """A worker thread that owns the model and turns latents into NoteBanks."""

    def __init__(self, model: GanSynth | ModelSource, settings: BuildSettings = BuildSettings(),
                 cache: BankCache | None = None, *, batch_size: int | None = None,
                 batch_seconds: float = 1.0, preload: bool = True,
                 process: bool = False, generator: NoteGenerator | None = None,
                 fallback: NoteGenerator | None = None) -> None:
        self.source = model if isinstance(model, ModelSource) else ModelSource(model=model)
        self._primary: NoteGenerator = generator or self.own_generator(self.source, settings,
                                                                        process)
        self._fallback = fallback
        self._fallback_starter: threading.Thread | None = None  # its background start
        self._fallback_checked = False  # its stamp compared with the model's
        self._active = self._primary
        self._primary_back = threading.Event()  # the watcher saw a fallen-back primary answer
        self.generator_note = ""  # why the fallback is generating ("" while the primary is)
        self.settings = settings
        self.cache = cache
        # cancelled requests' partial banks share an eighth of the cache (256 MB of 2 GiB)
        self.partial_budget_bytes = (cache.max_bytes // 8) if cache is not None else 0
        self.batch_seconds = float(batch_seconds)
        self._max_batch = batch_size
        self._batch = 1
        self.preload = preload
        self.stats = ServiceStats()
        self._cond = threading.Condition()
        self._jobs: dict[str, BankHandle] = {}
        self._seq = itertools.count()
        self._closed = False
        self._warm = False
        self._ready = threading.Event()
        self._load_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gansynth-bank-worker",
                                        daemon=True)
        self._started = False

    @staticmethod
    def own_generator(source: ModelSource, settings: BuildSettings,
                      process: bool) -> NoteGenerator:
        """This machine's generator for `source`: a child process for a model folder not
        loaded here yet (`process`), else the model in this process."""
        if process and source.path is not None and not source.loaded:
            return GeneratorProcess(source.path, settings, source.name)
        return LocalGenerator(source, settings)

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> "BankService":
        if not self._started:
            self._started = True
            self._thread.start()
            if self._fallback is not None:
                threading.Thread(target=self._watch_primary, name="gansynth-generator-watch",
                                 daemon=True).start()
                if self.preload:
                    self._fallback_starter = threading.Thread(
                        target=self._start_fallback, name="gansynth-fallback-start",
                        daemon=True)
                    self._fallback_starter.start()
        return self

    def _start_fallback(self) -> None:
        """Load the fallback's model now, so that a remote found unreachable later hands
        over at once instead of after a model load. The worker waits for this before it
        uses the fallback (a generator is used by one thread at a time)."""
        assert self._fallback is not None
        try:
            self._fallback.start()
        except Exception as exc:  # noqa: BLE001 - the worker tries again if it needs it
            if not self._closed:
                log.warning("bank worker: %s did not start in the background (%s); "
                            "it is tried again if the remote becomes unreachable",
                            self._fallback.name, exc)

    def _wait_fallback_started(self) -> None:
        starter = self._fallback_starter
        if starter is not None and starter is not threading.current_thread():
            starter.join()

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop the worker (after its current batch); unfinished requests are cancelled."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._started:
            self._thread.join(timeout)
        starter = self._fallback_starter
        if starter is not None and starter.is_alive() and self._fallback is not None:
            self._fallback.close()  # a child still loading: its start fails, quietly
            starter.join(timeout)
        with self._cond:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            self._finish(job, CANCELLED)
        for generator in (self._primary, self._fallback):
            if generator is not None:
                generator.close()

    @property
    def in_process(self) -> bool:
        """True when the model runs in this process (False: a child process or a server)."""
        return isinstance(self._active, LocalGenerator)

    @property
    def generator(self) -> NoteGenerator:
        """The generator making notes now (the fallback while the primary is unreachable)."""
        return self._active

    @property
    def fallback(self) -> NoteGenerator | None:
        """The generator that takes over while the primary is unreachable (None: none)."""
        return self._fallback

    @property
    def generator_pid(self) -> int | None:
        """The child process generating, if that is where the model runs (for benchmarks)."""
        return getattr(self._active, "pid", None)

    def __enter__(self) -> "BankService":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stamp(self) -> ModelStamp | None:
        return self.source.stamp

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded and warmed up (True), or it failed / timed out.

        With `preload` the worker does this as soon as it is idle; a request for a
        new latent then costs only its own generation.
        """
        self._ready.wait(timeout)
        return self._warm

    def status(self) -> dict:
        """Plain numbers for status displays and OSC: readiness, counters, open requests."""
        with self._cond:
            jobs = [{"latent_id": j.latent_id, "state": j.state, "done": j.progress[0],
                     "total": j.progress[1], "priority": j.priority}
                    for j in self._jobs.values()]
        return {"ready": self._warm, "load_error": str(self._load_error or ""),
                "generator": self._active.name, "generator_note": self.generator_note,
                "cache_corrupt_files": self.cache.corrupt_files if self.cache else 0,
                "jobs": jobs, **asdict(self.stats)}

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._jobs)

    # --- requests --------------------------------------------------------------------
    def request(self, latent: np.ndarray, priority_pitches: Iterable[int] = (),
                priority: float = 0.0, listener: Listener | None = None) -> BankHandle:
        """A handle for the bank of `latent`; the worker fills it in the background.

        A request for a latent already being worked on returns that handle (its
        priority raised to the higher of the two, the pitches moved forward).
        `listener` is added before the worker can see the request (see
        BankHandle.add_listener).
        """
        z = canonical_latent(latent)
        if not np.all(np.isfinite(z)):
            raise ValueError("latent contains NaN or infinity")
        stamp = self.source.stamp
        if stamp is not None and len(z) != stamp.latent_size:
            raise ValueError(f"latent has {len(z)} values, the model takes {stamp.latent_size}")
        lid = latent_id(z)
        first = list(priority_pitches)
        with self._cond:
            if self._closed:
                raise RuntimeError("bank service is closed")
            job = self._jobs.get(lid)
            if job is not None:
                job.priority = min(job.priority, float(priority))
                if job._schedule is not None:
                    job._schedule.prioritize(first)
                else:
                    job._first = first + [p for p in job._first if p not in first]
            else:
                job = BankHandle(self, z, priority, next(self._seq), first)
                self._jobs[lid] = job
            if listener is not None:
                job._listeners.append(listener)
            catch_up = listener is not None and (job.current is not None or job.finished)
            self._cond.notify_all()
        if catch_up:  # a shared request that already has a bank
            self._call(listener, job)
        return job

    def _prioritize(self, job: BankHandle, pitches: Iterable[int]) -> None:
        pitches = [int(p) for p in pitches]
        with self._cond:
            if job._schedule is not None:
                job._schedule.prioritize(pitches)
            else:
                job._first = pitches + [p for p in job._first if p not in pitches]
            self._cond.notify_all()

    def _cancel(self, job: BankHandle) -> None:
        with self._cond:
            if self._jobs.get(job.latent_id) is job:
                del self._jobs[job.latent_id]
            running = job.state == RUNNING
            self._cond.notify_all()
        if not running:
            self._finish(job, CANCELLED)
        # A running job is finished by the worker after its batch (and its partial
        # bank saved), because only the worker may touch its arena.

    # --- worker thread ---------------------------------------------------------------
    def _next_job(self) -> BankHandle | None:
        jobs = [j for j in self._jobs.values() if not j.finished]
        if not jobs:
            return None
        unprobed = [j for j in jobs if not j._probed]
        if unprobed and (self.source.stamp is not None or self._load_error is None):
            jobs = unprobed  # cache look-ups are cheap: do them all before generating
        return min(jobs, key=lambda j: (j.priority, j.seq))

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._next_job()
                while job is None and not self._closed:
                    if self.preload and not self._warm and self._load_error is None:
                        break  # idle: load and warm up the model now, not on the first note
                    self._cond.wait()
                    job = self._next_job()
                if self._closed:
                    return
                if job is not None:
                    job.state = RUNNING
            try:
                if job is None:
                    self._ensure()
                else:
                    self._advance(job)
            except Exception as exc:  # a worker must survive anything one job does
                if job is None:
                    log.error("bank worker: cannot load the model: %s", exc)
                    with self._cond:
                        failed = list(self._jobs.values())
                        self._jobs.clear()
                    for other in failed:
                        self._fail(other, exc)
                else:
                    log.exception("bank worker: bank %s failed", job.latent_id)
                    self._fail(job, exc)

    def _ensure(self) -> NoteGenerator:
        """The generator to use, loaded and warmed up (a fallen-back service goes back to
        its primary once the watcher saw it answer). Raises if no generator can run."""
        if self._load_error is not None:
            raise self._load_error
        if self._active is not self._primary and self._primary_back.is_set():
            self._primary_back.clear()
            self._switch(self._primary, "")
        generator = self._active
        if generator is self._fallback:
            self._wait_fallback_started()
        if self._warm and generator.running and (generator is not self._fallback
                                                  or self._fallback_checked):
            return generator
        try:
            stamp = generator.start()
        except GeneratorUnavailable as exc:
            if generator is self._primary and self._fallback is not None:
                self._switch(self._fallback, f"{generator.name} unreachable ({exc})")
                return self._ensure()
            if not self._warm:
                self._load_error = exc
                self._ready.set()
            raise
        except Exception as exc:
            if not self._warm:  # the model never loaded: remembered, later requests fail fast
                self._load_error = exc
                self._ready.set()
            raise
        known = self.source.stamp
        if self._fallback is not None and known is not None and stamp != known:
            raise GeneratorError(f"{generator.name} runs model {stamp.name!r} "
                                 f"({stamp.fingerprint[:12]}), not {known.name!r} "
                                 f"({known.fingerprint[:12]}): start it with the same model")
        self.source.adopt_stamp(stamp)
        if generator is self._fallback:
            self._fallback_checked = True
        if not self._warm:
            self.stats.warm_up_s = generator.warm_up_s
            self._warm = True
            self._ready.set()
        return generator

    def _switch(self, generator: NoteGenerator, note: str) -> None:
        if note:
            log.warning("bank worker: %s; generating with %s", note, generator.name)
        else:
            log.warning("bank worker: back to %s", generator.name)
        self._active = generator
        self.generator_note = note

    def _watch_primary(self) -> None:
        """While the fallback generates, ask the primary every RETRY_PRIMARY_S (its own
        thread: a dead server's time-outs never delay a batch)."""
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: self._closed, RETRY_PRIMARY_S):
                    return
            if self._active is self._primary or self._primary_back.is_set():
                continue
            try:
                self._primary.start()
            except GeneratorError:
                continue
            except Exception:  # noqa: BLE001 - a watcher must not die; try again later
                log.debug("generator watch", exc_info=True)
                continue
            self._primary_back.set()
            with self._cond:
                self._cond.notify_all()

    def _stamp(self) -> ModelStamp:
        stamp = self.source.stamp
        if stamp is None:
            self._ensure()
            stamp = self.source.stamp
        assert stamp is not None
        return stamp

    def _advance(self, job: BankHandle) -> None:
        """One step of one job: its cache look-up, or one batch of generation."""
        if not job._probed:
            self._probe(job)
        else:
            with self._cond:
                wanted = self._jobs.get(job.latent_id) is job
                assert job._schedule is not None
                pitches = job._schedule.take(self._batch) if wanted else []
            if pitches:
                self._generate(job, pitches)
        with self._cond:
            wanted = self._jobs.get(job.latent_id) is job
            if wanted and not job.finished:
                job.state = QUEUED
        if job.finished:
            return
        if not wanted:
            self._stop_cancelled(job)
        elif job._schedule is not None and job._schedule.finished:
            self._complete(job)

    def _probe(self, job: BankHandle) -> None:
        stamp = self._stamp()
        if len(job.latent) != stamp.latent_size:
            raise ValueError(f"latent has {len(job.latent)} values, the model takes "
                             f"{stamp.latent_size}")
        job.key = bank_key(stamp.fingerprint, job.latent, self.settings.sample_rate,
                           self.settings.settings_id)
        model_pitches = stamp.pitch_range
        arena = BankArena(self._capacity(stamp), self.settings.sample_rate, job.latent_id,
                          note_gain=self.settings.note_gain)
        cached = self.cache.load(job.key) if self.cache is not None else None
        with self._cond:
            job._schedule = PitchSchedule(model_pitches, job._first)
            job._arena = arena
            job._probed = True
        if cached is not None and cached.complete:
            self.stats.cache_hits += 1
            job.from_cache = True
            job._progress = (len(model_pitches), len(model_pitches))
            self._publish(job, cached)
            self._finish(job, DONE)
            return
        self.stats.cache_misses += 1
        if cached is not None:  # a partial bank saved earlier: resume it
            for slot in cached.slots.values():
                arena.add_stored(slot.pitch, cached.samples[slot.start:slot.end], slot.gain,
                                 slot.loop_start - slot.start, slot.loop_end - slot.start,
                                 slot.peak, slot.rms)
            with self._cond:
                job._schedule.mark_done(cached.slots)
            job._progress = (job._schedule.done, job._schedule.total)
            self._publish(job, arena.snapshot(complete=False))
        else:
            job._progress = (0, len(model_pitches))

    def _capacity(self, stamp: ModelStamp) -> int:
        frames = len(stamp.pitch_range) * max_note_frames(
            stamp.audio_length, stamp.sample_rate, self.settings)
        for pitch, source in self._extensions(stamp).items():
            frames += max_note_frames(stamp.audio_length, stamp.sample_rate, self.settings,
                                      pitch - source)
        return frames

    def _extensions(self, stamp: ModelStamp) -> dict[int, int]:
        return extension_sources(stamp.pitch_range, self.settings.extend_step,
                                 self.settings.highest_pitch)

    def _generate(self, job: BankHandle, pitches: list[int]) -> None:
        generator = self._ensure()
        stamp = self._stamp()
        assert job._arena is not None and job._schedule is not None
        extensions = self._extensions(stamp)
        try:
            notes, generate_s, process_s = generator.render(job.latent, pitches, extensions)
        except GeneratorUnavailable as exc:
            if generator is not self._primary or self._fallback is None:
                raise
            self._switch(self._fallback, f"{generator.name} unreachable ({exc})")
            notes, generate_s, process_s = self._ensure().render(job.latent, pitches, extensions)
        self.stats.generate_s += generate_s
        self.stats.process_s += process_s
        self._tune_batch(generate_s / len(pitches), stamp)
        for note in notes:
            job._arena.add(note)
        self.stats.generated_notes += len(pitches)
        with self._cond:
            job._schedule.mark_done(pitches)
            finished = job._schedule.finished
            job._progress = (job._schedule.done, job._schedule.total)
        self._publish(job, job._arena.snapshot(complete=finished))

    def _tune_batch(self, per_note_s: float, stamp: ModelStamp) -> None:
        known = self.stats.seconds_per_note
        self.stats.seconds_per_note = per_note_s if not known else 0.7 * known + 0.3 * per_note_s
        limit = int(self._max_batch or stamp.batch_size or 1)
        self._batch = max(1, min(limit, int(self.batch_seconds / self.stats.seconds_per_note)))

    def _complete(self, job: BankHandle) -> None:
        assert job._arena is not None
        bank = job.current if job.current is not None and job.current.complete \
            else job._arena.snapshot(complete=True)
        self._publish(job, bank)
        self._save(job, bank)
        self._finish(job, DONE)

    def _stop_cancelled(self, job: BankHandle) -> None:
        if job._arena is not None and job._arena.pitches and job.current is not None:
            if self.cache is None or self.cache.make_room_for_partial(
                    job.current.nbytes, self.partial_budget_bytes):
                self._save(job, job.current)
            else:
                self.stats.partials_dropped += 1
        self._finish(job, CANCELLED)

    def _save(self, job: BankHandle, bank: NoteBank) -> None:
        if self.cache is None or job.key is None:
            return
        stamp = self._stamp()
        meta = {"model_fingerprint": stamp.fingerprint, "model_name": stamp.name,
                "settings_id": self.settings.settings_id, "latent": encode_latent(job.latent)}
        try:
            self.cache.save(job.key, bank, meta)
        except OSError as exc:
            self.stats.cache_write_errors += 1
            if self.stats.cache_write_errors == 1:
                log.warning("bank cache: cannot write to '%s' (%s); banks stay in memory only",
                            self.cache.folder, exc)

    # --- publishing ------------------------------------------------------------------
    def _publish(self, job: BankHandle, bank: NoteBank) -> None:
        job.current = bank
        self._notify(job)

    def _notify(self, job: BankHandle) -> None:
        with self._cond:
            listeners = list(job._listeners)
        for listener in listeners:
            self._call(listener, job)

    @staticmethod
    def _call(listener: Listener, job: BankHandle) -> None:
        try:
            listener(job)
        except Exception:
            log.exception("bank listener failed")

    def _finish(self, job: BankHandle, state: str) -> None:
        with self._cond:
            if self._jobs.get(job.latent_id) is job:
                del self._jobs[job.latent_id]
            if job.finished:
                return
            job.state = state
            job._finished.set()
        self._notify(job)

    def _fail(self, job: BankHandle, exc: BaseException) -> None:
        self.stats.failures += 1
        job.error = exc
        self._finish(job, FAILED)
