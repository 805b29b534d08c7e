"""Teachers one by one and as the ensemble the student learns from (their probabilities averaged, as
`tinysent distill --ensemble` averages them), on TweetEval validation and test (macro recall with its
bootstrap 95 % interval, per-class recall) and Sentiment140's 359 test tweets (P(pos) vs P(neg),
Wilson interval). Validation chose the ensemble; the test rows are reported, not used.

    python scripts/teacher_ensemble.py runs/v4/teacher-s0 runs/v4/teacher-s1 \
        --out results/cpu-2026-11-30/v4-teachers/teachers.json
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from tinysent.build import sentiment140 as D
    from tinysent.build.semeval import classes3, read_tweeteval
    from tinysent.core.labels import SENTIMENT3
    from tinysent.core.metrics import binary_metrics, class_metrics
    from tinysent.core.numerics import binary_share
    from tinysent.runtime.predictor import load

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("teachers", nargs="+")
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sets = {s: read_tweeteval(Path(a.data) / "tweeteval", s) for s in ("val", "test")}
    s140 = D.read(D.resolve(Path(a.data) / "sentiment140", "test")[0]).polar()
    probs: dict[str, dict[str, np.ndarray]] = {}
    t0 = time.time()
    for t in a.teachers:
        pred = load(t, backend="torch")
        order = [pred.meta.labels.index(n) for n in SENTIMENT3]
        probs[t] = {k: pred.proba(c.texts)[0][:, order] for k, c in sets.items()}
        probs[t]["s140"] = pred.proba(s140.texts)[0][:, order]
    probs["ensemble (mean of probabilities)"] = {
        k: np.mean([probs[t][k] for t in a.teachers], 0) for k in ("val", "test", "s140")
    }
    doc = {"teachers": a.teachers, "seconds": round(time.time() - t0, 1), "systems": {}}
    for name, pr in probs.items():
        row = {}
        for k, c in sets.items():
            m = class_metrics(classes3(c.polarity), pr[k].argmax(1))
            row[f"tweeteval_{k}"] = {
                "macro_recall": m["macro_recall"],
                "macro_recall_ci95": m["macro_recall_ci95"],
                "recall": {n: m["per_class"][n]["recall"] for n in SENTIMENT3},
                "n": len(c.texts),
            }
        b = binary_metrics(s140.classes, binary_share(pr["s140"], 0, 2))
        row["sentiment140_359"] = {"accuracy": b["accuracy"], "accuracy_ci95": b["accuracy_ci95"], "n": b["n"]}
        doc["systems"][name] = row
        print(name, json.dumps({k: v.get("macro_recall", v.get("accuracy")) for k, v in row.items()}))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
