"""Temperature scaling fitted on the model's own validation split (rebuilt from the config saved with
the model: same data, seed and fractions), stored in tinysent.json and applied by predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import ModelMeta, TrainConfig
from .evaluate import binary_metrics
from .normalize import Normalizer
from .report import expected_calibration_error, fit_temperature


def validation_split(model_dir: str | Path, tokenizer, data: str | None = None):
    """The model's validation split rebuilt from its saved config (same data, seed, fractions): the
    place to choose anything about a trained model (temperature, int8 scheme), never the test set."""
    from .train import prepare_data

    meta = ModelMeta.load(model_dir)
    cfg = TrainConfig.from_dict(
        {
            **meta.config,
            "data": data or meta.config.get("data"),
            "max_length": meta.max_length,
            "max_train": 2,  # only the validation split is used; it does not depend on max_train
        }
    )
    if cfg.data is None:
        raise ValueError("the model's config names no training data: pass --data")
    return prepare_data(cfg, tokenizer, Normalizer(meta.normalizer_config))


def calibrate(model_dir: str | Path, data: str | None = None) -> dict:
    from .predict import load

    model_dir = Path(model_dir)
    meta = ModelMeta.load(model_dir)
    pred = load(model_dir)
    prep = validation_split(model_dir, pred.tokenizer, data)
    logits = pred.logits(prep.val_ids, 256)
    y = prep.val_labels
    t = fit_temperature(logits, y)

    def p_pos(temp):
        z = logits / temp
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(1, keepdims=True))[:, meta.labels.index("positive")]

    before, _ = expected_calibration_error(y, p_pos(meta.temperature))
    after, _ = expected_calibration_error(y, p_pos(t))
    meta.temperature = t
    meta.metrics = {
        **meta.metrics,
        "calibration": {
            "temperature": t,
            "val_n": len(y),
            "ece_before": before,
            "ece_after": after,
            "val_accuracy": binary_metrics(y, p_pos(t))["accuracy"],
        },
    }
    meta.save(model_dir)
    return meta.metrics["calibration"]
