"""`generate-server` on a real local Ray (tiny checkpoint): banks made through it equal the
local ones, bad requests are 400s it survives, a killed replica costs no bank, it binds
loopback only, it stops cleanly and its clients then say "unavailable" at once (and serve's
fallback takes over); `bank build --cluster` over it; without Ray the command says what to
install.

One server for the module, two replicas (starting Ray and TensorFlow takes ~20 s here),
in a session of its own so that every Ray process it starts can be found and killed at
the end; Ray's temp folder under /tmp (a short path: Ray's Unix sockets must fit in 107
bytes), HOME in the test's tmp folder (Ray writes ~/.ray/auth_token). The test that
stops it comes last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fixture_paths import REPO, TINY_MODEL
from generate_server_process import (START_TIMEOUT_S, get, launch, post, session_processes,
                                     wait_started)
from float32 import NETWORK_MAX_ULPS, WAVE_MEAN_ULPS, assert_within_ulps

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.banks.generators import GeneratorUnavailable, LocalGenerator
from gansynth_live.banks.source import ModelSource, ModelStamp
from gansynth_live.banks.service import BankService
from gansynth_live.cli import main
from gansynth_live.cluster import wire
from gansynth_live.cluster.client import AddressError, RemoteGenerator

pytestmark = pytest.mark.slow

SETTINGS = BuildSettings(highest_pitch=90)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")
    running = launch(TINY_MODEL, tmp_path_factory.mktemp("home"), "--replicas", "2",
                     "--batch", "16")
    try:
        try:
            wait_started(running)
        except AssertionError as exc:
            pytest.fail(str(exc))
        assert get(running.url + "/health") == (200, b"ok\n")
        yield running
    finally:
        running.clean_up()


def test_the_server_says_where_it_is_and_binds_loopback_only(server):
    out = server.output()
    assert f"at {server.url} (2 replica(s), one CPU each" in out
    assert f"gansynth-live serve --generator {server.url}" in out
    hex_port = f"{server.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(":" + hex_port):
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing else


def test_banks_made_through_the_server_equal_local_ones(server, tiny_model):
    stamp = ModelStamp.of(tiny_model, TINY_MODEL.name)
    status, body = get(server.url + "/stamp")
    assert status == 200 and ModelStamp(**json.loads(body)) == stamp
    z = tiny_model.random_latents(1, seed=5)[0]
    with BankService(tiny_model, SETTINGS, None) as local:
        handle = local.request(z, [60])
        assert handle.wait(300) and handle.state == "done", handle.error
        expected = handle.current
    for wire_format in ("flac", "f32"):
        remote = RemoteGenerator(server.url, SETTINGS, wire_format=wire_format)
        with BankService(ModelSource(path=TINY_MODEL), SETTINGS, None,
                         generator=remote) as service:
            handle = service.request(z, [60])
            assert handle.wait(300) and handle.state == "done", handle.error
            assert service.status()["generator"] == f"remote {server.url}"
            assert service.stats.generated_notes == 61
            assert_same_bank(handle.current, expected)


def assert_same_bank(got, expected) -> None:
    """The same notes, loops, levels and audio within float32 rounding (as
    tests/unit/banks/test_generator_process.py holds the child process's banks)."""
    assert got.slots.keys() == expected.slots.keys()
    for pitch, slot in expected.slots.items():
        other = got.slots[pitch]
        positions = ("end", "loop_start", "loop_end")  # within the note: where in the arena
        assert [getattr(other, k) - other.start for k in positions] == \
            [getattr(slot, k) - slot.start for k in positions]  # depends on batch order
        np.testing.assert_allclose([other.peak, other.rms, other.gain],
                                   [slot.peak, slot.rms, slot.gain], rtol=1e-4)
        assert_within_ulps(got.note_audio(pitch), expected.note_audio(pitch),
                           NETWORK_MAX_ULPS, WAVE_MEAN_ULPS)


def test_bad_requests_are_400s_and_the_server_keeps_serving(server):
    good = {"latent": [0.1] * 256, "pitches": [60], "format": "f32"}
    bad_bodies = [
        (b"{not json", "not JSON"),
        (json.dumps({**good, "latent": [0.1] * 255}).encode(), "the model takes 256"),
        (json.dumps(good).replace("0.1", "NaN", 1).encode(), "NaN"),
        (json.dumps({**good, "pitches": [60] * 129}).encode(), "at most 128"),
        (json.dumps({**good, "pitches": [100]}).encode(), "outside the model's 24..84"),
        (b" " * (wire.MAX_REQUEST_BYTES + 1), "over"),
    ]
    for body, reason in bad_bodies:
        status, answer = post(server.url + "/generate", body)
        assert status == 400 and reason in answer.decode(), (status, answer[:200])
        assert answer.decode().count("\n") == 1  # one line
    assert get(server.url + "/generate")[0] == 405
    assert get(server.url + "/nothing")[0] == 404
    status, answer = post(server.url + "/generate", json.dumps(good).encode())
    waves, header = wire.decode_waves(answer)
    assert status == 200 and waves.shape == (1, 64000) and np.all(np.isfinite(waves))


def test_several_clients_share_the_server(server, tiny_model):
    """Two requests at once are both answered, and each gets its own latent's notes."""
    from concurrent.futures import ThreadPoolExecutor

    latents = tiny_model.random_latents(2, seed=7)
    pitches = [40, 60, 80]

    def ask(latent):
        return RemoteGenerator(server.url, SETTINGS).render(latent, pitches, {})[0]

    with ThreadPoolExecutor(2) as pool:
        remote = list(pool.map(ask, latents))
    for latent, notes in zip(latents, remote):
        local = LocalGenerator(ModelSource(model=tiny_model), SETTINGS).render(
            latent, pitches, {})[0]
        for got, want in zip(notes, local):
            assert_within_ulps(got.samples, want.samples, NETWORK_MAX_ULPS, WAVE_MEAN_ULPS)


def test_bank_build_over_the_server_fills_the_cache_and_a_rerun_skips(server, tmp_path,
                                                                       capsys):
    args = ["bank", "build", "--cluster", server.url, "--model", str(TINY_MODEL),
            "--seeds", "0-1", "--jobs", "2", "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    assert "2 built (122 notes" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 built" in capsys.readouterr().out


def replicas_of(server) -> list[int]:
    return [pid for pid in session_processes(server.proc.pid)
            if "ServeReplica" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]


def cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + system, all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_replica(server, working, seconds: float = 60.0) -> int:
    """A replica serving a request now: Ray titles a replica process
    `...generator.handle_request...` while a request is in it (`...initialize...` while it
    loads the model, the bare name while idle), and its CPU time grows over 0.2 s while
    `working()` says requests are in flight. Fails the test if none is seen before the
    work ends (a kill then would prove nothing)."""
    deadline = time.monotonic() + seconds
    while working() and time.monotonic() < deadline:
        before = {pid: cpu_s(pid) for pid in replicas_of(server)}
        time.sleep(0.2)
        for pid, cpu in before.items():
            try:
                title = Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
                grown = cpu_s(pid) - cpu
            except OSError:
                continue
            if "handle_request" in title and grown >= 0.05 and working():
                return pid
    pytest.fail("no replica was seen serving a request while the requests were in flight")


def test_a_replica_killed_mid_request_is_retried_on_the_other(server, tiny_model):
    """Two replicas, two banks in flight, the replica generating one of them killed: both
    banks come back whole (the client retries the 5xx or dropped connection; Ray routes it
    to the live replica and restarts the dead one)."""
    from concurrent.futures import ThreadPoolExecutor

    assert len(replicas_of(server)) == 2
    latents = tiny_model.random_latents(2, seed=11)
    pitches = list(range(24, 85))
    clients = [RemoteGenerator(server.url, SETTINGS) for _ in latents]

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(client.render, latent, pitches, {})
                   for client, latent in zip(clients, latents)]
        victim = busy_replica(server, lambda: not all(f.done() for f in futures))
        os.kill(victim, signal.SIGKILL)
        in_flight = sum(not f.done() for f in futures)
        results = [future.result(timeout=300)[0] for future in futures]
    assert in_flight > 0  # killed while a request waited on it, not after
    # the kill cost a request on it: the client saw the failure and asked again
    assert sum(client.retries for client in clients) > 0
    for latent, notes in zip(latents, results):
        assert [n.pitch for n in notes] == pitches
        # the same pitches in the same request locally: a batch of another size may take
        # other oneDNN kernels, whose rounding the phase integration carries along the note
        local = LocalGenerator(ModelSource(model=tiny_model), SETTINGS).render(
            latent, pitches, {})[0]
        for k in (0, 36, 60):
            assert_within_ulps(notes[k].samples, local[k].samples, NETWORK_MAX_ULPS,
                               WAVE_MEAN_ULPS)


def test_a_library_build_survives_a_killed_replica(server, tmp_path):
    """bank build's fan-out (banks/library.py) over both replicas, one killed mid-build:
    every bank ends complete in the cache, none failed, none half-written."""
    from gansynth_live.banks.cache import BankCache, bank_key
    from gansynth_live.banks.library import build_library

    deadline = time.monotonic() + 120
    while len(replicas_of(server)) < 2:  # the previous test's victim is restarted by Serve
        assert time.monotonic() < deadline, "Serve did not restart the replica"
        time.sleep(0.5)
    cache = BankCache(tmp_path)
    source = ModelSource(path=TINY_MODEL)
    clients = [RemoteGenerator(server.url, SETTINGS) for _ in range(2)]
    services = [BankService(source, SETTINGS, cache, preload=False, generator=client)
                for client in clients]
    stamp = clients[0].start()
    source.adopt_stamp(stamp)
    latents = list(stamp.random_latents(4, seed=21))
    outcome = {}
    builder = threading.Thread(target=lambda: outcome.update(
        result=build_library(latents, services)))
    try:
        builder.start()
        victim = busy_replica(server, builder.is_alive)  # a bank's batch on it
        os.kill(victim, signal.SIGKILL)
        killed_mid_build = builder.is_alive()
        builder.join(300)
    finally:
        for service in services:
            service.close()
    result = outcome["result"]
    assert killed_mid_build
    # the kill cost work in flight: a request the client asked again, or a bank the
    # build asked again of the other service
    assert sum(client.retries for client in clients) + result.retried > 0, result
    assert result.failed == [] and result.built == 4, result
    for latent in latents:
        bank = cache.load(bank_key(stamp.fingerprint, latent, SETTINGS.sample_rate,
                                   SETTINGS.settings_id))
        assert bank is not None and bank.complete and len(bank.slots) >= 61


def test_a_plain_address_elsewhere_is_refused(capsys):
    with pytest.raises(AddressError, match="SSH tunnel"):
        RemoteGenerator("http://192.0.2.10:8100", SETTINGS)
    assert main(["bank", "build", "--cluster", "http://192.0.2.10:8100", "--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not on this machine" in err


def test_a_model_the_replicas_cannot_load_is_one_line(tmp_path):
    pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")
    model = tmp_path / "broken"
    model.mkdir()
    (model / "experiment.json").write_text("{}")
    failed = launch(model, tmp_path)
    try:
        assert failed.proc.wait(START_TIMEOUT_S) == 2
        last = failed.output().strip().splitlines()[-1]
        assert last.startswith("gansynth-live generate-server: error: the deployment failed: "
                               "no stage_* folder in "), last
        assert session_processes(failed.proc.pid) == {}
    finally:
        failed.clean_up()


def test_without_ray_the_command_says_what_to_install(tmp_path):
    fake = tmp_path / "no-ray"
    fake.mkdir()
    (fake / "ray.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    result = subprocess.run(
        [sys.executable, "-m", "gansynth_live", "generate-server", "--model", str(TINY_MODEL)],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake), str(REPO)])),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == ("gansynth-live generate-server: error: generate-server needs "
                             "Ray: pip install -e '.[cluster]'\n")


def test_stopped_it_leaves_nothing_running_and_clients_fall_back(server, tiny_model):
    """Last: stops the module's server."""
    remote = RemoteGenerator(server.url, SETTINGS)
    stamp = remote.start()
    assert server.stop() == 0
    assert "generate-server: stopping" in server.output()
    assert session_processes(server.proc.pid) == {}  # Ray's processes went with it
    t0 = time.monotonic()
    with pytest.raises(GeneratorUnavailable, match="unavailable"):
        remote.render(np.zeros(stamp.latent_size), [60], {})
    assert time.monotonic() - t0 < 10.0  # the retries take ~1 s; nothing waits for a timeout
    assert not remote.running
    # serve's set-up: the server unreachable, this machine's generator takes over at once
    fallback = LocalGenerator(ModelSource(model=tiny_model), SETTINGS)
    with BankService(ModelSource(model=tiny_model), SETTINGS, None,
                     generator=RemoteGenerator(server.url, SETTINGS),
                     fallback=fallback) as service:
        handle = service.request(tiny_model.random_latents(1, seed=9)[0], [60])
        assert handle.wait(300) and handle.state == "done", handle.error
        status = service.status()
        assert status["generator"] == "local" and "unreachable" in status["generator_note"]
