"""Child process: plays a held note through JACK while recording under a file size limit.

    python disk_full_player.py OUT.wav LIMIT_BYTES SECONDS

Started by tests/integration/test_recording_disk_full_jack.py with JACK_DEFAULT_SERVER set;
the test captures the output from another JACK client. The limit is set after the
stream opened (JACK's shared memory files must not count against it). Prints one JSON
line: engine stats sampled every 0.25 s and the recorder's final counts.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gansynth_live.banks.bank import BankLayers  # noqa: E402
from gansynth_live.engine import AudioStream, Engine, EngineConfig  # noqa: E402
from gansynth_live.engine.synthetic import synthetic_bank  # noqa: E402
from gansynth_live.events import NoteOn  # noqa: E402


def main() -> None:
    out, limit, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    engine = Engine(EngineConfig(sustain=1.0, release_s=0.05))
    engine.set_layers(BankLayers.single(synthetic_bank(range(57, 62), 48000)))
    stream = AudioStream(engine, blocksize=256, record=out, record_subtype="PCM_24").start()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE,
                       (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    print("playing", flush=True)
    sys.stdin.readline()  # the test's capture is running
    engine.push(NoteOn(60, 100))
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.25)
        stats = engine.stats()
        samples.append({"frames": stats.frames, "callback_errors": stats.callback_errors,
                        "recorder_error": stats.recorder_error})
    recorder = stream._recorder
    stream.close()
    print(json.dumps({"samples": samples, "frames_written": recorder.frames_written,
                      "overflow_frames": recorder.overflow_frames, "error": recorder.error}),
          flush=True)


if __name__ == "__main__":
    main()
