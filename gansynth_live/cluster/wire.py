"""What travels between `RemoteGenerator` and the generate server: no pickle, either way.

Pickle from a socket runs whatever the sender wants; these bytes are only ever parsed.

Request (POST /generate): a JSON object
    {"latent": [256 numbers], "pitches": [MIDI numbers], "format": "f32" | "i16" | "flac"}
checked by `parse_request` before anything else (size, types, finite numbers, ranges), so a
bad body is one `WireError` line and a 400, never a replica's crash.

Response: `<u32 little-endian header length><JSON header><payload>`. The header says
shape [notes, samples], format, per-note `scale` (i16, flac), the payload's `bytes`,
`generate_s` and the model's `fingerprint` (the client refuses waves from another model
than the one it was told of).
Payload by format:
- "f32": the waves as little-endian float32, exact (4 bytes a sample: 15.6 MB a bank);
- "i16": each note scaled to its peak, little-endian int16 (half the bytes, but a step of
  peak/32767 is 256 float32 ulps of the peak: past the banks' parity bound, see below);
- "flac": each note scaled to its peak as 24-bit integers, all notes in one mono FLAC
  stream (soundfile, a core dependency): a step of 1 ulp of the peak, lossless after that.

DEFAULT_FORMAT is flac, chosen by measuring one 61-note bank (61 x 64,000 samples) of the
shipped model on the 2-core EPYC VM: `python bench/cluster.py --banks 4` (its wire table,
through cluster/measure.py, on the bench's first latent), 2026-12-07, the run docs/cluster.md
tabulates:

    format   bytes     encode  decode  notes from it vs local (float32 ulps of the peak)
    f32      15.6 MB    10 ms    2 ms  identical
    i16       7.8 MB    26 ms   12 ms  trim or loop points move
    flac      7.2 MB    83 ms   62 ms  max 2, mean 0.26

The bytes and i16's outcome depend on the sound: `python -m gansynth_live.cluster.measure`
(its default latent, seed 3) gave the same day f32 9 / 2 ms, i16 7.8 MB with no point moved
but max 267 and mean 68 ulps, flac 8.1 MB, 72 / 57 ms, max 2, mean 0.27.

i16 breaks the banks' parity bound (mean 16 ulps of the peak, tests/float32.py): its
step is 256 ulps of the peak, and a note's trim and loop points can move. flac keeps
parity at about half f32's bytes (46-52 % above) for ~0.13 s more CPU a bank (encode on the
server, decode here, one after the other), which pays off on any link slower than
~500 Mbit/s (8.4 MB less to send takes longer than 0.13 s below it): Wi-Fi, an SSH tunnel
across the internet, a shared gigabit link. f32 remains a choice
(`RemoteGenerator(..., wire_format="f32")`) for a fast wired link or a server on the same
machine.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMATS = ("f32", "i16", "flac")
DEFAULT_FORMAT = "flac"
DEFAULT_PORT = 8100  # generate-server's, and a client URL's when it names none
MAX_REQUEST_BYTES = 16 * 1024  # 256 float64 reprs (~6 KB) and 128 pitches fit twice over
MAX_PITCHES = 128
MAX_HEADER_BYTES = 64 * 1024  # 128 scales and a few fields
_I16_FULL = 32767
_I24_FULL = (1 << 23) - 1
_HEADER_LEN = struct.Struct("<I")


class WireError(ValueError):
    """A request or response that does not follow the wire format; its text is one line."""


@dataclass(frozen=True)
class GenerateRequest:
    """One latent at some pitches, and the format the waves should come back in."""

    latent: np.ndarray  # float64 [latent_size]
    pitches: tuple[int, ...]
    format: str = DEFAULT_FORMAT

    def to_json(self) -> bytes:
        return json.dumps({"latent": [float(x) for x in np.asarray(self.latent).ravel()],
                           "pitches": [int(p) for p in self.pitches],
                           "format": self.format}).encode()


def parse_request(body: bytes, latent_size: int | None = None,
                  pitch_range: range | None = None) -> GenerateRequest:
    """A checked request; WireError (one line, for a 400) for anything else."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WireError(f"request body of {len(body)} bytes is over {MAX_REQUEST_BYTES}")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WireError("request body is not JSON") from None
    if not isinstance(data, dict):
        raise WireError("request body must be a JSON object")
    unknown = set(data) - {"latent", "pitches", "format"}
    if unknown:
        raise WireError(f"unknown request field {sorted(unknown)[0]!r}")
    fmt = data.get("format", DEFAULT_FORMAT)
    if fmt not in FORMATS:
        raise WireError(f"format must be one of {', '.join(FORMATS)}")
    latent = data.get("latent")
    if not isinstance(latent, list) or not latent or not all(_is_number(x) for x in latent):
        raise WireError("latent must be a non-empty list of numbers")
    try:
        values = np.array([float(x) for x in latent], np.float64)  # 10**400: OverflowError
    except OverflowError:
        values = np.array([np.inf])
    if not np.all(np.isfinite(values)):
        raise WireError("latent contains NaN or infinity")
    if latent_size is not None and len(latent) != latent_size:
        raise WireError(f"latent has {len(latent)} numbers; the model takes {latent_size}")
    pitches = data.get("pitches")
    if not isinstance(pitches, list) or not pitches:
        raise WireError("pitches must be a non-empty list of MIDI numbers")
    if len(pitches) > MAX_PITCHES:
        raise WireError(f"{len(pitches)} pitches in one request; at most {MAX_PITCHES}")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in pitches):
        raise WireError("pitches must be whole MIDI numbers")
    if pitch_range is not None:
        outside = [p for p in pitches if p not in pitch_range]
        if outside:
            raise WireError(f"pitch {outside[0]} is outside the model's "
                            f"{pitch_range[0]}..{pitch_range[-1]}")
    return GenerateRequest(values, tuple(pitches), fmt)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class WaveHeader:
    """What the response says about its waves."""

    shape: tuple[int, int]
    format: str
    generate_s: float
    fingerprint: str
    scale: tuple[float, ...] = ()


def encode_waves(waves: np.ndarray, fmt: str, generate_s: float, fingerprint: str,
                 sample_rate: int = 16000) -> bytes:
    """float32 waves [notes, samples] -> a response body in `fmt`."""
    waves = np.asarray(waves, np.float32)
    if waves.ndim != 2:
        raise ValueError(f"waves must be [notes, samples], got shape {waves.shape}")
    scale: list[float] = []
    if fmt == "f32":
        payload = waves.astype("<f4", copy=False).tobytes()
    elif fmt == "i16":
        scale, q = _quantise(waves, _I16_FULL)
        payload = q.astype("<i2").tobytes()
    elif fmt == "flac" and waves.size == 0:
        payload = b""  # libsndfile cannot read back an empty FLAC stream
    elif fmt == "flac":
        import soundfile as sf

        scale, q = _quantise(waves, _I24_FULL)
        buffer = io.BytesIO()
        # int32 with the 24 bits on top: libsndfile keeps them as they are
        sf.write(buffer, (q.astype(np.int32) << 8).reshape(-1), sample_rate, format="FLAC",
                 subtype="PCM_24")
        payload = buffer.getvalue()
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    header = {"shape": list(waves.shape), "format": fmt, "generate_s": float(generate_s),
              "fingerprint": fingerprint, "scale": scale, "bytes": len(payload)}
    head = json.dumps(header).encode()
    return _HEADER_LEN.pack(len(head)) + head + payload


def _quantise(waves: np.ndarray, full: int) -> tuple[list[float], np.ndarray]:
    """Per-note scales (peak / full; 1 for silence) and the rounded integers."""
    peaks = np.max(np.abs(waves), axis=1).astype(np.float64)
    scales = np.where(peaks > 0, peaks / full, 1.0)
    q = np.clip(np.rint(waves / scales[:, None]), -full, full)
    return [float(s) for s in scales], q


def decode_waves(body: bytes) -> tuple[np.ndarray, WaveHeader]:
    """A response body -> float32 waves [notes, samples] and its header; WireError if bad."""
    if len(body) < _HEADER_LEN.size:
        raise WireError("response too short for its header")
    (size,) = _HEADER_LEN.unpack_from(body)
    if size > MAX_HEADER_BYTES or _HEADER_LEN.size + size > len(body):
        raise WireError(f"response header of {size} bytes does not fit the response")
    try:
        raw = json.loads(body[_HEADER_LEN.size:_HEADER_LEN.size + size])
        header = WaveHeader(shape=(int(raw["shape"][0]), int(raw["shape"][1])),
                            format=str(raw["format"]), generate_s=float(raw["generate_s"]),
                            fingerprint=str(raw["fingerprint"]),
                            scale=tuple(float(s) for s in raw.get("scale", ())))
        declared = int(raw["bytes"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, IndexError, TypeError,
            ValueError):
        raise WireError("response header is not the wire format's JSON") from None
    payload = memoryview(body)[_HEADER_LEN.size + size:]
    if len(payload) != declared:
        raise WireError(f"response payload is {len(payload)} bytes; its header says {declared}")
    notes, samples = header.shape
    if notes < 0 or samples < 0:
        raise WireError(f"response shape {header.shape} is negative")
    if header.format != "f32" and len(header.scale) != notes:
        raise WireError(f"{len(header.scale)} scales for {notes} notes")
    if header.format == "f32":
        waves = _frombuffer(payload, "<f4", notes * samples)
    elif header.format == "i16":
        waves = _frombuffer(payload, "<i2", notes * samples).astype(np.float32)
    elif header.format == "flac":
        waves = _read_flac(payload, notes * samples) if notes * samples else np.zeros(0)
    else:
        raise WireError(f"response format {header.format!r} is not one of {', '.join(FORMATS)}")
    waves = waves.reshape(notes, samples)
    if header.format != "f32":
        waves = (waves * np.asarray(header.scale, np.float64)[:, None]).astype(np.float32)
    return waves.astype(np.float32, copy=False), header


def _frombuffer(payload: memoryview, dtype: str, count: int) -> np.ndarray:
    expected = count * np.dtype(dtype).itemsize
    if len(payload) != expected:
        raise WireError(f"response payload is {len(payload)} bytes; its header says {expected}")
    return np.frombuffer(payload, dtype).astype(dtype[1:])  # a copy the caller may write


def _read_flac(payload: memoryview, count: int) -> np.ndarray:
    import soundfile as sf

    try:
        q, _ = sf.read(io.BytesIO(payload), dtype="int32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise WireError(f"response FLAC stream unreadable: {exc}") from None
    if q.ndim != 1 or len(q) != count:
        raise WireError(f"response FLAC stream has {q.size} samples; its header says {count}")
    return (q >> 8).astype(np.float64)
