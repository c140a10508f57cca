"""The bank cache: round trip, corrupt and truncated files, kills mid-write, readers."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from gansynth_live.banks import cache as cache_mod
from gansynth_live.banks.arena import BankArena
from gansynth_live.banks.cache import MAGIC, BankCache, bank_key, latent_id
from gansynth_live.paths import UnsafePathError

ROOT = Path(__file__).resolve().parents[3]


def make_bank(seed: int = 0, notes: int = 5, length: int = 20000, complete: bool = True):
    rng = np.random.default_rng(seed)
    arena = BankArena(notes * length, 48000, f"latent{seed}")
    for i in range(notes):
        data = rng.integers(-32767, 32768, length).astype(np.int16)
        arena.add_stored(60 + i, data, 0.1 * (i + 1), 100, length - 100, 0.1 * (i + 1), 0.05)
    return arena.snapshot(complete=complete)


def same_bank(a, b) -> bool:
    return (np.array_equal(a.samples, b.samples) and a.slots == b.slots
            and a.sample_rate == b.sample_rate and a.scale == b.scale
            and a.latent_id == b.latent_id and a.complete == b.complete)


def test_round_trip_is_read_into_memory_and_not_pickle(tmp_path):
    cache = BankCache(tmp_path)
    bank = make_bank()
    path = cache.save("k1", bank, {"model_name": "m"})
    loaded = cache.load("k1")
    assert loaded is not None and same_bank(bank, loaded)
    # its own memory (not a mapping of the file: see test_truncating_a_cached_bank_file...)
    assert loaded.samples.flags.owndata and not loaded.samples.flags.writeable
    assert loaded.nbytes == path.stat().st_size - cache_mod._payload_offset(
        int.from_bytes(path.read_bytes()[12:16], "little")) - 32
    raw = path.read_bytes()
    assert raw.startswith(MAGIC)
    header_len = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[16:16 + header_len])
    assert header["model_name"] == "m" and len(header["slots"]) == 5
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_missing_is_none_and_partial_banks_round_trip(tmp_path):
    cache = BankCache(tmp_path)
    assert cache.load("nothing") is None
    partial = make_bank(complete=False)
    cache.save("p", partial)
    assert not cache.load("p").complete


def test_keys_cover_model_latent_rate_settings():
    z = np.random.default_rng(0).standard_normal(256)
    base = bank_key("fp", z, 48000, "s1")
    assert base == bank_key("fp", z.astype(np.float32), 48000, "s1")  # what the model sees
    assert len({base, bank_key("fp2", z, 48000, "s1"), bank_key("fp", z * 1.01, 48000, "s1"),
                bank_key("fp", z, 44100, "s1"), bank_key("fp", z, 48000, "s2")}) == 5
    assert latent_id(z) == latent_id(z.astype(np.float32))


def test_keys_cannot_escape_the_folder(tmp_path):
    cache = BankCache(tmp_path / "banks")
    for bad in ("../evil", "a/b", ".hidden", ""):
        with pytest.raises(UnsafePathError):
            cache.load(bad)


def corrupt_cases():
    def flip_payload(raw: bytes) -> bytes:
        b = bytearray(raw)
        b[len(b) // 2] ^= 0x40
        return bytes(b)

    def flip_header(raw: bytes) -> bytes:
        b = bytearray(raw)
        b[40] ^= 0x01
        return bytes(b)

    return {
        "flipped payload byte": flip_payload,
        "flipped header byte": flip_header,
        "truncated": lambda raw: raw[: len(raw) - 1000],
        "truncated to the header": lambda raw: raw[:300],
        "empty": lambda raw: b"",
        "wrong magic": lambda raw: b"NOTABANK" + raw[8:],
        "garbage": lambda raw: os.urandom(len(raw)),
    }


@pytest.mark.parametrize("case", list(corrupt_cases()))
def test_corrupt_file_is_reported_once_removed_and_missed(tmp_path, caplog, case):
    cache = BankCache(tmp_path)
    path = cache.save("k", make_bank())
    path.write_bytes(corrupt_cases()[case](path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="gansynth_live.banks.cache"):
        assert cache.load("k") is None
        assert cache.load("k") is None
    assert not path.exists()
    assert cache.corrupt_files == 1
    assert len([r for r in caplog.records if "unusable" in r.message]) == 1


def test_consistent_checksum_but_impossible_slots_is_refused(tmp_path):
    """A file whose checksum matches but whose slots point outside the samples."""
    import hashlib

    cache = BankCache(tmp_path)
    path = cache.save("k", make_bank())
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[16:16 + header_len])
    header["slots"][0][2] = header["samples"] + 10  # end past the data
    new_header = json.dumps(header).encode()
    offset = cache_mod._payload_offset(len(new_header))
    old_offset = cache_mod._payload_offset(header_len)
    payload = raw[old_offset:-32]
    head = cache_mod._PREAMBLE.pack(MAGIC, 1, len(new_header)) + new_header
    body = head + b"\0" * (offset - len(head)) + payload
    path.write_bytes(body + hashlib.sha256(body).digest())
    assert cache.load("k") is None and not path.exists()


WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from gansynth_live.banks import cache as cache_mod
    from gansynth_live.banks.arena import BankArena

    real = cache_mod._write_chunks
    calls = []
    def slow(fh, data, digest):
        calls.append(1)
        if len(calls) == 2:  # the payload: write one chunk, then hang
            fh.write(data[:cache_mod._CHUNK_BYTES]); fh.flush()
            print("MID", flush=True)
            time.sleep(60)
        real(fh, data, digest)
    cache_mod._write_chunks = slow
    arena = BankArena(3_000_000, 48000, "new")
    arena.add_stored(60, np.full(3_000_000, 7, np.int16), 1.0, 0, 0, 1.0, 0.5)
    cache_mod.BankCache(sys.argv[1]).save("k", arena.snapshot(True))
""")


def run_writer_and_kill(folder: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "MID"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_write_leaves_no_visible_bank(tmp_path, caplog):
    cache = BankCache(tmp_path)
    run_writer_and_kill(tmp_path)
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and temps[0].name.startswith(".")  # hidden, never a bank
    with caplog.at_level(logging.WARNING):
        assert cache.load("k") is None
        assert cache.entries() == []
    assert "unusable" not in caplog.text  # a miss, not a corrupt bank
    assert cache.remove_stale_temps() == 1  # its writer is dead
    assert list(tmp_path.iterdir()) == []


def test_sigkill_mid_write_keeps_the_previous_bank(tmp_path):
    cache = BankCache(tmp_path)
    old = make_bank(seed=5)
    cache.save("k", old)
    run_writer_and_kill(tmp_path)
    loaded = cache.load("k")
    assert loaded is not None and same_bank(old, loaded)


def test_stale_temps_of_live_writers_are_kept(tmp_path):
    cache = BankCache(tmp_path)
    mine = tmp_path / f".k.{os.getpid()}.abcd1234.tmp"
    mine.write_bytes(b"x")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    theirs = tmp_path / f".k.{dead}.abcd1234.tmp"
    theirs.write_bytes(b"x")
    assert cache.remove_stale_temps() == 1
    assert mine.exists() and not theirs.exists()


READERS_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from gansynth_live.banks.arena import BankArena
    from gansynth_live.banks.cache import BankCache
    cache = BankCache(sys.argv[1])
    banks = []
    for seed in (1, 2):
        arena = BankArena(600_000, 48000, str(seed))
        arena.add_stored(60, np.full(600_000, seed, np.int16), 1.0, 0, 0, 1.0, 0.5)
        banks.append(arena.snapshot(True))
    for i in range(int(sys.argv[2])):
        cache.save("k", banks[i % 2])
    print("DONE", flush=True)
""")


def test_concurrent_readers_see_whole_banks_only(tmp_path, caplog):
    """A writer process replaces the bank over and over while threads load it."""
    cache = BankCache(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", READERS_WRITER, str(tmp_path), "60"],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen: list[tuple[str, int]] = []
    bad: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            bank = cache.load("k")
            if bank is None:
                continue
            values = np.unique(bank.samples)
            if len(values) != 1 or str(int(values[0])) != bank.latent_id:
                bad.append(f"mixed bank {bank.latent_id}: {values[:5]}")
            seen.append((bank.latent_id, len(bank.samples)))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    with caplog.at_level(logging.WARNING):
        for t in threads:
            t.start()
        try:
            assert writer.stdout.readline().strip() == "DONE"
        finally:
            stop.set()
            for t in threads:
                t.join(10)
            writer.wait(10)
    assert not bad
    assert len(seen) > 10 and {lid for lid, _ in seen} <= {"1", "2"}
    assert all(n == 600_000 for _, n in seen)
    assert "unusable" not in caplog.text and cache.corrupt_files == 0


def test_a_loaded_bank_survives_replacement_and_eviction(tmp_path):
    cache = BankCache(tmp_path)
    first = make_bank(seed=1)
    cache.save("k", first)
    loaded = cache.load("k")
    cache.save("k", make_bank(seed=2))
    cache.clear()
    assert same_bank(first, loaded)  # still readable, still the old content


def test_lru_eviction_keeps_the_cap(tmp_path):
    size = len(make_bank().samples) * 2 + 4096
    cache = BankCache(tmp_path, max_bytes=int(2.5 * size))
    for i, key in enumerate(("a", "b")):
        cache.save(key, make_bank(seed=i))
        os.utime(cache.path_for(key), (1000 + i, 1000 + i))
    cache.load("a")  # a is now the most recently used
    cache.save("c", make_bank(seed=3))
    keys = {e.key for e in cache.entries()}
    assert keys == {"a", "c"}
    assert cache.total_bytes() <= cache.max_bytes


def test_list_and_clear(tmp_path):
    cache = BankCache(tmp_path)
    cache.save("a", make_bank(seed=1), {"model_name": "tiny", "model_fingerprint": "f" * 16})
    cache.save("b", make_bank(seed=2, complete=False))
    (tmp_path / "b.gslbank").write_bytes(b"junk")  # listing must survive this
    entries = {e.key: e for e in cache.entries()}
    assert entries["a"].readable and entries["a"].model_name == "tiny"
    assert entries["a"].notes == 5 and entries["a"].complete
    assert not entries["b"].readable
    assert cache.clear() == (2, sum(e.size_bytes for e in entries.values()))
    assert cache.entries() == []


def rewrite(path: Path, change=None, header_bytes: bytes | None = None) -> None:
    """Replace the header of a cached bank (edited by `change`, or raw bytes) and re-hash
    the file, so only the header's content can make the load refuse it."""
    import hashlib

    raw = path.read_bytes()
    header_len = int.from_bytes(raw[12:16], "little")
    if header_bytes is None:
        header = json.loads(raw[16:16 + header_len])
        change(header)
        header_bytes = json.dumps(header).encode()
    payload = raw[cache_mod._payload_offset(header_len):-32]
    head = cache_mod._PREAMBLE.pack(MAGIC, 1, len(header_bytes)) + header_bytes
    body = head + b"\0" * (cache_mod._payload_offset(len(header_bytes)) - len(head)) + payload
    path.write_bytes(body + hashlib.sha256(body).digest())


def _set_slot(index, value):
    def change(header):
        header["slots"][0][index] = value
    return change


def _set(key, value):
    def change(header):
        header[key] = value
    return change


def _start_is_end(header):
    header["slots"][0][2] = header["slots"][0][1]  # end = start: a note of no samples
    header["slots"][0][3] = header["slots"][0][4] = header["slots"][0][1]


BAD_HEADERS = {  # issue 15: each loaded as a "complete" bank the engine then refused
    "gain inf": _set_slot(7, float("inf")),
    "gain 1e999 text": None,  # written as raw text below: json reads it as inf
    "gain nan": _set_slot(7, float("nan")),
    "peak inf": _set_slot(5, float("inf")),
    "rms 400 digits": _set_slot(6, 10**400),
    "start == end": _start_is_end,
    "no notes": _set("slots", []),
    "scale 400 digits": _set("scale", 10**400),
    "samples 400 digits": _set("samples", 10**400),
    "complete not a bool": _set("complete", "yes"),
    "latent id not text": _set("latent_id", ["x"] * 3),
    "deep nesting": None,
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_a_bad_header_is_a_corrupt_file(tmp_path, case):
    cache = BankCache(tmp_path)
    path = cache.save("k", make_bank())
    if case == "deep nesting":  # RecursionError escaped load() and `cache list`
        rewrite(path, header_bytes=b'{"key": "k", "x": ' + b"[" * 200000 + b"]" * 200000 + b"}")
    elif case == "gain 1e999 text":
        rewrite(path, lambda h: h["slots"][0].__setitem__(7, "GAIN"))
        text = path.read_bytes()
        rewrite(path, header_bytes=text[16:16 + int.from_bytes(text[12:16], "little")]
                .replace(b'"GAIN"', b"1e999"))
    else:
        rewrite(path, BAD_HEADERS[case])
    [entry] = cache.entries()
    assert not entry.readable
    assert cache.load("k") is None and not path.exists()
    assert cache.corrupt_files == 1


def test_every_bank_the_cache_accepts_the_engine_plays(tmp_path):
    """The header checks are the engine's bank contract: what loads, PitchTable.build takes."""
    from gansynth_live.engine.layers import PitchTable

    cache = BankCache(tmp_path)
    cache.save("k", make_bank(notes=3))
    loaded = cache.load("k")
    assert loaded is not None
    PitchTable.build(loaded, 48000)
    one_shot = make_bank(notes=1)
    path = cache.save("one", one_shot)
    rewrite(path, lambda h: h["slots"][0].__setitem__(3, h["slots"][0][4]))  # no loop
    PitchTable.build(cache.load("one"), 48000)


TRUNCATE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from test_cache import make_bank
    from gansynth_live.banks import cache as cache_mod

    cache = cache_mod.BankCache(sys.argv[1])
    bank = make_bank(notes=40, length=48000)  # 3.8 MB: many pages
    path = cache.save("k", bank)
    loaded = cache.load("k")
    os.truncate(path, 4096)                   # another process cuts the file
    total = int(np.abs(loaded.samples.astype(np.int64)).sum())  # SIGBUS if it were mapped
    assert total == int(np.abs(bank.samples.astype(np.int64)).sum())
    assert cache.load("k") is None and not path.exists()   # refused, removed: regenerated

    path = cache.save("k", bank)
    real = cache_mod._read_header
    def cut_after_header(fh, size):           # cut while the load is reading
        out = real(fh, size)
        os.truncate(path, size // 2)
        return out
    cache_mod._read_header = cut_after_header
    assert cache.load("k") is None and not path.exists()
    print("OK", cache.corrupt_files)
""")


def test_truncating_a_cached_bank_file_is_a_miss_never_a_crash(tmp_path):
    done = subprocess.run([sys.executable, "-c", TRUNCATE, str(tmp_path),
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, f"rc {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.split() == ["OK", "2"]
