"""What the default path's fp32 recheck of near-ties and its token caps cost, measured paired: the
same 10,000 tweets through `tinysent.load().predict` as shipped (int8 + fp32 recheck; int8 calls
capped at 4,096 padded tokens, the recheck's fp32 calls at 768), the same with 4,096-token fp32
calls, the same without the int8 cap, int8 alone (`recheck_margin=0`), and the default path before
the recheck (int8 alone, no cap, ONNX Runtime's SkipLayerNormalization fusion on), back to back in
one process, order rotating, many rounds. This VM's speed wanders by 10-25 % within minutes, which
swamps separate runs; paired ratios do not.

    python benchmarks/recheck_cost.py --data ../shared/data/sentiment140/training.head10000.csv
writes benchmarks/results/recheck_cost.json.
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
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "recheck_cost.json"))
    a = p.parse_args()

    import tinysent
    from tinysent.data import sentiment140 as D

    texts = D.read(a.data).texts[: a.n]
    from tinysent.runtime.backends import OnnxBackend

    wide = tinysent.load()
    wide.recheck_max_tokens = 4096  # the recheck's fp32 calls as large as int8's
    old = tinysent.load(recheck_margin=0, max_tokens=None)
    old.backend = OnnxBackend(old.backend.file, disabled_optimizers=())  # ORT's SkipLayerNorm fusion on
    kinds = {
        "default path (int8 + fp32 recheck, int8 cap 4096, recheck cap 768)": tinysent.load(),
        "the same, recheck calls capped at 4096": wide,
        "the same, no int8 cap": tinysent.load(max_tokens=None),
        "int8 alone, cap 4096": tinysent.load(recheck_margin=0),
        "the default path before (int8 alone, no cap, SkipLayerNorm fusion on)": old,
    }
    for pred in kinds.values():
        pred.predict(texts[:512])  # warm-up
        pred.rechecked = 0
    rates = {k: [] for k in kinds}
    names = list(kinds)
    for r in range(a.rounds):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            t = time.perf_counter()
            kinds[k].predict(texts)
            rates[k].append(len(texts) / (time.perf_counter() - t))
        print(r, {k: round(v[-1]) for k, v in rates.items()}, flush=True)
    base = np.array(rates[names[0]])
    results = {
        k: {
            "tweets_per_s_median": round(float(np.median(v)), 1),
            "tweets_per_s_min_max": [round(min(v), 1), round(max(v), 1)],
            "default_path_speed_ratio_median": round(float(np.median(base / np.array(v))), 3),
            "rechecked_share": round(kinds[k].rechecked / (len(texts) * a.rounds), 4),
        }
        for k, v in rates.items()
    }
    for k, v in results.items():
        print(k, v)
    write_result(
        a.out,
        "default path (int8 + fp32 recheck) vs int8 alone, load().predict on the same tweets, paired",
        {"tweets": len(texts), "rounds": a.rounds, "results": results},
    )


if __name__ == "__main__":
    main()
