"""A quiet terminal: TensorFlow's log lines are hidden unless --debug, everything else passes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gansynth_live.console import is_chatter

CHATTER = [
    b"I0000 00:00:1796349664.110706    6505 port.cc:153] oneDNN custom operations are on.",
    b"W0000 00:00:1796349664.110706    6505 cpu_feature_guard.cc:210] This TensorFlow binary",
    b"E0000 00:00:1733.123     77 meta_optimizer.cc:966] remapper failed: INVALID_ARGUMENT",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"WARNING:tensorflow:5 out of the last 5 calls to <function> triggered tf.function retracing",
]
KEPT = [b"gansynth-live serve: error: no audio device", b"Error: something of ours",
        b"F0000 00:00:17.1  5 check.cc:1] a fatal check", b"Idle", b""]


@pytest.mark.parametrize("line", CHATTER)
def test_tensorflow_lines_are_chatter(line):
    assert is_chatter(line)


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_not(line):
    assert not is_chatter(line)


def test_the_filter_drops_chatter_and_forwards_the_rest_at_once():
    """Through a real descriptor 2, the child process's too; a '\\r' progress bar is kept."""
    nl = b"\n"
    child = f"import os; os.write(2, {CHATTER[3] + nl + b'child says hi' + nl!r})"
    code = "\n".join([
        "import os, subprocess, sys",
        "from gansynth_live.console import quiet_tensorflow",
        "quiet_tensorflow()",
        f"os.write(2, {CHATTER[0] + nl!r})",
        "os.write(2, b'\\rbar:  50%\\rbar: 100%')",
        "sys.stderr.write('\\nkept line\\n'); sys.stderr.flush()",
        f"subprocess.run([sys.executable, '-c', {child!r}])",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    err = result.stderr
    assert result.returncode == 0, err
    assert b"oneDNN" not in err and b"absl" not in err
    assert b"\rbar:  50%\rbar: 100%\nkept line\n" in err and b"child says hi\n" in err


def test_a_command_prints_no_tensorflow_lines(tiny_model_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gansynth_live", "sample", "--model", str(tiny_model_dir),
         "--count", "1", "--seed", "1", "--out", str(tmp_path)],
        capture_output=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stderr.replace(b"\r", b"\n").splitlines()
    assert not [line for line in lines if is_chatter(line)]
    assert b"oneDNN" not in result.stderr and b"absl" not in result.stderr
    assert list(tmp_path.glob("*.wav"))
