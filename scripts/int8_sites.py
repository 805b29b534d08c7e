"""Where int8 loses a model's predictions: every Linear site of a BERT classifier quantized alone
(export.simulate_int8, which the tests check against ONNX Runtime), activations and weights apart,
per-tensor and per-channel weights, on the model's validation split. Mean |Δ logit margin| and
label flips against fp32. This is what chose per-channel weights for `tinysent export --int8`.

    python scripts/int8_sites.py --model src/tinysent/shipped/tinysent-tinybert-4l \
        --data .gpu/train600k.csv.xz --out results/cpu-2026-11-26/int8-sites.json
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

import tinysent.export as E
from tinysent.calibrate import validation_split
from tinysent.predict import Predictor

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--model", required=True)
p.add_argument("--data", default=None, help="training data (default: the one in the model's config)")
p.add_argument("--out", required=True)
a = p.parse_args()

ref = Predictor.from_dir(a.model, backend="torch", device="cpu")


ids = validation_split(a.model, ref.tokenizer, a.data).val_ids


def margin() -> np.ndarray:
    z = ref.logits(ids, 256)
    return z[:, 1] - z[:, 0]


m32 = margin()


def measure(**kw) -> dict:
    with E.simulate_int8(ref.model, **kw):
        m = margin()
    d = np.abs(m - m32)
    return {"mean_abs_margin_diff": round(float(d.mean()), 4), "flips": int(((m > 0) != (m32 > 0)).sum())}


def site(suffix):
    return lambda n: n.endswith(suffix) and not (suffix == "output.dense" and "attention" in n)


rows = {}
for pc in (False, True):
    tag = "per_channel" if pc else "per_tensor"
    rows[f"all/{tag}"] = measure(per_channel=pc)
    rows[f"all/{tag}/weights_only"] = measure(per_channel=pc, activations=False)
    rows[f"all/{tag}/activations_only"] = measure(per_channel=pc, weights=False)
    for s in ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"):
        rows[f"{s}/{tag}"] = measure(per_channel=pc, where=site(s))
    for layer in range(ref.model.config.num_hidden_layers):
        rows[f"layer{layer}/{tag}"] = measure(per_channel=pc, where=lambda n, L=layer: f"layer.{L}." in n)
doc = {
    "model": a.model,
    "val_n": len(ids),
    "what": "fp32 vs simulated int8 (dynamic uint8 activations per tensor), logit margin positive-negative",
    "sites": rows,
    "date": time.strftime("%Y-%m-%d"),
}
Path(a.out).parent.mkdir(parents=True, exist_ok=True)
Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
print(json.dumps(rows, indent=1))
