"""Copy a trained model folder into the package as the shipped model: weights as fp16 safetensors
(half the size, loaded back as fp32), tokenizer, config and tinysent.json. The model card
(README.md) already in the destination is kept. Refuses when fp16 changes any label on the export's
reference tweets.

    python scripts/ship_model.py runs/student-prune
"""

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from tinysent.export import REFERENCE
from tinysent.predict import SHIPPED_DIR, Predictor

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("model", help="trained model folder (tinysent train / distill --out)")
p.add_argument("--dest", default=str(SHIPPED_DIR))
a = p.parse_args()
src, dest = Path(a.model), Path(a.dest)
dest.mkdir(parents=True, exist_ok=True)
for f in dest.iterdir():
    if f.is_file() and f.name != "README.md":
        f.unlink()
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "tinysent.json", "vocab.txt"):
    if (src / name).exists():
        shutil.copy(src / name, dest / name)
sd = load_file(str(src / "model.safetensors"))
save_file({k: v.to(torch.float16) for k, v in sd.items()}, str(dest / "model.safetensors"))

p32, _ = Predictor.from_dir(src, backend="torch", device="cpu").positive_proba(REFERENCE)
p16, _ = Predictor.from_dir(dest, backend="torch", device="cpu").positive_proba(REFERENCE)
agree = float(np.mean((p32 >= 0.5) == (p16 >= 0.5)))
size = (dest / "model.safetensors").stat().st_size / 2**20
diff = np.abs(p32 - p16).max()
print(f"{dest}: {size:.1f} MiB, fp16 vs fp32 label agreement {agree:.3f}, max |dp| {diff:.2e}")
if agree < 1.0:
    raise SystemExit("fp16 changed a label on the reference tweets: ship fp32 instead")
