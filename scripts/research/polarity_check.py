"""Sentiment on newer hand-labelled tweets: 3-class models' positive-vs-negative answer on TweetEval
emotion's validation split (SemEval 2018 tweets: anger and sadness read as negative, joy and optimism
as positive; no neutral class). Every hand-labelled sentiment split here but TweetEval test is from
2013-2016 (TweetEval validation, SemEval's files) or 2009 (Sentiment140), and choices made on them
have not all carried over to 2017's test tweets; this split is newer, is no model's training text,
and is a validation split, so it may inform a choice. Small (374 tweets): read its intervals.

    python scripts/research/polarity_check.py runs/v8/student runs/v8/soup \
        --out results/cpu-2026-12-01/polarity-emotion-val/v8.json

Each model's macro recall over the two classes (TweetEval's metric; bootstrap 95 % interval) and
accuracy (Wilson), and, paired with the first model, the macro-recall difference (bootstrap 95 %
interval over the same resampled tweets).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

POLARITY = {"anger": 0, "sadness": 0, "joy": 1, "optimism": 1}  # 0 negative, 1 positive


def main() -> None:
    from tinysent.core.metrics import bootstrap_ci, macro_recall, paired_bootstrap, wilson_interval
    from tinysent.data.labelled import read_labelled
    from tinysent.runtime.predictor import load

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--data", default="../shared/data/tweeteval-tasks/emotion", help="the emotion folder")
    p.add_argument("--split", default="val", choices=("train", "val"), help="never the test split")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    d = Path(a.data)
    rows = read_labelled(d, split=a.split)  # a TweetEval folder: its mapping.txt names the labels
    if sorted(rows.names) != sorted(POLARITY):
        sys.exit(f"error: {d}/mapping.txt names {sorted(rows.names)}, not TweetEval emotion's four labels")
    texts = rows.texts
    y = np.array([POLARITY[rows.names[i]] for i in rows.labels])
    two = ("negative", "positive")
    doc = {"data": str(d), "split": a.split, "n": len(y), "positive": int(y.sum()), "models": {}}
    first = None
    for m in a.models:
        pred = load(m, backend="torch")
        pred.labels.check(binary=True)  # a sentiment model, else an error naming its labels
        p_pos, _ = pred.positive_share(texts)  # its binary answer, as for Sentiment140's test
        said = (p_pos >= pred.labels.binary_threshold).astype(int)
        row = {
            "macro_recall": macro_recall(y, said, 2),
            "macro_recall_ci95": bootstrap_ci("macro_recall", y, said, two, n_boot=a.n_boot),
            "accuracy": float((said == y).mean()),
            "accuracy_ci95": list(wilson_interval(int((said == y).sum()), len(y))),
        }
        if first is None:
            first = said
        else:  # the same resampled tweets for both: paired
            d = paired_bootstrap("macro_recall", y, said, first, two, n_boot=a.n_boot)
            row["macro_recall_minus_first"] = d["difference"]
            row["minus_first_ci95"] = d["difference_ci95"]
        doc["models"][m] = row
        print(m, json.dumps(row), flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    from tinysent.core.errors import TinysentError

    try:
        main()
    except (TinysentError, OSError) as e:
        sys.exit(f"error: {e}")
