"""Keep TensorFlow's start-up chatter off the musician's terminal (`--debug` shows it).

TensorFlow's C++ side writes straight to file descriptor 2: glog-style lines such as
"I0000 00:00:... port.cc:153] oneDNN custom operations are on ..." and absl's
"WARNING: All log messages before absl::InitializeLog() ...". Some of them are printed
before TF_CPP_MIN_LOG_LEVEL is read, so that variable alone cannot silence them, and the
generator's child process prints its own copy. `quiet_tensorflow` sets the variable and
puts a filter on descriptor 2 that this process and its children share: a thread forwards
everything except those lines, unchanged and at once (progress bars end in '\\r', not in a
newline, so partial lines go through without waiting). Fatal ("F...") lines always pass.
"""

from __future__ import annotations

import atexit
import os
import re
import threading

_CHATTER = re.compile(rb"^(?:[IWE]\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\] .*"
                      rb"|WARNING: All log messages before absl::InitializeLog\(\).*"
                      rb"|WARNING:tensorflow:.*)$")


def is_chatter(line: bytes) -> bool:
    """Whether one complete line (without its newline) is TensorFlow's log chatter."""
    return _CHATTER.match(line.rstrip(b"\r")) is not None


def _may_become_chatter(partial: bytes) -> bool:
    """A line still being written that could turn out to be chatter: hold it back."""
    return len(partial) < 4096 and (partial[:1] in (b"I", b"W", b"E"))


class StderrFilter:
    """Descriptor 2 through a pipe; a daemon thread drops chatter and forwards the rest."""

    def __init__(self) -> None:
        self._real = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._read = read
        self._thread = threading.Thread(target=self._forward, name="stderr-filter",
                                        daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _forward(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._read, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(line + b"\n" for line in lines if not is_chatter(line))
            if pending and not _may_become_chatter(pending):
                out, pending = out + pending, b""
            if out:
                os.write(self._real, out)
        if pending and not is_chatter(pending):
            os.write(self._real, pending)

    def close(self) -> None:
        """Put the real descriptor back and let the thread forward what is left."""
        import sys

        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._real, 2)  # closes this process's write end of the pipe
        self._thread.join(timeout=1.0)


_installed: StderrFilter | None = None


def quiet_tensorflow() -> None:
    """Hide TensorFlow's log lines from here on, in this process and the ones it starts."""
    global _installed
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if _installed is None:
        _installed = StderrFilter()
