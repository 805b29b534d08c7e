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


def main() -> None:
    from tinysent.apps.compare import compare  # `tinysent compare A B`: the same numbers, any metric

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="evaluate folder of model A")
    p.add_argument("b", help="evaluate folder of model B (the difference is A - B)")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    r = compare(args.a, args.b, "macro_recall", args.n_boot)
    result = {
        "a": args.a,
        "b": args.b,
        "n": r["n"],
        "macro_recall_a": r["a_score"],
        "macro_recall_b": r["b_score"],
        "difference": r["difference"],
        "difference_ci95_paired_bootstrap": r["difference_ci95"],
        "n_boot": args.n_boot,
        "labels_agree": r["answers_agree"],
        "mcnemar": r["mcnemar"],
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
