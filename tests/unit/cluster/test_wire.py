"""The generate server's wire format: round trips, precision per format, hostile bodies."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from gansynth_live.cluster import wire

LATENT_SIZE = 256
PITCHES = range(24, 85)


def waves(notes: int = 3, samples: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.normal(scale=0.2, size=(notes, samples)).astype(np.float32)
    out[-1] *= 1e-3  # a quiet note keeps its precision: scales are per note
    return out


def test_f32_is_exact():
    w = waves()
    got, header = wire.decode_waves(wire.encode_waves(w, "f32", 0.25, "abc"))
    assert got.dtype == np.float32 and np.array_equal(got, w)
    assert header == wire.WaveHeader((3, 4000), "f32", 0.25, "abc", ())
    got[0, 0] = 1.0  # the caller may write into what it got


@pytest.mark.parametrize("fmt, steps", [("i16", 32767), ("flac", (1 << 23) - 1)])
def test_integer_formats_are_within_half_a_step_of_each_notes_peak(fmt, steps):
    w = waves()
    got, header = wire.decode_waves(wire.encode_waves(w, fmt, 0.0, "f"))
    assert got.dtype == np.float32 and got.shape == w.shape and header.format == fmt
    peaks = np.max(np.abs(w), axis=1)
    error = np.max(np.abs(got.astype(np.float64) - w), axis=1)
    # half a step, plus float32 rounding of the decoded value
    assert np.all(error <= peaks / steps * 0.5 + peaks * 1.2e-7)
    assert np.allclose(np.max(np.abs(got), axis=1), peaks, rtol=1e-6)


@pytest.mark.parametrize("fmt", wire.FORMATS)
def test_silence_and_empty_survive(fmt):
    for w in (np.zeros((2, 100), np.float32), np.zeros((0, 100), np.float32)):
        got, header = wire.decode_waves(wire.encode_waves(w, fmt, 0.0, "f"))
        assert np.array_equal(got, w) and header.shape == w.shape


def test_the_default_format_keeps_parity():
    assert wire.DEFAULT_FORMAT in ("f32", "flac")  # i16 breaks it (wire.py's table)


def test_a_request_round_trips():
    latent = np.random.default_rng(1).normal(size=LATENT_SIZE)
    request = wire.GenerateRequest(latent, (24, 60, 84), "i16")
    parsed = wire.parse_request(request.to_json(), LATENT_SIZE, PITCHES)
    assert np.array_equal(parsed.latent, latent)  # JSON floats are exact float64
    assert parsed.pitches == (24, 60, 84) and parsed.format == "i16"
    assert len(request.to_json()) < wire.MAX_REQUEST_BYTES // 2


def body(**fields) -> bytes:
    data = {"latent": [0.5] * LATENT_SIZE, "pitches": [60], "format": "f32", **fields}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


@pytest.mark.parametrize("raw, reason", [
    (b"{", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b"[" * 100000, "over"),
    (b"[" * 10000, "not JSON"),
    (b" " * (wire.MAX_REQUEST_BYTES + 1), "over"),
    (body(latent=...), "latent must be"),
    (body(latent=[]), "latent must be"),
    (body(latent=["1"] * LATENT_SIZE), "latent must be"),
    (body(latent=[True] * LATENT_SIZE), "latent must be"),
    (body(latent=[0.0] * 3), "takes 256"),
    (body(latent=[1e400] + [0.0] * (LATENT_SIZE - 1)), "NaN or infinity"),
    (body(latent=[10**400] + [0.0] * (LATENT_SIZE - 1)), "NaN or infinity"),
    (body(pitches=...), "pitches must be"),
    (body(pitches=[]), "pitches must be"),
    (body(pitches=[60.0]), "whole MIDI"),
    (body(pitches=[True]), "whole MIDI"),
    (body(pitches=[60] * (wire.MAX_PITCHES + 1)), "at most 128"),
    (body(pitches=[23]), "outside the model's 24..84"),
    (body(format="wav"), "format must be"),
    (body(extra=1), "unknown request field"),
])
def test_bad_requests_are_one_line(raw, reason):
    with pytest.raises(wire.WireError, match=reason) as info:
        wire.parse_request(raw, LATENT_SIZE, PITCHES)
    assert "\n" not in str(info.value)


def test_nan_spelt_in_json_is_refused():
    raw = body().replace(b"0.5", b"NaN", 1)
    with pytest.raises(wire.WireError, match="NaN"):
        wire.parse_request(raw, LATENT_SIZE, PITCHES)


@pytest.mark.parametrize("fmt", wire.FORMATS)
def test_damaged_responses_are_wire_errors(fmt):
    good = wire.encode_waves(waves(), fmt, 0.0, "f")
    (size,) = struct.unpack_from("<I", good)
    damaged = [
        b"",
        good[:2],
        struct.pack("<I", 1 << 30) + good[4:],
        good[:4] + b"x" * size + good[4 + size:],
        good[:-10],
        good + b"\0" * 8,
    ]
    for raw in damaged:
        with pytest.raises(wire.WireError):
            wire.decode_waves(raw)


def test_a_header_with_the_wrong_number_of_scales_is_refused():
    good = wire.encode_waves(waves(), "i16", 0.0, "f")
    (size,) = struct.unpack_from("<I", good)
    header = json.loads(good[4:4 + size])
    header["scale"] = header["scale"][:1]
    head = json.dumps(header).encode()
    with pytest.raises(wire.WireError, match="1 scales for 3 notes"):
        wire.decode_waves(struct.pack("<I", len(head)) + head + good[4 + size:])


def test_the_measurement_behind_the_default():
    from gansynth_live.banks.builder import BuildSettings
    from gansynth_live.cluster.measure import format_table, measure_formats

    t = np.arange(64000) / 16000
    env = np.clip(t / 0.02, 0, 1) * np.where(t < 3.0, 1.0, np.exp(-(t - 3.0) / 0.05))
    tones = np.stack([0.3 * np.sin(2 * np.pi * 440 * 2 ** (k / 12) * t) * env
                      for k in (-12, 0, 12)]).astype(np.float32)
    rows = {r.format: r for r in measure_formats(tones, [57, 69, 81], 16000,
                                                 BuildSettings(), repeats=1)}
    assert rows["f32"].max_ulps == 0 and rows["f32"].bytes > rows["flac"].bytes
    assert rows["flac"].mean_ulps < 16 < rows["i16"].mean_ulps  # tests/float32.py's bound
    assert "flac" in format_table(list(rows.values()))
