"""How many hand-labelled tweets a selection score needs to tell two close 3-class models apart:
the power calculation behind issue 51's selection set (results/selection-score-2026-12-08).

Two shipped models that differ the way candidates do (the 4-layer default and the 6-layer accurate
tier) answer TweetEval's validation tweets; the per-tweet contribution of each model to the score
(macro recall over negative / neutral / positive, and polarity accuracy on the negative / positive
tweets by P(pos) vs P(neg)) gives the standard deviation of the paired difference per tweet, s. A
difference delta is found with power 1 - beta at two-sided level alpha when
n >= ((z_{1-alpha/2} + z_{1-beta}) * s / delta)^2. Validation tweets only: no test set is read.

    python scripts/research/selection_power.py --tweeteval ../shared/data/tweeteval \
        --a src/tinysent/shipped/tinysent-tinybert-4l --b models/tinysent-6l/src/tinysent_6l/model
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np

from tinysent.data.semeval import classes3, read_tweeteval
from tinysent.runtime.predictor import load

Z = {0.05: 1.959964, 0.2: 0.841621}


def contributions(y: np.ndarray, pred: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Per tweet, its share of the score mean(macro recall, polarity accuracy): a right answer of
    class k adds 1 / (3 n_k) to macro recall; a right polar answer adds 1 / n_polar to accuracy."""
    c = np.zeros(len(y))
    for k in range(3):
        m = y == k
        c[m] += (pred[m] == k) / (3 * m.sum())
    polar = y != 1
    right = (share >= 0.5) == (y == 2)
    c[polar] += right[polar] / polar.sum()
    return c / 2 * len(y)  # per-tweet units: the score is the mean of these


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tweeteval", required=True)
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--out", default="results/selection-score-2026-12-08/power.json")
    args = p.parse_args()
    val = read_tweeteval(args.tweeteval, "val")
    y = classes3(val.polarity)
    per = {}
    for name in ("a", "b"):
        m = load(getattr(args, name))
        probs, _ = m.proba(val.texts)
        pred, share = m.labels.sentiment3(probs)
        per[name] = contributions(y, pred, share)
    d = per["b"] - per["a"]
    s = float(d.std(ddof=1))
    n_for = {
        str(delta): math.ceil(((Z[0.05] + Z[0.2]) * s / delta) ** 2) for delta in (0.005, 0.0075, 0.01, 0.015)
    }
    detectable = {
        str(n): round((Z[0.05] + Z[0.2]) * s / math.sqrt(n), 4) for n in (2000, 5000, 7000, 10000, 15000)
    }
    doc = {
        "n_validation": int(len(y)),
        "score_a": float(per["a"].mean()),
        "score_b": float(per["b"].mean()),
        "paired_difference": float(d.mean()),
        "sd_of_paired_difference_per_tweet": round(s, 4),
        "tweets_needed_for_delta_at_power_0.8_alpha_0.05": n_for,
        "difference_found_with_power_0.8_at_n": detectable,
        "a": args.a,
        "b": args.b,
        "command": "python scripts/research/selection_power.py --tweeteval ../shared/data/tweeteval --a "
        f"{args.a} --b {args.b}",
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
