"""How closely students follow a teacher on tweets none of them learned from: the share of tweets
where a student's label is the teacher's, each decided by its own default path's rule (LabelModel:
temperature and class offsets, not the raw argmax; with a Wilson 95 % interval) and the mean KL
divergence from the teacher's probabilities to the student's. No labels are read, so any unlabelled
tweets will do; the recipes' transfer set is 2009 and 2013-2016 tweets, and the MPNet teacher and its students
part mostly on newer ones (TweetEval test is 2017), so a useful set is newer tweets that no model
trained on: e.g. the validation texts of TweetEval's other tasks (2018-2019).

    python scripts/research/teacher_agreement.py runs/v6/teacher-mpnet runs/v5/student-best runs/v8/student \
        --texts ../shared/data/tweeteval-tasks/{emotion,irony,offensive}/val_text.txt \
        --out results/cpu-2026-12-01/agreement-recent.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from tinysent.core.labels import SENTIMENT3
    from tinysent.core.metrics import wilson_interval
    from tinysent.runtime.predictor import load

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("teacher")
    p.add_argument("students", nargs="+")
    p.add_argument("--texts", nargs="+", required=True, help="text files, one tweet a line")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    texts = [t for f in a.texts for t in Path(f).read_text(encoding="utf-8").splitlines() if t.strip()]
    t0 = time.time()

    def answers(folder: str) -> tuple[np.ndarray, np.ndarray]:
        """The probabilities in SENTIMENT3's order and the labels the model's default path gives
        (its LabelModel: temperature and class offsets, not the raw argmax)."""
        pred = load(folder, backend="torch")
        probs = pred.proba(texts)[0]
        order = [pred.meta.labels.index(n) for n in SENTIMENT3]
        return probs[:, order], pred.labels.classes_among(probs, SENTIMENT3)

    teacher, teacher_says = answers(a.teacher)
    doc = {"teacher": a.teacher, "texts": a.texts, "n": len(texts), "students": {}}
    for s in a.students:
        q, says = answers(s)
        same = int((says == teacher_says).sum())
        kl = (teacher * (np.log(teacher + 1e-9) - np.log(q + 1e-9))).sum(1).mean()
        doc["students"][s] = {
            "label_agreement": same / len(texts),
            "label_agreement_ci95": list(wilson_interval(same, len(texts))),
            "mean_kl": float(kl),
        }
        print(s, json.dumps(doc["students"][s]), flush=True)
    doc["seconds"] = round(time.time() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    from tinysent.core.errors import TinysentError

    try:
        main()
    except (TinysentError, OSError) as e:  # a wrong folder or file: one line, as the CLI says it
        sys.exit(f"error: {e}")
