"""Do class offsets fitted on one 3-class split help on another? The recipes fit temperature and
offsets (`tinysent calibrate --class-offsets`) on the split a model was selected on and keep them when
their cross-fitted gain there is positive; this fits them the same way on split A and scores split B
with and without them (macro recall, paired bootstrap 95 % interval of the difference). With A =
TweetEval validation and B = SemEval 2016's test tweets held out of a student's training
(`git show 5be3475:scripts/holdout_recipe.sh`), it asks whether the offset step pays on tweets
drawn like TweetEval test, without reading TweetEval test.

    python scripts/research/offsets_transfer.py runs/holdout/student --fit tweeteval-val \
        --score twitter-2016test-A.tsv --out results/cpu-2026-12-01/holdout/offsets-transfer.json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    from tinysent.core.labels import SENTIMENT3, LabelModel
    from tinysent.core.metrics import macro_recall, paired_bootstrap
    from tinysent.data.semeval import classes3, read_tweeteval, validation3
    from tinysent.runtime.predictor import load
    from tinysent.train.calibrate import crossfit_offsets_gain, fit_class_offsets, fit_temperature

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--fit", required=True, help="tweeteval-val, or a SemEval file name")
    p.add_argument("--score", required=True, help="tweeteval-val, or a SemEval file name")
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    te, sem = Path(a.data) / "tweeteval", Path(a.data) / "semeval-task4a"
    for opt, name in (("--fit", a.fit), ("--score", a.score)):  # before the model loads
        if name != "tweeteval-val" and not (sem / name).is_file():
            there = ", ".join(sorted(f.name for f in sem.glob("*.tsv"))) or "none"
            sys.exit(f"error: {opt} {name}: not tweeteval-val nor a file of {sem} (there: {there})")
    pred = load(a.model, backend="torch")
    order = [pred.meta.labels.index(n) for n in SENTIMENT3]

    def split(name: str):
        c = read_tweeteval(te, "val") if name == "tweeteval-val" else validation3(te, sem, [name])[0]
        return pred.logits(pred.token_ids(c.texts)[0], 256)[:, order], classes3(c.polarity)

    (zf, yf), (zs, ys) = split(a.fit), split(a.score)
    t = fit_temperature(zf, yf)
    calibrated = LabelModel(SENTIMENT3, temperature=t)
    lpf, lps = (np.log(np.maximum(calibrated.proba(z), 1e-300)) for z in (zf, zs))
    bias = np.array(fit_class_offsets(lpf, yf))
    with_offsets = LabelModel(SENTIMENT3, temperature=t, offsets=tuple(bias.tolist()))
    # the label each way, decided as the packed model decides it (LabelModel)
    plain, offset = calibrated.classes(calibrated.proba(zs)), with_offsets.classes(with_offsets.proba(zs))
    paired = paired_bootstrap("macro_recall", ys, offset, plain, SENTIMENT3, n_boot=a.n_boot, seed=0)
    doc = {
        "model": a.model,
        "fit_on": {"split": a.fit, "n": len(yf), "temperature": t},
        "offsets": dict(zip(SENTIMENT3, bias.tolist())),
        "fit_split_crossfit_gain": crossfit_offsets_gain(lpf, yf),
        "scored_on": {"split": a.score, "n": len(ys)},
        "macro_recall_without": macro_recall(ys, plain),
        "macro_recall_with": macro_recall(ys, offset),
        "difference_ci95_bootstrap": paired["difference_ci95"],
        "score_split_own_offsets": dict(zip(SENTIMENT3, fit_class_offsets(lps, ys))),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    from tinysent.core.errors import TinysentError

    try:
        main()
    except (TinysentError, OSError) as e:
        sys.exit(f"error: {e}")
