"""Teachers one by one and as the ensemble the student learns from (their probabilities averaged, as
`tinysent distill --ensemble` averages them), on their validation split and TweetEval test (macro
recall with its bootstrap 95 % interval, per-class recall; "val" is the split the teachers were
selected on, named in the output: TweetEval's, or the SemEval files held out with
--handlabelled-holdout) and Sentiment140's 359 test tweets (P(pos) vs P(neg), Wilson interval); with
``--s140-val-of M`` also on model M's Sentiment140 validation split (emoticon labels, rebuilt from
M's config: the split 3-class runs select on; a teacher with another vocabulary reads the split's
texts decoded from M's token ids). Validation chose the ensemble; the test rows are reported, not
used. ``--val-only`` scores the validation split(s) alone: for a recipe choosing between teachers
before any test set is looked at.

    python scripts/research/teacher_ensemble.py runs/v4/teacher-s0 runs/v4/teacher-s1 \
        --s140-val-of runs/v4/student --out results/cpu-2026-11-30/v4-teachers/teachers.json
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from tinysent.core.labels import SENTIMENT3
    from tinysent.core.meta import ModelMeta
    from tinysent.core.metrics import binary_metrics, class_metrics
    from tinysent.core.numerics import positive_share
    from tinysent.data import sentiment140 as D
    from tinysent.data.semeval import classes3, read_tweeteval, validation3
    from tinysent.runtime.predictor import load

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("teachers", nargs="+")
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--s140-val-of", default=None, metavar="MODEL")
    p.add_argument("--val-only", action="store_true", help="score the validation split(s) only")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    # the validation split the teachers were selected on: TweetEval's, or SemEval files they held out
    c = ModelMeta.load(a.teachers[0]).config
    holdout = c.get("handlabelled_holdout")
    val, on = validation3(Path(a.data) / "tweeteval", c.get("handlabelled_data"), holdout)
    sets = {"val": val}
    if not a.val_only:
        sets["test"] = read_tweeteval(Path(a.data) / "tweeteval", "test")
        s140 = D.read(D.resolve(Path(a.data) / "sentiment140", "test")[0]).polar()
    val2 = None
    if a.s140_val_of:
        from tinysent.data.tokens import validation_split
        from tinysent.train.models import load_tokenizer

        tok = load_tokenizer(Path(a.s140_val_of))
        val2 = validation_split(a.s140_val_of, tok)
    probs: dict[str, dict[str, np.ndarray]] = {}
    t0 = time.time()
    for t in a.teachers:
        pred = load(t, backend="torch")
        order = [pred.meta.labels.index(n) for n in SENTIMENT3]
        probs[t] = {k: pred.proba(c.texts)[0][:, order] for k, c in sets.items()}
        if not a.val_only:
            probs[t]["s140"] = pred.proba(s140.texts)[0][:, order]
        if val2 is not None:  # the same vocabulary: the split's token ids; another: its texts
            ids = val2.val_ids
            if pred.tokenizer.get_vocab() != tok.get_vocab():
                ids = pred.token_ids(tok.batch_decode(ids, skip_special_tokens=True))[0]
            probs[t]["s140_val"] = pred.labels.proba(pred.logits(ids, 256))[:, order]
    keys = list(probs[a.teachers[0]])
    probs["ensemble (mean of probabilities)"] = {
        k: np.mean([probs[t][k] for t in a.teachers], 0) for k in keys
    }
    doc = {"teachers": a.teachers, "validation_is": on, "seconds": round(time.time() - t0, 1), "systems": {}}
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
        if not a.val_only:
            b = binary_metrics(s140.classes, positive_share(pr["s140"], 0, 2))
            row["sentiment140_359"] = {k: b[k] for k in ("accuracy", "accuracy_ci95", "n")}
        if val2 is not None:
            v = binary_metrics(np.asarray(val2.val_labels), positive_share(pr["s140_val"], 0, 2))
            row["sentiment140_val"] = {k: v[k] for k in ("accuracy", "accuracy_ci95", "n")}
        doc["systems"][name] = row
        print(name, json.dumps({k: v.get("macro_recall", v.get("accuracy")) for k, v in row.items()}))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    import sys

    from tinysent.core.errors import TinysentError

    try:
        main()
    except (TinysentError, OSError) as e:  # a wrong folder or data path: one line, as the CLI says it
        sys.exit(f"error: {e}")
