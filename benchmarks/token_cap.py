"""What capping padded tokens per model call is worth (`--max-tokens`), measured paired:
the same 2,500 tweets scored with and without a cap back to back, order alternating, many times.
This VM's speed wanders by 10-25 % within minutes, which swamps separate runs; paired ratios do not.

    tinysent export src/tinysent/shipped/tinysent-tinybert-4l --out runs/shipped-onnx --int8
    python benchmarks/token_cap.py --onnx runs/shipped-onnx \\
        --data ../shared/data/sentiment140/training.head10000.csv
writes benchmarks/results/token_cap.json.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--caps", default="1024,2048,4096")
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--slice", type=int, default=2500)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "token_cap.json"))
    a = p.parse_args()

    import tinysent
    from tinysent.data import sentiment140 as D

    pred = tinysent.load(a.onnx, backend="onnx")
    ids, _ = pred.token_ids(D.read(a.data).texts)
    slices = [ids[i : i + a.slice] for i in range(0, len(ids) - a.slice + 1, a.slice)]
    pred.logits(slices[0], 256)  # warm-up

    def seconds(cap, part) -> float:
        pred.max_tokens = cap
        t = time.perf_counter()
        pred.logits(part, 256)
        return time.perf_counter() - t

    results = {}
    for cap in (int(c) for c in a.caps.split(",")):
        ratios, rates = [], []
        for r in range(a.rounds):
            part = slices[r % len(slices)]
            if r % 2:
                capped, plain = seconds(cap, part), seconds(None, part)
            else:
                plain, capped = seconds(None, part), seconds(cap, part)
            ratios.append(plain / capped)
            rates.append(len(part) / capped)
        results[str(cap)] = {
            "speedup_median": round(float(np.median(ratios)), 3),
            "speedup_iqr": [round(float(x), 3) for x in np.percentile(ratios, [25, 75])],
            "tweets_per_s_median": round(float(np.median(rates)), 1),
        }
        print(cap, results[str(cap)], flush=True)
    write_result(
        a.out,
        "model calls capped at N padded tokens vs uncapped (both <= 256 tweets), paired",
        {
            "onnx": a.onnx,
            "tweets_per_slice": a.slice,
            "rounds": a.rounds,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
