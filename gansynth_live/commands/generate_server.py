"""Generate notes for other machines: the model as a Ray Serve deployment, until Ctrl-C.

Run it on a GPU box (one replica per GPU unless --replicas), then on the laptop:

    gansynth-live serve --generator http://127.0.0.1:8100

Its HTTP has no authentication or encryption (Ray Serve's has none), so it listens on
127.0.0.1 unless --host says otherwise: from the laptop, reach it through an SSH tunnel
(ssh -N -L 8100:127.0.0.1:8100 GPU-BOX), or on a private network you trust give
--host 0.0.0.0 here and --allow-insecure-generator there (bank build --cluster takes
--allow-insecure). Ray's dashboard stays off. Needs the cluster extra:
pip install -e '.[cluster]'. With --ray-address it joins a running Ray cluster (the model
folder must then be at the same path on every node).
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..errors import GansynthLiveError

NEEDS_RAY = "generate-server needs Ray: pip install -e '.[cluster]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..cluster.wire import DEFAULT_PORT

    parser.add_argument("--model", default=None,
                        help="model folder or name (default: the model shipped with the package)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"HTTP port (default {DEFAULT_PORT})")
    parser.add_argument("--replicas", type=int, default=None,
                        help="model replicas, one GPU each where the cluster has GPUs "
                             "(default: one per GPU, or 1 without GPUs)")
    parser.add_argument("--batch", type=int, default=32,
                        help="largest model batch, shared by all clients' requests (default 32)")
    parser.add_argument("--ray-address", default=None, metavar="ADDRESS",
                        help="join this Ray cluster (e.g. 10.0.0.2:6379) instead of starting one")
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="CPUs for the Ray instance this command starts (default: all)")


def run(args: argparse.Namespace) -> int:
    from ..model.registry import resolve_model

    if (args.replicas is not None and args.replicas < 1) or args.batch < 1:
        raise GansynthLiveError("--replicas and --batch must be 1 or more")
    if not 0 < args.port < 65536:
        raise GansynthLiveError("--port must be 1..65535")
    path = resolve_model(args.model)
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        raise GansynthLiveError(NEEDS_RAY) from None
    from ..cluster import server
    from ..cluster.client import is_loopback

    started = server.start_ray(args.ray_address, args.num_cpus)
    # after ray.init, which installs a handler of its own that dies without shutting down:
    # Ctrl-C and a plain `kill` both end in `undeploy`, which stops the Ray this started
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also where a shell started us ignoring it
    try:
        try:
            options, replicas = server.deploy(str(path.resolve()), path.name,
                                              host=args.host, port=args.port,
                                              replicas=args.replicas, max_batch=args.batch)
        except RuntimeError as exc:  # a replica that cannot load the model, a busy port
            raise GansynthLiveError(f"the deployment failed: {_reason(str(exc))}"
                                    " (--debug shows Ray's log)") from None
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{args.port}"
        device = "GPU" if "num_gpus" in options else "CPU"
        print(f"generate-server: model '{path.name}' at {url} ({replicas} replica(s), "
              f"one {device} each, batches of up to {args.batch})", flush=True)
        if is_loopback(args.host):
            print("on this machine: gansynth-live serve --generator " + url, flush=True)
            print(f"from a laptop: ssh -N -L {args.port}:127.0.0.1:{args.port} THIS-HOST, "
                  f"then gansynth-live serve --generator http://127.0.0.1:{args.port}",
                  flush=True)
        else:
            print("warning: listening beyond this machine with no authentication; "
                  "only on a private network you trust", file=sys.stderr, flush=True)
            print(f"on the laptop: gansynth-live serve --generator http://THIS-HOST:{args.port}"
                  " --allow-insecure-generator", flush=True)
        print("Ctrl-C stops.", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        print("generate-server: stopping", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # the shutdown short
        server.undeploy(started)
    return 0


def _reason(text: str) -> str:
    """The replica's own one-line error (a ModelLoadError) where Ray's text carries it,
    else Ray's first line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    ours = [line for line in lines if "gansynth_live.errors." in line and ": " in line]
    if ours:
        return ours[-1].split(": ", 1)[1]
    return lines[0] if lines else "(Ray gave no reason)"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
