"""Two models' answers on the same test tweets, compared paired: the difference in macro recall with a
paired percentile bootstrap 95 % interval (the same resampled rows for both models, seeded), and
McNemar's test on which tweets each gets right. Reads two `tinysent evaluate` output folders (their
predictions.jsonl, one line per tweet in file order). Intervals that overlap say little about a
paired difference; this says it.

    python scripts/paired_difference.py results/cpu-2026-11-30/v5-shipped/tweeteval-test \
        results/cpu-2026-11-30/v4-shipped/tweeteval-test \
        --out results/cpu-2026-11-30/v5-vs-v4-tweeteval-test.json
"""

import argparse
import json
from pathlib import Path

import numpy as np


def read(folder: str) -> tuple[list[str], list[str]]:
    lines = (Path(folder) / "predictions.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line]
    return [r["true"] for r in rows], [r["pred"] for r in rows]


def main() -> None:
    from tinysent.apps.report.baselines import mcnemar
    from tinysent.core.metrics import macro_recall

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="evaluate folder of model A")
    p.add_argument("b", help="evaluate folder of model B (the difference is A - B)")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    (true_a, pred_a), (true_b, pred_b) = read(args.a), read(args.b)
    if true_a != true_b:
        raise SystemExit("the two folders were not evaluated on the same tweets (their true labels differ)")
    labels = sorted(set(true_a))
    code = {name: i for i, name in enumerate(labels)}
    y, a, b = (np.array([code[x] for x in v]) for v in (true_a, pred_a, pred_b))
    k, n = len(labels), len(y)
    rng = np.random.Generator(np.random.PCG64(0))
    diffs = []
    for _ in range(args.n_boot):
        i = rng.integers(0, n, n)
        diffs.append(macro_recall(y[i], a[i], k) - macro_recall(y[i], b[i], k))
    score_a, score_b = macro_recall(y, a, k), macro_recall(y, b, k)
    result = {
        "a": args.a,
        "b": args.b,
        "n": n,
        "macro_recall_a": score_a,
        "macro_recall_b": score_b,
        "difference": score_a - score_b,
        "difference_ci95_paired_bootstrap": [float(np.percentile(diffs, q)) for q in (2.5, 97.5)],
        "n_boot": args.n_boot,
        "labels_agree": float((a == b).mean()),
        "mcnemar": mcnemar(a == y, b == y),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
