"""The generator as a Ray Serve deployment: what `gansynth-live generate-server` runs.

Why Ray Serve (../shared/docs/peers.md, section 4): it schedules replicas on GPUs, restarts
a dead one, and batches requests; this module only adds the model and the wire format.

Each replica loads the model once. A request for N pitches becomes N single
(latent, pitch) items, gathered; `@serve.batch` packs items from every client's requests
into one model batch (up to `--batch`), so two laptops, or a bank worker's next request
arriving while the last is generated, share the accelerator's batches. The model runs on a
thread of its own, one batch at a time, so the replica's event loop keeps taking requests
(and health checks) while a batch is generated.

Routes: GET /stamp (the ModelStamp as JSON), POST /generate (wire.py), GET /health.
Ray has no authentication: `start` binds HTTP to loopback unless told, with the dashboard
off. Imports Ray: only the generate-server command imports this module.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np
import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

from . import wire

APP_NAME = "gansynth-live"
DEFAULT_BATCH = 32
_BATCH_WAIT_S = 0.005  # a request's items arrive within microseconds; other clients' too


def _text(status: int, line: str) -> Response:
    return Response(line + "\n", status_code=status, media_type="text/plain")


@serve.deployment(name="generator", max_ongoing_requests=64, max_constructor_retry_count=2,
                  health_check_period_s=5.0)
class NoteServer:
    """One replica: the model, its stamp, and the three routes."""

    def __init__(self, model_path: str, name: str, max_batch: int) -> None:
        from ..banks.source import ModelStamp
        from ..model import load_model

        self._model = load_model(model_path)
        self._stamp = ModelStamp.of(self._model, name)
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="model")
        self._generate_items.set_max_batch_size(max_batch)
        mid = self._stamp.pitch_range[len(self._stamp.pitch_range) // 2]
        self._model.generate(np.zeros((1, self._stamp.latent_size)), [mid], batch_size=1)

    async def __call__(self, request: Request) -> Response:
        path, method = request.url.path.rstrip("/") or "/", request.method
        if path == "/health" and method == "GET":
            return _text(200, "ok")
        if path == "/stamp" and method == "GET":
            return Response(json.dumps(asdict(self._stamp)), media_type="application/json")
        if path == "/generate" and method == "POST":
            return await self._generate(request)
        if path in ("/health", "/stamp", "/generate"):
            return _text(405, f"{method} is not allowed on {path}")
        return _text(404, f"no route {path}; the routes are /health, /stamp, /generate")

    async def _generate(self, request: Request) -> Response:
        try:
            body = await _read_body(request)
            req = wire.parse_request(body, self._stamp.latent_size, self._stamp.pitch_range)
        except wire.WireError as exc:
            return _text(400, str(exc))
        t0 = time.perf_counter()
        try:
            waves = await asyncio.gather(*(self._generate_items((req.latent, p))
                                           for p in req.pitches))
        except Exception as exc:  # the model failed: the client sees one line, not a trace
            return _text(500, f"generation failed: {type(exc).__name__}: {exc}")
        generate_s = time.perf_counter() - t0
        payload = await asyncio.to_thread(wire.encode_waves, np.stack(waves), req.format,
                                          generate_s, self._stamp.fingerprint,
                                          self._stamp.sample_rate)
        return Response(payload, media_type="application/octet-stream")

    @serve.batch(max_batch_size=DEFAULT_BATCH, batch_wait_timeout_s=_BATCH_WAIT_S)
    async def _generate_items(self, items: list[tuple[np.ndarray, int]]) -> list[np.ndarray]:
        z = np.stack([latent for latent, _ in items])
        pitches = [pitch for _, pitch in items]
        loop = asyncio.get_running_loop()
        waves = await loop.run_in_executor(
            self._model_thread, lambda: self._model.generate(z, pitches, batch_size=len(items)))
        return list(waves)


async def _read_body(request: Request) -> bytes:
    """The body, refused past wire.MAX_REQUEST_BYTES before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit()
                                 or int(declared) > wire.MAX_REQUEST_BYTES):
        raise wire.WireError(f"request body of {declared} bytes is over "
                             f"{wire.MAX_REQUEST_BYTES}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > wire.MAX_REQUEST_BYTES:
            raise wire.WireError(f"request body over {wire.MAX_REQUEST_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def start_ray(address: str | None, num_cpus: int | None = None) -> bool:
    """Join the cluster at `address`, or start a local one; True if this process started it.
    Ray's dashboard stays off: it is an unauthenticated control panel."""
    if address:
        ray.init(address=address, include_dashboard=False, logging_level="warning")
        return False
    ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="warning")
    return True


def replica_options(gpus: float) -> dict[str, Any]:
    """One GPU per replica where the cluster has GPUs, else one CPU (TensorFlow's threads
    take the rest of the node)."""
    if gpus >= 1:
        return {"num_gpus": 1}
    return {"num_cpus": 1}


def replica_count(requested: int | None, gpus: float) -> int:
    """`requested` replicas, or by default one per GPU of the cluster (one without GPUs):
    a replica holds one model on one GPU, so more GPUs serve more banks at once."""
    if requested is not None:
        return requested
    return max(1, int(gpus))


def deploy(model_path: str, name: str, *, host: str, port: int, replicas: int | None,
           max_batch: int) -> tuple[dict[str, Any], int]:
    """Start Serve's HTTP proxy on host:port (on the head node only) and the replicas
    (None: one per GPU, see `replica_count`); returns once every replica has loaded the
    model. The actor options and the number of replicas chosen."""
    serve.start(proxy_location="HeadOnly", http_options={"host": host, "port": port},
                logging_config={"log_level": "WARNING"})
    gpus = ray.cluster_resources().get("GPU", 0)
    options = replica_options(gpus)
    replicas = replica_count(replicas, gpus)
    app = NoteServer.options(num_replicas=replicas, ray_actor_options=options,
                             max_ongoing_requests=max(64, 2 * max_batch)).bind(
        model_path, name, max_batch)
    try:
        serve.run(app, name=APP_NAME, route_prefix="/")
    except RuntimeError as exc:  # Ray's text names the deployment; its status holds why
        raise RuntimeError(f"{exc}\n{_deployment_messages()}") from None
    return options, replicas


def _deployment_messages() -> str:
    """The deployments' status messages (a replica constructor's traceback among them)."""
    try:
        app = serve.status().applications.get(APP_NAME)
    except Exception:  # noqa: BLE001 - only for an error message; Serve may be gone
        return ""
    if app is None:
        return ""
    return "\n".join(d.message for d in app.deployments.values() if d.message)


def undeploy(started_ray: bool) -> None:
    """Take the deployment down; shut Serve and Ray down too where this process started
    them (a joined cluster keeps its other applications)."""
    try:
        if started_ray:
            serve.shutdown()
        else:
            serve.delete(APP_NAME)
    finally:
        if started_ray:
            ray.shutdown()
