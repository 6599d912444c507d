"""The shipped model: hashed-feature logistic regression + Platt calibration, pure numpy.

Weights file (``.npz``, written deterministically so the same training run gives the same bytes):

- ``w`` float32[n_features]  hashed-feature weights
- ``b`` float32[]            intercept
- ``platt`` float32[2]       calibration ``p = sigmoid(a * z + c)`` fitted on the dev split
- ``threshold`` float32[]    ``unlikely_threshold`` chosen on dev (see ``evals/turn_detection/train.py`` in the suite)
- ``meta`` str (JSON)        feature version, n_features, training figures
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .features import FEATURE_VERSION, SUPPORTED_FEATURE_VERSIONS, featurize, hash_features

DEFAULT_MODEL_NAME = "semantic_turn_v3"


def default_model_path() -> str:
    """Path of the weights shipped inside the package."""
    return str(resources.files(__package__).joinpath("resources", DEFAULT_MODEL_NAME + ".npz"))


def save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-for-byte reproducible (fixed zip timestamps)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def sigmoid(z: float) -> float:
    """Numerically stable logistic function."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class TurnModel:
    w: np.ndarray
    b: float
    platt_a: float = 1.0
    platt_c: float = 0.0
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)
    feature_version: int = FEATURE_VERSION

    @property
    def n_features(self) -> int:
        return int(self.w.shape[0])

    @classmethod
    def load(cls, path: str | None = None) -> TurnModel:
        path = path or default_model_path()
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("feature_version") not in SUPPORTED_FEATURE_VERSIONS:
                raise ValueError(
                    f"{path}: feature version {meta.get('feature_version')} not in "
                    f"{SUPPORTED_FEATURE_VERSIONS}"
                )
            platt = z["platt"].astype(np.float64)
            if meta["feature_version"] >= 3:
                from .ngram import shared_lm

                shared_lm().load()  # at start-up, not on the first caller turn
            return cls(
                w=z["w"].astype(np.float32),
                b=float(z["b"]),
                platt_a=float(platt[0]),
                platt_c=float(platt[1]),
                threshold=float(z["threshold"]),
                meta=meta,
                feature_version=int(meta["feature_version"]),
            )

    def save(self, path: str) -> None:
        meta = dict(self.meta)
        meta["feature_version"] = self.feature_version
        meta["n_features"] = self.n_features
        save_npz(
            path,
            {
                "w": self.w.astype(np.float32),
                "b": np.array(self.b, dtype=np.float32),
                "platt": np.array([self.platt_a, self.platt_c], dtype=np.float32),
                "threshold": np.array(self.threshold, dtype=np.float32),
                "meta": np.array(json.dumps(meta, sort_keys=True)),
            },
        )

    def raw_score(self, text: str, context: Sequence[str] = ()) -> float:
        """Uncalibrated logit."""
        idx = hash_features(featurize(text, context, self.feature_version), self.n_features)
        return float(self.w[idx].sum(dtype=np.float64)) + self.b

    def predict(self, text: str, context: Sequence[str] = ()) -> float:
        """Calibrated P(end of turn)."""
        return sigmoid(self.platt_a * self.raw_score(text, context) + self.platt_c)
