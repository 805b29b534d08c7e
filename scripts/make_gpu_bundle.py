"""Pack what the GPU pipeline needs into .gpu/ (ignored by git): the minilm-l6 base in fp16 (the device
tool moves at most 64 MiB), a stratified training subsample (xz) and the test file."""

import argparse
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from tinysent import data as D
from tinysent.models import resolve_base

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--data", required=True, help="Sentiment140 folder")
p.add_argument("--n", type=int, default=600_000)
p.add_argument("--out", default=".gpu")
a = p.parse_args()
out = Path(a.out)
(out / "minilm").mkdir(parents=True, exist_ok=True)
base = resolve_base("minilm-l6")
for f in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
    shutil.copy(base / f, out / "minilm" / f)
sd = load_file(base / "model.safetensors")
save_file({k: v.to(torch.float16) for k, v in sd.items()}, out / "minilm" / "model.safetensors")
corpus = D.load(a.data, "train")
idx = D.stratified_sample(corpus.polarity, a.n, seed=0)
D.write_csv(corpus.subset(idx), out / f"train{a.n // 1000}k.csv.xz")
shutil.copy(D.resolve(a.data, "test")[0], out / "test.csv")
print(sorted((p.name, p.stat().st_size) for p in out.rglob("*") if p.is_file()))
