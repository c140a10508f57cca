"""Writing a model folder in magenta's layout, so our own models load like released ones.

The folder is written beside its destination and renamed into place, so a
reader never sees a half-written model. Tensor names follow magenta's
checkpoints: raw weights, their `/ExponentialMovingAverage` shadows and
`global_step` (the image counter that sets the progressive-growing stage).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .checkpoint import EMA_SUFFIX
from .config import ModelConfig


def final_stage(config: ModelConfig) -> tuple[int, int]:
    """(stage_id, global_step) of a fully grown model: the last stage, past all fades."""
    stage_id = 2 * config.num_resolutions - 2
    n = config.num_resolutions
    step = n * config.stable_stage_num_images + (n - 1) * config.transition_stage_num_images
    return stage_id, step


def write_checkpoint(prefix: Path, tensors: dict[str, np.ndarray]) -> None:
    """A TF tensor-bundle checkpoint (model.ckpt-N.index/.data) with exactly these names."""
    import tensorflow as tf

    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names,
                      shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(tensors[n]) for n in names])


def write_model_dir(dest: Path, config: ModelConfig, ema_weights: dict[str, np.ndarray],
                    raw_weights: dict[str, np.ndarray] | None = None,
                    extra_json: dict | None = None, *, include_raw: bool = True,
                    extra_files: dict[str, bytes] | None = None) -> Path:
    """Write experiment.json + stage_NNNNN/model.ckpt-N.* atomically at `dest`.

    An existing `dest` is replaced only after the new folder is complete.
    `include_raw=False` leaves out the raw (non-EMA) weights, which sampling never
    reads: half the size, for models shipped in the package. `extra_files` are
    written beside experiment.json (plain names only) inside the same atomic swap.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage_id, step = final_stage(config)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a model folder is for everyone to read
        experiment = config.to_json_dict()
        experiment.update(extra_json or {})
        (tmp / "experiment.json").write_text(json.dumps(experiment, indent=1, sort_keys=True))
        stage_dir = tmp / f"stage_{stage_id:05d}"
        stage_dir.mkdir()
        tensors: dict[str, np.ndarray] = {"global_step": np.array(step, dtype=np.int64)}
        for name, value in ema_weights.items():
            tensors[name + EMA_SUFFIX] = np.asarray(value, np.float32)
            if include_raw:
                raw = raw_weights[name] if raw_weights is not None else value
                tensors[name] = np.asarray(raw, np.float32)
        prefix = stage_dir / f"model.ckpt-{step}"
        write_checkpoint(prefix, tensors)
        (stage_dir / "checkpoint").write_text(
            f'model_checkpoint_path: "{prefix.name}"\n'
            f'all_model_checkpoint_paths: "{prefix.name}"\n')
        extra_paths = []
        for fname, data in (extra_files or {}).items():
            if "/" in fname or "\\" in fname or fname.startswith(".") or \
                    fname == "experiment.json":
                raise ValueError(f"extra file name {fname!r} is not a plain file name")
            (tmp / fname).write_bytes(data)
            extra_paths.append(tmp / fname)
        for path in [*stage_dir.iterdir(), tmp / "experiment.json", *extra_paths]:
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.rename(dest, old)
        os.rename(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
