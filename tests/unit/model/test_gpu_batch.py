"""On a GPU a bank goes in one or two batches; on the CPU magenta's batch stays."""

from __future__ import annotations

from gansynth_live.model import gansynth


def test_default_batch_on_cpu_and_gpu(tiny_model, monkeypatch):
    cpu = tiny_model.config.batch_size_for_stage(tiny_model.info.stage_id)
    monkeypatch.setattr(gansynth, "_GPUS", [])
    assert tiny_model.default_batch_size == cpu
    monkeypatch.setattr(gansynth, "_GPUS", ["/physical_device:GPU:0"])
    batch = tiny_model.default_batch_size
    assert batch >= cpu and -(-61 // batch) <= 2


def test_gpu_setup_can_run_again():
    assert gansynth.gpus() == gansynth._GPUS  # idempotent; [] on a machine without one
