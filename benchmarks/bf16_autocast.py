"""bf16 autocast against fp32 on this CPU for the two shapes the recipes' long steps train and run:
an MPNet-base-shaped classifier (the teacher: 12 x 768) and a MiniLM-L6-shaped one (the accurate
tier's student: 6 x 384). Per shape and precision: seconds per training step (AdamW, forward and
backward) and inference tweets/s, on random token ids of one length (no data needed), randomly
initialised weights (speed does not depend on their values). On a CPU with AMX (Sapphire Rapids)
bf16 runs the matrix products on the tile unit; on AVX-512 BF16 or AVX2-only CPUs it gains less or
loses: measure before choosing `--mixed-precision bf16`.

    python benchmarks/bf16_autocast.py
writes benchmarks/results/bf16_autocast.json.
"""

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

SHAPES = {  # name: (model type, layers, width, heads, FFN width, training batch)
    "mpnet-base (teacher)": ("mpnet", 12, 768, 12, 3072, 32),
    "minilm-l6 (accurate student)": ("bert", 6, 384, 12, 1536, 64),
}


def measure(kind, layers, width, heads, ffn, batch, length, steps, infer_batch) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    torch.manual_seed(0)
    cfg = AutoConfig.for_model(
        kind,
        num_labels=3,
        vocab_size=30527,
        hidden_size=width,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
    )
    model = AutoModelForSequenceClassification.from_config(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(5, 30000, (batch, length))
    labels = torch.randint(0, 3, (batch,))
    x = torch.randint(5, 30000, (infer_batch, length))
    out = {}
    for precision in ("fp32", "bf16"):
        bf16 = precision == "bf16"

        def autocast(bf16=bf16):
            return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

        model.train()
        times = []
        for _ in range(steps + 1):  # the first step warms up
            t = time.perf_counter()
            with autocast():
                loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
            times.append(time.perf_counter() - t)
        model.eval()
        calls = []
        with torch.inference_mode():
            for _ in range(4):
                t = time.perf_counter()
                with autocast():
                    model(input_ids=x)
                calls.append(time.perf_counter() - t)
        step = sorted(times[1:])[len(times[1:]) // 2]
        call = sorted(calls[1:])[len(calls[1:]) // 2]
        out[precision] = {
            "train_s_per_step": round(step, 3),
            "infer_tweets_per_s": round(infer_batch / call, 1),
        }
    out["bf16_speedup"] = {
        "train": round(out["fp32"]["train_s_per_step"] / out["bf16"]["train_s_per_step"], 2),
        "infer": round(out["bf16"]["infer_tweets_per_s"] / out["fp32"]["infer_tweets_per_s"], 2),
    }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--length", type=int, default=48, help="tokens per tweet")
    p.add_argument("--steps", type=int, default=5, help="timed training steps per shape and precision")
    p.add_argument("--infer-batch", type=int, default=128)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bf16_autocast.json"))
    a = p.parse_args()
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    shapes = {}
    for name, (kind, layers, width, heads, ffn, batch) in SHAPES.items():
        shapes[name] = {
            "training_batch": batch,
            **measure(kind, layers, width, heads, ffn, batch, a.length, a.steps, a.infer_batch),
        }
        print(name, shapes[name], flush=True)
    fields = {
        "cpu_flags": {f: f in flags for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2")},
        "length": a.length,
        "infer_batch": a.infer_batch,
        "median_of": {"train_steps": a.steps, "infer_calls": 3},
        "shapes": shapes,
    }
    write_result(a.out, "bf16_autocast", fields)


if __name__ == "__main__":
    main()
