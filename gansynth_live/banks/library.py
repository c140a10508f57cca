"""A library of banks built at once: many latents, spread over several bank services.

`bank build` uses this to fill the cache ahead of a gig or for a whole preset
library. Each latent is an ordinary bank-service request, so a library bank is
made, cached and resumed exactly as a live one (one path to trust): what this
adds is the fan-out. Several services, each with its own generator (one HTTP
stream each to a generate server, whose replicas share the work), take the
requests round-robin; a failed bank is asked again of the next service (a
replica that died mid-bank, retried by the server's restart), at most
`retries` times. A bank counts only when its service marked it complete, and
the cache writes it atomically (`BankCache.save`), so an interrupted build
leaves finished banks and, at most, partial ones a rerun resumes; a rerun
skips what the cache already holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .service import BankHandle, BankService

ProgressFn = Callable[[int, int], None]  # (notes done, notes in all), any thread


@dataclass
class LibraryResult:
    """What a build did: banks made now, found in the cache, and failed (with why)."""

    built: int = 0
    cached: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (latent id, error)
    retried: int = 0
    seconds: float = 0.0
    notes: int = 0  # notes generated now

    @property
    def banks(self) -> int:
        return self.built + self.cached


def build_library(latents: Sequence[np.ndarray], services: Sequence[BankService], *,
                  retries: int = 2, progress: ProgressFn | None = None,
                  poll_s: float = 0.2) -> LibraryResult:
    """Make (or find) the bank of every latent, spread over `services` (started here,
    not closed: the caller owns them)."""
    if not services:
        raise ValueError("build_library needs at least one bank service")
    t0 = time.perf_counter()
    for service in services:
        service.start()
    result = LibraryResult()
    tries: dict[int, int] = {}
    pending: dict[int, BankHandle] = {}
    latest: dict[int, BankHandle] = {}
    turn = 0

    def ask(i: int) -> None:
        nonlocal turn
        service = services[turn % len(services)]
        turn += 1
        pending[i] = latest[i] = service.request(latents[i], priority=float(i))

    for i in range(len(latents)):
        ask(i)
    while pending:
        for i, handle in list(pending.items()):
            if not handle.finished:
                continue
            del pending[i]
            if handle.state == "done":
                if handle.from_cache:
                    result.cached += 1
                else:
                    result.built += 1
            elif tries.get(i, 0) < retries:
                tries[i] = tries.get(i, 0) + 1
                result.retried += 1
                ask(i)
            else:
                result.failed.append((handle.latent_id, str(handle.error or handle.state)))
        if progress is not None:
            progress(*_notes(latest))
        if pending:
            next(iter(pending.values())).wait(poll_s)
    result.seconds = time.perf_counter() - t0
    result.notes = sum(service.stats.generated_notes for service in services)
    if progress is not None:
        progress(*_notes(latest))
    return result


def _notes(handles: dict[int, BankHandle]) -> tuple[int, int]:
    """(notes done, notes in all) over the latest request of every latent (a bank's total
    is known once its service looked it up)."""
    done = total = 0
    for handle in handles.values():
        d, t = handle.progress
        done += d
        total += t
    return done, total
