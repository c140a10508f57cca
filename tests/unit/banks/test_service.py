"""The bank service on the tiny fixture model: priorities, progress, cancel, cache."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.banks.cache import BankCache, bank_folder
from gansynth_live.banks.extend import extension_sources
from gansynth_live.banks.source import ModelSource, ModelStamp, StampMemo
from gansynth_live.banks.service import BankService
from gansynth_live.errors import ModelLoadError

ROOT = Path(__file__).resolve().parents[3]
MODEL_PITCHES = set(range(24, 85))
ALL_PITCHES = MODEL_PITCHES | set(extension_sources(range(24, 85)))


def latent(seed: int) -> np.ndarray:
    return np.random.RandomState(seed).normal(size=256)


@pytest.fixture(scope="module")
def built(tiny_model_dir, tmp_path_factory):
    """One full bank built from the model folder, with its cache and model memo."""
    root = tmp_path_factory.mktemp("cache")
    folder = bank_folder(root)
    z = latent(7)
    updates = []
    source = ModelSource(path=tiny_model_dir, memo=StampMemo(folder))
    assert source.stamp is None  # never seen: the memo cannot know it yet
    with BankService(source, cache=BankCache(folder)) as service:
        handle = service.request(z, priority_pitches=[60])
        handle.add_listener(lambda h: updates.append(
            (h.progress, set(h.current.slots) if h.current is not None else set(), h.state)))
        assert handle.wait(120)
        stats = service.stats
    return {"root": root, "folder": folder, "latent": z, "handle": handle, "updates": updates,
            "stats": stats}


def test_played_pitch_first_then_the_rest_with_progress(built):
    handle, updates = built["handle"], built["updates"]
    assert handle.state == "done" and handle.error is None
    bank = handle.current
    assert bank.complete and set(bank.slots) == ALL_PITCHES
    first = next(u for u in updates if u[1])
    assert first[1] == {60} and first[0] == (1, 61)
    done = [p for (p, _), _, _ in updates]
    assert done == sorted(done) and updates[-1][0] == (61, 61)
    sizes = [len(s) for _, s, _ in updates]
    assert sizes == sorted(sizes)  # partial banks only ever grow
    assert built["stats"].generated_notes == 61 and built["stats"].cache_misses == 1
    for slot in bank.slots.values():  # every note is playable as the contract says
        assert slot.start <= slot.loop_start <= slot.loop_end <= slot.end <= len(bank.samples)
        assert slot.peak > 0 and slot.gain > 0


def test_bank_fits_the_memory_budget(built):
    bank = built["handle"].current
    model_bytes = sum((s.end - s.start) * 2 for p, s in bank.slots.items() if p in MODEL_PITCHES)
    assert model_bytes <= 61 * 4 * 48000 * 2  # 23.4 MB: int16, nothing longer than 4 s
    assert bank.nbytes == len(bank.samples) * 2


def test_warm_cache_needs_no_model(built, tiny_model_dir):
    source = ModelSource(path=tiny_model_dir, memo=StampMemo(built["folder"]))
    assert source.stamp is not None and not source.loaded
    with BankService(source, cache=BankCache(built["folder"]), preload=False) as service:
        handle = service.request(built["latent"], priority_pitches=[60])
        assert handle.wait(30)
        assert handle.from_cache and handle.state == "done"
        assert service.stats.generated_notes == 0
    assert not source.loaded  # no TensorFlow model was ever built
    assert np.array_equal(handle.current.samples, built["handle"].current.samples)
    assert handle.current.slots == built["handle"].current.slots


WARM_RESTART = textwrap.dedent("""
    import json, sys
    import numpy as np
    from pathlib import Path
    from gansynth_live.banks.cache import BankCache
    from gansynth_live.banks.source import ModelSource, StampMemo
    from gansynth_live.banks.service import BankService
    folder = Path(sys.argv[2])
    source = ModelSource(path=sys.argv[1], memo=StampMemo(folder))
    z = source.stamp.random_latents(1, seed=7)[0]  # the fixture's latent(7)
    with BankService(source, cache=BankCache(folder), preload=False) as service:
        handle = service.request(z)
        handle.wait(30)
    print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "state": handle.state,
                      "notes": len(handle.current.slots)}))
""")


def test_warm_restart_plays_without_importing_tensorflow(built, tiny_model_dir):
    out = subprocess.run([sys.executable, "-c", WARM_RESTART, str(tiny_model_dir),
                          str(built["folder"])], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"tensorflow": False, "state": "done", "notes": len(ALL_PITCHES)}


def test_stamp_matches_the_model(tiny_model):
    stamp = ModelStamp.of(tiny_model)
    assert stamp.pitch_range == tiny_model.pitch_range
    assert np.array_equal(stamp.random_latents(3, seed=5), tiny_model.random_latents(3, seed=5))


def test_memo_forgets_a_changed_model(built, tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    memo = StampMemo(tmp_path / "memo")
    stamp = ModelSource(path=tiny_model_dir, memo=StampMemo(built["folder"])).stamp
    memo.put(copy, stamp)
    assert memo.get(copy) == stamp
    os.utime(copy / "experiment.json", (1, 1))
    assert memo.get(copy) is None


def test_corrupt_cached_bank_is_regenerated(built, tiny_model, caplog):
    folder = built["folder"]
    key = built["handle"].key
    path = BankCache(folder).path_for(key)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING), \
            BankService(tiny_model, cache=BankCache(folder)) as service:
        handle = service.request(built["latent"])
        assert handle.wait(120)
        assert service.stats.generated_notes == 61 and not handle.from_cache
    assert len([r for r in caplog.records if "unusable" in r.message]) == 1
    old, new = built["handle"].current, handle.current
    assert set(new.slots) == set(old.slots)
    assert np.allclose(new.note_audio(60), old.note_audio(60), atol=1e-3)
    assert BankCache(folder).load(key) is not None  # rewritten whole


def test_prioritize_moves_a_pitch_forward_and_listeners_cannot_kill_the_worker(tiny_model):
    seen = []

    def watch(h):
        if h.current is None:
            return
        seen.append(sorted(set(h.current.slots) & MODEL_PITCHES))
        if len(seen) == 1:
            h.prioritize([30, 200])  # 200 is no pitch of the model: ignored
        if len(seen) == 3:
            h.cancel()

    def broken(h):
        raise RuntimeError("listener bug")

    with BankService(tiny_model, batch_size=4) as service:
        handle = service.request(latent(11), priority_pitches=[60])
        handle.add_listener(broken)
        handle.add_listener(watch)
        assert handle.wait(60)
    assert seen[0] == [60] and seen[1] == [30, 60]
    assert len(seen[2]) > 2 and handle.state == "cancelled"


def test_cancel_frees_the_worker_and_the_partial_bank_is_resumed(tiny_model, tmp_path):
    cache = BankCache(tmp_path)
    got_b = threading.Event()
    with BankService(tiny_model, cache=cache, batch_size=2) as service:
        a = service.request(latent(21), priority=5)

        def on_a(h):
            if h.progress[0] >= 3 and not h.finished:
                h.cancel()

        a.add_listener(on_a)
        assert a.wait(60) and a.state == "cancelled"
        done_a = len(set(a.current.slots) & MODEL_PITCHES)
        assert 3 <= done_a < 61
        b = service.request(latent(22), priority_pitches=[50])
        b.add_listener(lambda h: got_b.set() if h.current is not None else None)
        assert got_b.wait(30)  # the worker moved on
        b.cancel()
    partial = [e for e in cache.entries() if e.latent_id == a.latent_id]
    assert len(partial) == 1 and not partial[0].complete
    with BankService(tiny_model, cache=cache) as service:
        again = service.request(latent(21))
        assert again.wait(120) and again.state == "done"
        assert service.stats.generated_notes == 61 - done_a
    assert set(again.current.slots) == ALL_PITCHES


def test_requests_are_shared_and_checked(tiny_model):
    service = BankService(tiny_model)  # not started: requests just queue
    a = service.request(latent(1), priority=3)
    b = service.request(latent(1).astype(np.float32), priority_pitches=[40], priority=1)
    assert a is b and a.priority == 1
    with pytest.raises(ValueError):
        service.request(np.full(256, np.nan))
    with pytest.raises(ValueError):
        service.request(np.zeros(100))
    service.close()
    assert a.finished and a.state == "cancelled"
    with pytest.raises(RuntimeError):
        service.request(latent(2))


def test_a_model_that_cannot_load_fails_its_requests(tmp_path):
    with BankService(ModelSource(path=tmp_path / "missing")) as service:
        handle = service.request(latent(1))
        assert handle.wait(30)
    assert handle.state == "failed" and isinstance(handle.error, ModelLoadError)


def test_other_output_rate(tiny_model):
    with BankService(tiny_model, BuildSettings(sample_rate=44100)) as service:
        handle = service.request(latent(3), priority_pitches=[69])
        seen = threading.Event()
        handle.add_listener(lambda h: seen.set() if h.current is not None else None)
        assert seen.wait(30)
        handle.cancel()
        handle.wait(30)
    bank = handle.current
    assert bank.sample_rate == 44100 and 69 in bank.slots
    assert bank.slots[69].end - bank.slots[69].start <= 4 * 44100 + 16


def test_requests_are_served_in_priority_order(tiny_model):
    """Each request stops after its first note; first notes come in priority order."""
    order = []
    all_done = threading.Event()
    service = BankService(tiny_model)
    handles = {name: service.request(latent(seed), priority_pitches=[48], priority=prio)
               for name, seed, prio in (("low", 31, 5.0), ("high", 32, 1.0), ("mid", 33, 3.0))}
    handles["low"].set_priority(0.5)  # raised after the fact: now it goes first

    def first_note(name):
        def listener(h):
            if h.current is not None and not h.finished:
                order.append(name)
                h.cancel()
                if len(order) == 3:
                    all_done.set()
        return listener

    for name, handle in handles.items():
        handle.add_listener(first_note(name))
    with service:
        assert all_done.wait(60)
    assert order == ["low", "high", "mid"]


def test_bank_command_uses_the_warm_cache_and_writes_previews(built, tiny_model_dir, tmp_path,
                                                             capsys):
    import soundfile as sf

    from gansynth_live.cli import main

    code = main(["bank", "--model", str(tiny_model_dir), "--seed", "7",
                 "--cache-dir", str(built["root"]), "--preview", str(tmp_path),
                 "--preview-pitches", "60,100", "--hold", "5"])
    assert code == 0
    out = capsys.readouterr().out
    assert "loaded from the cache" in out and built["handle"].latent_id in out
    assert "pitch 100: not in the bank" in out
    audio, rate = sf.read(tmp_path / "bank_seed7_0_pitch60_hold5s.wav")
    assert rate == 48000 and len(audio) > 5 * 48000  # held past the 4 s the model made
    assert main(["bank", "--rate", "100", "--model", str(tiny_model_dir)]) == 2


def test_wait_ready_reports_warm_up_and_load_failure(tiny_model, tmp_path):
    with BankService(tiny_model) as service:
        assert service.wait_ready(60)
        assert service.stats.warm_up_s > 0
        status = service.status()
        assert status["ready"] and status["jobs"] == [] and status["generated_notes"] == 0
    with BankService(ModelSource(path=tmp_path / "missing")) as service:
        assert not service.wait_ready(60)
        assert "does not exist" in service.status()["load_error"]


def test_a_listener_never_misses_a_bank(built, tiny_model):
    """A cache hit can finish before add_listener runs: the listener still gets it."""
    seen = []
    with BankService(tiny_model, cache=BankCache(built["folder"])) as service:
        handle = service.request(built["latent"])
        assert handle.wait(30) and handle.from_cache
        handle.add_listener(lambda h: seen.append(h.current))
        again = service.request(built["latent"], listener=lambda h: seen.append(h.current))
        assert again.wait(30)
    assert len(seen) >= 2 and all(b is not None and b.complete for b in seen)


def test_cancelled_partial_banks_stay_within_their_budget(tiny_model, tmp_path):
    """A flood of cancelled requests (random corners over and over) keeps at most the
    partial-bank budget on disk, oldest dropped first, and never a finished bank."""
    cache = BankCache(tmp_path)

    def cancel_early(h):
        if h.progress[0] >= 3 and not h.finished:
            h.cancel()

    with BankService(tiny_model, cache=cache, batch_size=2) as service:
        finished = service.request(latent(40), priority_pitches=[60])
        assert finished.wait(120) and finished.state == "done"
        for seed in range(41, 47):
            handle = service.request(latent(seed), priority=5)
            handle.add_listener(cancel_early)
            assert handle.wait(60) and handle.state == "cancelled"
            if seed == 41:  # room for about two such partial banks from now on
                (first,) = [e for e in cache.entries() if not e.complete]
                service.partial_budget_bytes = int(2.5 * first.size_bytes)
        partial = [e for e in cache.entries() if not e.complete]
        assert 1 <= len(partial) < 6  # older ones were dropped to make room
        assert sum(e.size_bytes for e in partial) <= service.partial_budget_bytes
        assert handle.latent_id in {e.latent_id for e in partial}  # the newest is kept
        assert any(e.latent_id == finished.latent_id and e.complete for e in cache.entries())
