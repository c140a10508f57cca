"""Banks on disk: one self-checking file per (model, latent, output rate, settings).

File layout (little-endian), no pickle anywhere:

    b"GSLBANK\\0"  u32 format version  u32 header length H
    H bytes of UTF-8 JSON (rate, slots, scale, model and latent ids, ...)
    zero padding to a 64-byte boundary
    int16 samples (the NoteBank's flat array)
    32-byte SHA-256 of everything before it

Writes are atomic: a hidden temp file in the same folder is written, fsynced
and renamed over the final name, then the folder is fsynced, so a reader (in
this or another process) sees either no bank or a whole one, and a writer
killed mid-write leaves only a hidden temp file, removed later.

Loads read the samples into memory (one pass, hashed as it is read) and check
the header, the size and the SHA-256 before anything is played: a truncated,
corrupt or inconsistent file is reported once, removed, counted in
`corrupt_files` and treated as missing, so it gets regenerated. Every header
number is checked as strictly as the engine checks a bank
(`engine.layers.PitchTable.build`: notes non-empty and inside the samples,
loop points in order, finite positive gains and scale), so a file the cache
accepts is one the engine plays; a bank the engine would refuse again on
every load would otherwise also stay "recently used" and never be evicted.

Banks are read, not memory-mapped: a mapped file truncated by another
process kills this one with SIGBUS when a page past the new end is touched
(by the audio callback, even), and a mapped page the kernel dropped under
memory pressure is read back from disk inside the audio callback. A read
bank is private memory, so `NoteBank.nbytes` is exactly what it costs; a
file replaced or evicted after loading changes nothing for whoever loaded it.

Least-recently-used eviction keeps the folder under a size cap; "used" is the
file's mtime, set on every load (atime is unreliable with noatime/relatime).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np

from ..documents import DocumentError, parse_json, shown
from ..paths import cache_dir, child_path
from .bank import NoteBank, NoteSlot
from .resident import lock_in_memory

log = logging.getLogger(__name__)

MAGIC = b"GSLBANK\0"
FORMAT_VERSION = 1
SUFFIX = ".gslbank"
DEFAULT_MAX_BYTES = 2 * 1024**3
_PREAMBLE = struct.Struct("<8sII")
_ALIGN = 64
_DIGEST_BYTES = 32
_MAX_HEADER = 4 * 1024 * 1024
_MAX_SAMPLES = 1 << 31  # 4 GiB of int16; a whole bank at 192 kHz is ~100 M samples
_MAX_LATENT_ID = 256
_CHUNK_BYTES = 1 << 20
_STALE_TEMP_S = 24 * 3600.0

_reported_lock = threading.Lock()
_reported: set[str] = set()


class CorruptBankFile(Exception):
    """A cache file that must not be played (internal: loads turn it into a miss)."""


def bank_folder(root: str | Path | None = None) -> Path:
    """Where banks live: `root`/banks, root defaulting to the platform cache dir."""
    return (Path(root).expanduser() if root is not None else cache_dir()) / "banks"


def canonical_latent(latent: np.ndarray) -> np.ndarray:
    """The latent as the model sees it (float32, 1-D): what keys and ids are made from."""
    z = np.asarray(latent, dtype=np.float64).reshape(-1)
    return np.ascontiguousarray(z.astype("<f4"))


def latent_id(latent: np.ndarray) -> str:
    return hashlib.sha256(canonical_latent(latent).tobytes()).hexdigest()[:16]


def bank_key(model_fingerprint: str, latent: np.ndarray, sample_rate: int,
             settings_id: str) -> str:
    """Cache key: model fingerprint, latent bytes, output rate, settings, format version."""
    digest = hashlib.sha256(
        f"gansynth-live bank v{FORMAT_VERSION}|{model_fingerprint}|{int(sample_rate)}|"
        f"{settings_id}|".encode())
    digest.update(canonical_latent(latent).tobytes())
    return digest.hexdigest()[:40]


@dataclass(frozen=True)
class CacheEntry:
    """One cached bank as `cache list` shows it (from its header; payload unchecked)."""

    path: Path
    key: str
    size_bytes: int
    last_used: float
    readable: bool
    model_fingerprint: str = ""
    model_name: str = ""
    latent_id: str = ""
    sample_rate: int = 0
    notes: int = 0
    complete: bool = False


def _payload_offset(header_len: int) -> int:
    raw = _PREAMBLE.size + header_len
    return -(-raw // _ALIGN) * _ALIGN


def _encode_header(key: str, bank: NoteBank, meta: dict[str, Any]) -> bytes:
    slots = [[s.pitch, s.start, s.end, s.loop_start, s.loop_end, s.peak, s.rms, s.gain]
             for s in sorted(bank.slots.values(), key=lambda s: s.pitch)]
    header = {
        "key": key,
        "sample_rate": int(bank.sample_rate),
        "dtype": "<i2",
        "scale": float(bank.scale),
        "samples": int(len(bank.samples)),
        "latent_id": bank.latent_id,
        "complete": bool(bank.complete),
        "created": time.time(),
        "slots": slots,
        **meta,
    }
    return json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _read_header(fh: BinaryIO, size: int) -> tuple[dict[str, Any], int]:
    """(header dict, payload offset); raises CorruptBankFile."""
    if size < _PREAMBLE.size:
        raise CorruptBankFile(f"truncated ({size} bytes)")
    magic, version, header_len = _PREAMBLE.unpack(fh.read(_PREAMBLE.size))
    if magic != MAGIC:
        raise CorruptBankFile("not a gansynth-live bank file")
    if version != FORMAT_VERSION:
        raise CorruptBankFile(f"format version {version}, expected {FORMAT_VERSION}")
    if header_len > min(_MAX_HEADER, size - _PREAMBLE.size):
        raise CorruptBankFile(f"header length {header_len} does not fit a {size}-byte file")
    try:
        header = parse_json(fh.read(header_len).decode("utf-8"))
    except (UnicodeDecodeError, DocumentError) as exc:  # deep nesting included
        raise CorruptBankFile(f"unreadable header ({exc})") from None
    if not isinstance(header, dict):
        raise CorruptBankFile("header is not a JSON object")
    return header, _payload_offset(header_len)


@dataclass(frozen=True)
class _Header:
    """The header fields a bank is made from, each checked."""

    samples: int
    sample_rate: int
    scale: float
    slots: dict[int, NoteSlot]
    latent_id: str
    complete: bool


def _check_header(header: dict[str, Any], key: str) -> _Header:
    """The header's bank fields (for the bank under `key`), as strictly checked as the
    engine checks a bank. Raises CorruptBankFile."""
    if header.get("key") != key:
        raise CorruptBankFile(f"holds key {shown(header.get('key'))}, not {key!r}")
    if header.get("dtype") != "<i2":
        raise CorruptBankFile(f"sample type {shown(header.get('dtype'))} is not '<i2'")
    n = _int(header, "samples", 0, _MAX_SAMPLES)
    rate = _int(header, "sample_rate", 1, 10**6)
    scale = header.get("scale")
    if not _real(scale) or scale <= 0:
        raise CorruptBankFile(f"bad scale {shown(scale)}")
    latent = header.get("latent_id", "")
    if not isinstance(latent, str) or len(latent) > _MAX_LATENT_ID:
        raise CorruptBankFile(f"bad latent id {shown(latent)}")
    complete = header.get("complete", False)
    if not isinstance(complete, bool):
        raise CorruptBankFile(f"bad 'complete' flag {shown(complete)}")
    return _Header(n, rate, float(scale), _slots(header.get("slots"), n), latent, complete)


def _int(header: dict[str, Any], name: str, lo: int, hi: int) -> int:
    value = header.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise CorruptBankFile(f"header field {name!r} is {shown(value)}, expected an int in "
                              f"{lo}..{hi}")
    return value


def _real(value: Any) -> bool:
    """A finite number: compared, never float()-converted (a 400-digit int overflows that)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and -1e300 <= value <= 1e300


def _slots(raw: Any, n: int) -> dict[int, NoteSlot]:
    """Notes as the engine needs them: 1+, start < end <= n, loop points in order, levels
    finite and >= 0, gains finite and > 0 (PitchTable.build refuses the rest)."""
    if not isinstance(raw, list) or not raw:
        raise CorruptBankFile("header field 'slots' is not a list of notes")
    slots: dict[int, NoteSlot] = {}
    for item in raw:
        if not isinstance(item, list) or len(item) != 8:
            raise CorruptBankFile(f"bad slot {shown(item)}")
        ints, floats = item[:5], item[5:]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints) or not all(
                _real(v) for v in floats):
            raise CorruptBankFile(f"bad slot {shown(item)}")
        pitch, start, end, loop_start, loop_end = ints
        peak, rms, gain = floats
        if not (0 <= pitch <= 127 and 0 <= start < end <= n
                and start <= loop_start <= loop_end <= end
                and peak >= 0 and rms >= 0 and gain > 0) or pitch in slots:
            raise CorruptBankFile(f"inconsistent slot {shown(item)} for {n} samples")
        slots[pitch] = NoteSlot(pitch, start, end, loop_start, loop_end, float(peak),
                                float(rms), float(gain))
    return slots


class BankCache:
    """A folder of bank files with atomic writes, verified loads and LRU eviction.

    Any thread may call any method; files are the only shared state, so two
    processes may share a folder.
    """

    def __init__(self, folder: str | Path | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else bank_folder()
        self.max_bytes = int(max_bytes)
        self.corrupt_files = 0  # counted for status displays

    # --- paths -----------------------------------------------------------------------
    def path_for(self, key: str) -> Path:
        return child_path(self.folder, key, SUFFIX, what="bank key")

    def _bank_files(self) -> Iterator[Path]:
        try:
            yield from (p for p in self.folder.iterdir()
                        if p.name.endswith(SUFFIX) and not p.name.startswith("."))
        except FileNotFoundError:
            return

    # --- reading ---------------------------------------------------------------------
    def load(self, key: str) -> NoteBank | None:
        """The cached bank for `key`, read into memory and verified, or None.

        A file that fails verification is logged once, deleted, counted and
        reported as missing. Costs one read of the file (hashed as read).
        """
        path = self.path_for(key)
        try:
            bank = self._load_verified(path, key)
        except FileNotFoundError:
            return None
        except (CorruptBankFile, OSError, ValueError) as exc:
            self._discard(path, exc)
            return None
        try:
            os.utime(path)  # mark as recently used for LRU eviction
        except OSError:
            pass
        return bank

    def _load_verified(self, path: Path, key: str) -> NoteBank:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            raw, offset = _read_header(fh, size)
            header = _check_header(raw, key)
            expected = offset + 2 * header.samples + _DIGEST_BYTES
            if size != expected:  # checked before allocating or reading anything
                raise CorruptBankFile(f"size {size} bytes, expected {expected} (truncated?)")
            samples = _read_payload(fh, offset, header.samples)
        return NoteBank(sample_rate=header.sample_rate, samples=samples, slots=header.slots,
                        scale=header.scale, latent_id=header.latent_id,
                        complete=header.complete)

    def _discard(self, path: Path, exc: BaseException) -> None:
        self.corrupt_files += 1
        with _reported_lock:
            first = str(path) not in _reported
            _reported.add(str(path))
        if first:
            log.warning("bank cache: '%s' is unusable (%s); removed, the bank will be "
                        "regenerated", path, exc)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:
            if first:
                log.warning("bank cache: cannot remove '%s': %s", path, err)

    # --- writing ---------------------------------------------------------------------
    def save(self, key: str, bank: NoteBank, meta: dict[str, Any] | None = None) -> Path:
        """Write `bank` under `key` atomically, then evict old banks over the cap.

        `meta` adds JSON-able fields to the header (model name, latent, ...).
        Raises OSError when the folder is not writable or the disk is full.
        """
        if bank.samples.dtype.kind != "i" or bank.samples.dtype.itemsize != 2:
            raise ValueError("only int16 banks are cached")
        final = self.path_for(key)
        header = _encode_header(key, bank, dict(meta or {}))
        payload = np.ascontiguousarray(bank.samples, dtype="<i2")
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                digest = hashlib.sha256()
                head = _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header)) + header
                head += b"\0" * (_payload_offset(len(header)) - len(head))
                _write_chunks(fh, memoryview(head), digest)
                _write_chunks(fh, memoryview(payload).cast("B"), digest)
                fh.write(digest.digest())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        _fsync_dir(self.folder)
        with _reported_lock:
            _reported.discard(str(final))
        self.evict(keep={key})
        return final

    # --- housekeeping ----------------------------------------------------------------
    def entries(self) -> list[CacheEntry]:
        """Cached banks, most recently used first (headers only, not verified)."""
        out = []
        for path in self._bank_files():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            key = path.name[: -len(SUFFIX)]
            try:
                with open(path, "rb") as fh:
                    raw, _ = _read_header(fh, st.st_size)
                header = _check_header(raw, key)
                out.append(CacheEntry(
                    path=path, key=key, size_bytes=st.st_size, last_used=st.st_mtime,
                    readable=True,
                    model_fingerprint=_text(raw.get("model_fingerprint")),
                    model_name=_text(raw.get("model_name")),
                    latent_id=header.latent_id, sample_rate=header.sample_rate,
                    notes=len(header.slots), complete=header.complete))
            except (CorruptBankFile, OSError, ValueError):
                out.append(CacheEntry(path=path, key=key, size_bytes=st.st_size,
                                      last_used=st.st_mtime, readable=False))
        out.sort(key=lambda e: e.last_used, reverse=True)
        return out

    def total_bytes(self) -> int:
        return sum(e.size_bytes for e in self.entries())

    def make_room_for_partial(self, nbytes: int, budget_bytes: int) -> bool:
        """Whether a partial bank of `nbytes` may be saved, deleting the oldest partial banks
        until all partial banks together fit `budget_bytes`.

        Partial banks are what a cancelled request leaves (kept so the next request for
        that latent resumes); a flood of cancelled requests (`/corner/N/random` over and
        over) must not push the user's finished banks out of the cache, so partial banks
        live within their own budget."""
        if nbytes > budget_bytes:
            return False
        partial = [e for e in self.entries() if e.readable and not e.complete]
        total = sum(e.size_bytes for e in partial)
        for entry in sorted(partial, key=lambda e: e.last_used):
            if total + nbytes <= budget_bytes:
                break
            try:
                entry.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("bank cache: cannot evict '%s': %s", entry.path, exc)
                continue
            total -= entry.size_bytes
        return total + nbytes <= budget_bytes

    def evict(self, keep: set[str] | frozenset[str] = frozenset()) -> list[Path]:
        """Delete least recently used banks until the folder fits `max_bytes`."""
        self.remove_stale_temps()
        files = []
        for path in self._bank_files():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = []
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path.name[: -len(SUFFIX)] in keep:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("bank cache: cannot evict '%s': %s", path, exc)
                continue
            total -= size
            removed.append(path)
        return removed

    def remove_stale_temps(self, max_age_s: float = _STALE_TEMP_S) -> int:
        """Remove temp files left by writers that died (or are older than `max_age_s`)."""
        count = 0
        now = time.time()
        try:
            names = [p for p in self.folder.iterdir()
                     if p.name.startswith(".") and p.name.endswith(".tmp")]
        except FileNotFoundError:
            return 0
        for path in names:
            parts = path.name.split(".")
            pid = int(parts[2]) if len(parts) == 5 and parts[2].isdigit() else None
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            if age > max_age_s or (pid is not None and not _pid_alive(pid)):
                try:
                    path.unlink()
                    count += 1
                except OSError:
                    pass
        return count

    def clear(self) -> tuple[int, int]:
        """Remove every bank (and stale temp file); (files removed, bytes freed)."""
        self.remove_stale_temps()
        count = freed = 0
        for path in list(self._bank_files()):
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            count += 1
            freed += size
        return count, freed


def _read_payload(fh: BinaryIO, offset: int, n: int) -> np.ndarray:
    """The n samples after `offset`, read into a new array and checked against the digest.

    The file's size was checked against the header first, so the allocation is
    bounded by the file; a file cut short while being read is a CorruptBankFile.
    """
    digest = hashlib.sha256()
    fh.seek(0)
    head = fh.read(offset)
    if len(head) != offset:
        raise CorruptBankFile("truncated while reading")
    digest.update(head)
    samples = np.empty(n, dtype="<i2")
    lock_in_memory(samples)  # resident before the audio thread reads it (resident.py)
    view = memoryview(samples).cast("B")
    at = 0
    while at < len(view):
        got = fh.readinto(view[at:at + _CHUNK_BYTES])
        if not got:
            raise CorruptBankFile(f"truncated while reading ({at} of {len(view)} sample bytes)")
        digest.update(view[at:at + got])
        at += got
    if fh.read(_DIGEST_BYTES) != digest.digest():
        raise CorruptBankFile("checksum mismatch")
    return samples


def _text(value: Any) -> str:
    """A header string for display; anything else shows as empty."""
    return value if isinstance(value, str) else ""


def _write_chunks(fh: BinaryIO, data: memoryview, digest: Any) -> None:
    """Write in 1 MiB pieces, hashing as it goes (kept separate so tests can slow it)."""
    for at in range(0, len(data), _CHUNK_BYTES):
        piece = data[at:at + _CHUNK_BYTES]
        digest.update(piece)
        fh.write(piece)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def encode_latent(latent: np.ndarray) -> str:
    """Base64 of the canonical float32 latent (stored in headers, shown by tools)."""
    return base64.b64encode(canonical_latent(latent).tobytes()).decode("ascii")


def decode_latent(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text.encode("ascii")), dtype="<f4").astype(np.float32)
