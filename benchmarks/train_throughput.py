"""Training throughput (examples/s) of the TinyBERT 4L-312D shape on this CPU: a naive fixed-padding
loop (max_len 48, batch 64, random batches) against tinysent's loop (length-grouped batches, dynamic
padding), each with and without bf16 autocast.

    python benchmarks/train_throughput.py --data ../shared/data/sentiment140
writes benchmarks/results/train_throughput.json. Accuracy at equal data is checked on 2,000 held-out tweets.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

from tinysent.core.normalize import Normalizer  # noqa: E402
from tinysent.core.tokenize import encode  # noqa: E402
from tinysent.data import sentiment140 as D  # noqa: E402
from tinysent.train.batching import collate, length_grouped_batches  # noqa: E402
from tinysent.train.models import build_student, load_tokenizer, resolve_base  # noqa: E402


def run(ids, labels, val_ids, val_labels, grouped: bool, bf16: bool, batch: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = build_student("tinybert-4l", 30522)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
    lengths = np.array([len(x) for x in ids])
    if grouped:
        batches = length_grouped_batches(lengths, batch, seed)
    else:
        perm = np.random.default_rng(seed).permutation(len(ids))
        batches = [perm[i : i + batch].tolist() for i in range(0, len(ids), batch)]
    model.train()
    t = time.perf_counter()
    for b in batches:
        if grouped:
            x = collate([{"input_ids": ids[i], "index": i, "labels": int(labels[i])} for i in b])
        else:  # fixed padding to 48, as a plain loop does
            rows = [ids[i][:48] + [0] * (48 - len(ids[i][:48])) for i in b]
            x = {
                "input_ids": torch.tensor(rows),
                "attention_mask": (torch.tensor(rows) != 0).long(),
                "labels": torch.tensor(labels[b]),
            }
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(
                input_ids=x["input_ids"], attention_mask=x["attention_mask"], labels=x["labels"]
            ).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    rate = len(ids) / (time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, len(val_ids), 256):
            x = collate([{"input_ids": v, "index": 0} for v in val_ids[i : i + 256]])
            pred = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"]).logits.argmax(-1)
            correct += int((pred.numpy() == val_labels[i : i + 256]).sum())
    return {"examples_per_s": round(rate, 1), "val_accuracy_after": correct / len(val_ids)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=6000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_throughput.json"))
    a = p.parse_args()
    corpus = D.load(a.data, "train")
    idx = D.stratified_sample(corpus.polarity, a.n + 2000, seed=1)
    sub = corpus.subset(idx)
    tok = load_tokenizer(resolve_base("minilm-l6"))  # the same uncased WordPiece vocab as TinyBERT
    ids = encode(Normalizer().many(sub.texts), tok, 64)
    labels = sub.classes
    rng = np.random.default_rng(0).permutation(len(ids))
    tr, va = rng[: a.n], rng[a.n :]
    args = ([ids[i] for i in tr], labels[tr], [ids[i] for i in va], labels[va])
    torch.set_num_threads(torch.get_num_threads())
    results = {}
    for name, grouped, bf16 in [
        ("naive_fixed48_fp32", False, False),
        ("tinysent_grouped_fp32", True, False),
        ("naive_fixed48_bf16", False, True),
        ("tinysent_grouped_bf16", True, True),
    ]:
        results[name] = run(*args, grouped=grouped, bf16=bf16, batch=a.batch)
        print(name, results[name], flush=True)
    write_result(
        a.out,
        "training throughput, TinyBERT 4L-312D shape from random init, one epoch",
        {
            "train_tweets": a.n,
            "batch": a.batch,
            "val_tweets": 2000,
            "results": results,
            "goal_examples_per_s": 150,
            "note": "accuracy after one short epoch from random weights is near chance for every variant; "
            "it is reported to show that the variants learn alike, not as a model result",
        },
    )


if __name__ == "__main__":
    main()
