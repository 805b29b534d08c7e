"""ONNX int8 against the PyTorch model on the model's own validation split (calibrate.validation_split):
accuracy of both, label agreement, probability differences.
Quantization choices are judged here, never on the test set.

    python scripts/int8_validation.py --model src/tinysent/shipped/tinysent-tinybert-4l \
        --onnx runs/shipped-onnx --out results/cpu-2026-11-26/shipped-prune-onnx-int8/validation.json
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinysent.calibrate import validation_split
from tinysent.predict import Predictor

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--model", required=True)
p.add_argument("--onnx", required=True)
p.add_argument("--data", default=None, help="training data (default: the one in the model's config)")
p.add_argument("--out", required=True)
a = p.parse_args()
ref = Predictor.from_dir(a.model, backend="torch", device="cpu")
q = Predictor.from_dir(a.onnx, backend="onnx")
prep = validation_split(a.model, ref.tokenizer, a.data)
y = np.asarray(prep.val_labels)


def proba(pred):
    z = pred.logits(prep.val_ids, 256).astype(np.float64)
    z -= z.max(-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(-1, keepdims=True))[:, 1]


p32, p8 = proba(ref), proba(q)
doc = {
    "model": a.model,
    "onnx": str(Path(a.onnx) / q.backend.file.name),
    "val_n": int(len(y)),
    "val_accuracy_torch_fp32": float(((p32 >= 0.5) == y).mean()),
    "val_accuracy_onnx": float(((p8 >= 0.5) == y).mean()),
    "label_agreement": float(((p32 >= 0.5) == (p8 >= 0.5)).mean()),
    "mean_abs_prob_diff": float(np.abs(p32 - p8).mean()),
    "max_abs_prob_diff": float(np.abs(p32 - p8).max()),
    "date": time.strftime("%Y-%m-%d"),
}
Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
print(json.dumps(doc, indent=2))
