"""The model a bank service generates with, known by its stamp before it is loaded.

Loading a model means importing TensorFlow (seconds) and reading every weight
(to fingerprint them), yet a restart with a warm cache should play within a
second. So the stamp (fingerprint, latent size, pitch range, ...) of every
model folder loaded once is remembered in `models.json` beside the banks,
keyed by the folder's path and the size and mtime of each of its files: a
changed checkpoint misses the memo and is fingerprinted again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..model.prior import NORMAL, LatentPrior, read_prior

if TYPE_CHECKING:
    from ..model.gansynth import GanSynth

log = logging.getLogger(__name__)

MEMO_NAME = "models.json"
_MEMO_MAX = 64


@dataclass(frozen=True)
class ModelStamp:
    """What bank building needs to know about a model without loading it."""

    fingerprint: str
    name: str
    latent_size: int
    pitch_min: int
    num_pitches: int
    sample_rate: int
    audio_length: int
    batch_size: int

    @property
    def pitch_range(self) -> range:
        return range(self.pitch_min, self.pitch_min + self.num_pitches)

    def random_latents(self, n: int, seed: int | None = None) -> np.ndarray:
        """magenta's N(0, 1) draw, without TensorFlow (a model's own prior:
        ModelSource.prior)."""
        return np.random.RandomState(seed).normal(size=[n, self.latent_size])

    @classmethod
    def of(cls, model: GanSynth, name: str = "") -> "ModelStamp":
        return cls(fingerprint=model.fingerprint, name=name or Path(str(model.info.path)).name,
                   latent_size=model.latent_size, pitch_min=model.pitch_range[0],
                   num_pitches=len(model.pitch_range), sample_rate=model.sample_rate,
                   audio_length=model.config.audio_length,
                   batch_size=model.default_batch_size)


def folder_signature(model_dir: Path) -> str | None:
    """Hash of a model folder's path and its files' sizes and mtimes; None if unreadable."""
    try:
        root = model_dir.expanduser().resolve()
        files = [root / "experiment.json"]
        for stage in sorted(root.glob("stage_*")):
            if stage.is_dir():
                files.extend(sorted(p for p in stage.iterdir() if p.is_file()))
        digest = hashlib.sha256(str(root).encode())
        for path in files:
            st = path.stat()
            digest.update(f"|{path.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}".encode())
    except OSError:
        return None
    return digest.hexdigest()


class StampMemo:
    """models.json: folder signature -> ModelStamp. Corrupt memos are ignored, not fatal."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / MEMO_NAME
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("model memo '%s' unreadable (%s); ignoring it", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, model_dir: Path) -> ModelStamp | None:
        signature = folder_signature(model_dir)
        if signature is None:
            return None
        with self._lock:
            raw = self._read().get(signature)
        try:
            return ModelStamp(**raw) if isinstance(raw, dict) else None
        except TypeError:
            return None

    def put(self, model_dir: Path, stamp: ModelStamp) -> None:
        signature = folder_signature(model_dir)
        if signature is None:
            return
        with self._lock:
            data = self._read()
            data.pop(signature, None)
            data[signature] = asdict(stamp)
            while len(data) > _MEMO_MAX:
                data.pop(next(iter(data)))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f".{MEMO_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
                tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError as exc:
                log.warning("cannot write model memo '%s': %s", self.path, exc)


class ModelSource:
    """A loaded model, or a model folder loaded on first use by the bank worker.

    `stamp` is available at once for a loaded model, and before loading for a
    folder the memo has seen. `load()` imports TensorFlow and reads the weights;
    call it from the bank worker, or before the service starts, never from two
    threads at once.
    """

    def __init__(self, model: GanSynth | None = None, path: str | Path | None = None,
                 memo: StampMemo | None = None, name: str = "") -> None:
        if model is None and path is None:
            raise ValueError("ModelSource needs a model or a model folder")
        self._model = model
        self.path = Path(path) if path is not None else None
        self.memo = memo
        self._stamp: ModelStamp | None = None
        self._name = name
        if model is not None:
            self._stamp = ModelStamp.of(model, name)
        elif memo is not None and self.path is not None:
            self._stamp = memo.get(self.path)

    @property
    def stamp(self) -> ModelStamp | None:
        return self._stamp

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def prior(self, latent_size: int) -> LatentPrior:
        """Where this model's random instruments come from, without loading TensorFlow: the
        loaded model's, else its folder's prior.json (model/prior.py), else N(0, 1)."""
        if self._model is not None:
            return self._model.prior
        if self.path is not None:
            return read_prior(self.path, latent_size)
        return NORMAL

    def adopt_stamp(self, stamp: ModelStamp) -> None:
        """The stamp of this folder's model as another process loaded it (remembered too)."""
        if self._stamp is not None and self._stamp != stamp:
            log.warning("model '%s' changed since it was remembered; stamp refreshed", self.path)
        self._stamp = stamp
        if self.memo is not None and self.path is not None:
            self.memo.put(self.path, stamp)

    def load(self) -> GanSynth:
        if self._model is None:
            from ..model import load_model

            assert self.path is not None
            self._model = load_model(self.path)
            stamp = ModelStamp.of(self._model, self._name or self.path.name)
            if self._stamp is not None and self._stamp != stamp:
                log.warning("model '%s' changed since it was remembered; stamp refreshed",
                            self.path)
            self._stamp = stamp
            if self.memo is not None:
                self.memo.put(self.path, stamp)
        return self._model
