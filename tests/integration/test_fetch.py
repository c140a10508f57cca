"""fetch-model end to end against a real HTTP server on 127.0.0.1.

The server (fetch_server.py) serves a zip of the tiny fixture and can be told to cut
the connection, trickle, ignore Range, or fail, so resuming, restarting and every
refusal run through real sockets and the real CLI. Hostile servers and zips:
test_fetch_hostile.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fetch_server import fetch, fixture_zip, server, tree, zip_tree  # noqa: F401 (fixtures)

from gansynth_live.cli import main
from gansynth_live.commands.fetch_model import RELEASED_NAMES
from gansynth_live.errors import DownloadError
from gansynth_live.model import load_model
from gansynth_live.model.fetch import (check_model_dir, download, fetch_model, part_path,
                                       record_path)
from gansynth_live.model.registry import RELEASED_URLS, models_dir, resolve_model

REPO = Path(__file__).resolve().parents[2]


def test_cli_fetch_loads_like_the_fixture(server, tmp_path, tiny_model_dir, tiny_model, capsys):
    dest = tmp_path / "models" / "acoustic"
    assert fetch(server.url, dest) == 0
    assert f"--model '{dest}'" in capsys.readouterr().out
    assert tree(dest) == tree(tiny_model_dir)
    assert os.listdir(dest.parent) == ["acoustic"]  # no .part, no staging folder left

    model = load_model(dest)
    assert model.fingerprint == tiny_model.fingerprint
    z = tiny_model.random_latents(2, seed=3)
    np.testing.assert_array_equal(model.generate(z, [60, 72]), tiny_model.generate(z, [60, 72]))


def test_default_destination_and_rerun(server, tmp_path, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    assert main(["fetch-model", "acoustic_only", "--url", server.url]) == 0
    assert "--model acoustic_only" in capsys.readouterr().out
    path = resolve_model("acoustic_only")
    assert path == tmp_path / "data" / "models" / "acoustic_only" == models_dir() / "acoustic_only"
    assert (path / "experiment.json").is_file() and (path / "stage_00012").is_dir()
    assert tree(path) == tree(tiny_model_dir)

    assert main(["fetch-model", "acoustic_only", "--url", server.url]) == 0
    assert "already" in capsys.readouterr().out
    assert server.ranges == [None]  # nothing downloaded the second time

    assert main(["fetch-model", "acoustic_only", "--url", server.url, "--force"]) == 0
    assert server.ranges == [None, None]
    assert tree(path) == tree(tiny_model_dir)


def test_interrupted_transfer_resumes(server, tmp_path, tiny_model_dir, capsys):
    dest = tmp_path / "m"
    total = len(server.behaviour.body)
    server.behaviour.cut_after = total // 3
    assert fetch(server.url, dest) == 2
    err = capsys.readouterr().err
    assert f"broke off after {total // 3} of {total} bytes" in err and "resume" in err
    assert not dest.exists()
    assert part_path(dest).stat().st_size == total // 3

    server.behaviour.cut_after = None
    assert fetch(server.url, dest) == 0
    assert server.ranges == [None, f"bytes={total // 3}-"]
    assert tree(dest) == tree(tiny_model_dir)
    assert not part_path(dest).exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path, tiny_model_dir):
    dest = tmp_path / "m"
    server.behaviour.cut_after = 100_000
    assert fetch(server.url, dest) == 2
    server.behaviour.cut_after = None
    server.behaviour.ignore_range = True
    assert fetch(server.url, dest) == 0
    assert server.ranges == [None, "bytes=100000-"]
    assert tree(dest) == tree(tiny_model_dir)


def complete_part(server, dest: Path) -> Path:
    """The part (and its record) a run leaves when it dies between download and unpack."""
    download(server.url, part_path(dest), progress=False)
    server.ranges.clear()
    return part_path(dest)


def test_complete_part_is_unpacked_without_downloading(server, tmp_path, tiny_model_dir):
    dest = tmp_path / "m"
    complete_part(server, dest)
    assert fetch(server.url, dest) == 0
    assert server.ranges == [f"bytes={len(server.behaviour.body)}-"]  # answered 416
    assert tree(dest) == tree(tiny_model_dir)


def test_part_longer_than_the_remote_file_is_discarded(server, tmp_path, tiny_model_dir):
    dest = tmp_path / "m"
    size = len(server.behaviour.body) + 10
    with open(complete_part(server, dest), "ab") as part:
        part.write(b"x" * 10)
    assert fetch(server.url, dest) == 0
    assert server.ranges == [f"bytes={size}-", None]
    assert tree(dest) == tree(tiny_model_dir)


@pytest.mark.slow  # the child process imports TensorFlow before it downloads
def test_kill_mid_download_leaves_a_resumable_part(server, tmp_path, tiny_model_dir):
    dest = tmp_path / "models" / "acoustic_only"
    part = part_path(dest)
    server.behaviour.trickle_bytes = 32 * 1024
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gansynth_live", "fetch-model", "acoustic_only",
         "--url", server.url, "--dest", str(dest)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180  # a hang guard, not a speed target
        while not (part.is_file() and part.stat().st_size >= 256 * 1024):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    kept = part.stat().st_size
    assert 0 < kept < len(server.behaviour.body)
    # no model folder, whole or half: the part and its record (URL, ETag, size)
    assert sorted(os.listdir(dest.parent)) == [part.name, record_path(part).name]

    server.behaviour.trickle_bytes = None
    assert fetch(server.url, dest) == 0
    assert server.ranges[-1] == f"bytes={kept}-"
    assert tree(dest) == tree(tiny_model_dir)


def corrupted(data: bytes) -> bytes:
    """The zip with bytes flipped in the middle of the checkpoint data member."""
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0x5A for b in data[mid:mid + 64]) + data[mid + 64:]


@pytest.mark.parametrize("body,message", [
    (corrupted, "corrupt zip from"),
    (lambda data: data[: len(data) - 300], "is not a readable zip"),
    (lambda data: b"<html>Sign in to continue</html>", "is not a readable zip"),
])
def test_corrupt_download_is_rejected(server, tmp_path, capsys, body, message):
    dest = tmp_path / "m"
    server.behaviour.body = body(server.behaviour.body)
    assert fetch(server.url, dest) == 2
    err = capsys.readouterr().err
    assert message in err and "deleted" in err
    assert os.listdir(tmp_path) == []  # no model, no .part, no staging folder


def test_zip_without_experiment_json_is_rejected(server, tmp_path, capsys):
    server.behaviour.body = zip_tree(tmp_path, extra={"readme.txt": b"hello"})
    assert fetch(server.url, tmp_path / "m") == 2
    assert "holds no experiment.json" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_zip_with_broken_layout_is_rejected(server, tmp_path, tiny_model_dir, capsys):
    experiment = (tiny_model_dir / "experiment.json").read_bytes()
    server.behaviour.body = zip_tree(tmp_path, extra={"acoustic_only/experiment.json": experiment})
    assert fetch(server.url, tmp_path / "m") == 2
    err = capsys.readouterr().err
    assert "does not hold a usable model" in err and "no stage_* folder" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("evil", ["../evil.txt", "acoustic_only/../../evil.txt",
                                  "/tmp/gansynth-live-evil.txt", "acoustic_only\\..\\evil.txt"])
def test_zip_slip_is_refused(server, tmp_path, tiny_model_dir, capsys, evil):
    server.behaviour.body = zip_tree(tiny_model_dir, extra={evil: b"owned"})
    dest = tmp_path / "a" / "m"
    assert fetch(server.url, dest) == 2
    assert "unsafe member path" in capsys.readouterr().err
    assert not dest.exists() and not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "a" / "evil.txt").exists()
    assert not Path("/tmp/gansynth-live-evil.txt").exists()


@pytest.mark.parametrize("prefix", ["", "release/gansynth/acoustic_only/"])
def test_model_folder_is_found_at_any_depth(server, tmp_path, tiny_model_dir, prefix):
    junk = {"__MACOSX/acoustic_only/experiment.json": b"junk", "README": b"read me"}
    server.behaviour.body = zip_tree(tiny_model_dir, prefix, extra=junk)
    dest = fetch_model(server.url, tmp_path / "m", progress=False)
    beside = {} if prefix else {"README": b"read me"}  # only the model folder is kept
    assert tree(dest) == tree(tiny_model_dir) | beside


def test_zip_with_two_models_is_refused(server, tmp_path, tiny_model_dir):
    experiment = (tiny_model_dir / "experiment.json").read_bytes()
    server.behaviour.body = zip_tree(tiny_model_dir, "a/", extra={"b/experiment.json": experiment})
    with pytest.raises(DownloadError, match="holds several models"):
        fetch_model(server.url, tmp_path / "m", progress=False)
    assert os.listdir(tmp_path) == []


def test_http_error_is_reported(server, tmp_path, capsys):
    server.behaviour.status = 404
    assert fetch(server.url, tmp_path / "m") == 2
    err = capsys.readouterr().err
    assert "HTTP 404" in err and server.url in err
    assert os.listdir(tmp_path) == []


def test_unreachable_server_says_how_to_work_offline(tmp_path, capsys):
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/acoustic_only.zip"
    assert fetch(url, tmp_path / "m") == 2
    err = capsys.readouterr().err
    assert url in err and "offline" in err and "--url" in err
    assert err.count("\n") == 1


def test_sha256_is_checked(server, tmp_path, tiny_model_dir, capsys):
    import hashlib

    good = hashlib.sha256(server.behaviour.body).hexdigest()
    assert fetch(server.url, tmp_path / "m", "--sha256", "0" * 64) == 2
    assert f"sha256 is {good}" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
    assert fetch(server.url, tmp_path / "m", "--sha256", "abc") == 2
    assert "64 hexadecimal digits" in capsys.readouterr().err
    assert fetch(server.url, tmp_path / "m", "--sha256", good.upper()) == 0
    assert tree(tmp_path / "m") == tree(tiny_model_dir)


def test_force_keeps_the_old_model_until_the_new_one_is_complete(server, tmp_path,
                                                                 tiny_model_dir, capsys):
    dest = tmp_path / "m"
    assert fetch(server.url, dest) == 0
    server.behaviour.body = corrupted(server.behaviour.body)
    assert fetch(server.url, dest, "--force") == 2
    assert "corrupt zip" in capsys.readouterr().err
    assert tree(dest) == tree(tiny_model_dir)
    check_model_dir(dest)
    assert os.listdir(tmp_path) == ["m"]


def test_existing_folder_that_is_not_a_model_is_never_replaced(server, tmp_path, capsys):
    """Issue 15 item 5: `--dest ~/Music --force` deleted the music."""
    dest = tmp_path / "m"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    for extra in ((), ("--force",)):
        assert fetch(server.url, dest, *extra) == 2
        err = capsys.readouterr().err
        assert f"'{dest}' is not a model folder gansynth-live wrote" in err
        assert "refusing to replace it" in err and err.count("\n") == 1
    assert server.ranges == []  # refused before downloading anything
    assert os.listdir(dest) == ["notes.txt"] and os.listdir(tmp_path) == ["m"]


def test_disk_error_is_one_clear_line(server, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert fetch(server.url, tmp_path / "file" / "m") == 2
    err = capsys.readouterr().err
    assert "cannot write in" in err and err.count("\n") == 1


def test_file_url_for_a_zip_fetched_elsewhere(fixture_zip, tmp_path, tiny_model_dir):
    zip_path = tmp_path / "acoustic_only.zip"
    zip_path.write_bytes(fixture_zip)
    assert fetch(zip_path.as_uri(), tmp_path / "m") == 0
    assert tree(tmp_path / "m") == tree(tiny_model_dir)
    assert fetch((tmp_path / "missing.zip").as_uri(), tmp_path / "n") == 2


def test_cli_names_match_the_registry():
    assert RELEASED_NAMES == tuple(RELEASED_URLS)
    for url in RELEASED_URLS.values():
        assert url.startswith("https://storage.googleapis.com/magentadata/models/gansynth/")
