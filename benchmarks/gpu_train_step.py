"""GPU training-step throughput of the TinyBERT 4L-312D shape at several batch sizes, bf16 autocast,
token lengths of real tweets (a stratified sample of the training file, normalised and tokenised as
tinysent does, capped at 64), batches grouped by length as tinysent does. Measures the model +
optimizer step alone (no data loading), and the time one 1.6M-tweet epoch would take at that rate.

    python benchmarks/gpu_train_step.py --data ../shared/data/sentiment140   # on a CUDA machine
writes $OUT/gpu_train_step.json (or benchmarks/results/).
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification

from tinysent.core.normalize import Normalizer
from tinysent.core.tokenize import encode
from tinysent.data import sentiment140 as D
from tinysent.train.models import load_tokenizer, resolve_base

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--data", required=True, help="Sentiment140 training file or folder")
p.add_argument("--n", type=int, default=200_000, help="tweets whose token lengths drive the batches")
a = p.parse_args()
corpus = D.load(a.data, "train").polar()
sample = corpus.subset(D.stratified_sample(corpus.polarity, a.n, 0))
tok = load_tokenizer(resolve_base("minilm-l6"))  # the TinyBERT / BERT-base uncased vocabulary
lengths = np.array([len(x) for x in encode(Normalizer().many(sample.texts), tok, 64)], dtype=np.int64)
rng = np.random.default_rng(0)
dev = "cuda"
cfg = BertConfig(
    vocab_size=30522,
    hidden_size=312,
    num_hidden_layers=4,
    num_attention_heads=12,
    intermediate_size=1200,
    num_labels=2,
)
results = {
    "gpu": torch.cuda.get_device_name(0),
    "torch": torch.__version__,
    "mean_len": float(lengths.mean()),
    "p95_len": float(np.percentile(lengths, 95)),
    "runs": [],
}
for bs, lr in [(256, 2e-4), (1024, 4e-4), (4096, 8e-4)]:
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=True)
    order = np.argsort(lengths[: bs * 60])
    batches = [order[i : i + bs] for i in range(0, len(order), bs)]
    rng.shuffle(batches)

    def step(b, model=model, opt=opt):
        n = int(lengths[b].max())
        ids = torch.randint(1000, 30000, (len(b), n), device=dev)
        real = torch.as_tensor(lengths[b], device=dev)
        mask = (torch.arange(n, device=dev)[None, :] < real[:, None]).long()
        y = torch.randint(0, 2, (len(b),), device=dev)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, attention_mask=mask, labels=y).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for b in batches[:10]:  # warm-up: every shape once
        step(b)
    torch.cuda.synchronize()
    t = time.perf_counter()
    n = 0
    for b in batches[10:]:
        step(b)
        n += len(b)
    torch.cuda.synchronize()
    rate = n / (time.perf_counter() - t)
    results["runs"].append(
        {"batch": bs, "examples_per_s": round(rate), "epoch_1_6M_s": round(1.6e6 / rate, 1)}
    )
    print(results["runs"][-1], flush=True)
out = Path(os.environ.get("OUT") or Path(__file__).parent / "results") / "gpu_train_step.json"
out.write_text(json.dumps(results, indent=2) + "\n")
