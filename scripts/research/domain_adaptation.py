"""#24's adaptation check: does a user's 1,000 labelled tweets of a new domain beat the shipped model?

The domain: TweetEval *emotion* (SemEval-2018 Affect in Tweets, collected and labelled apart from the
SemEval 2013-2016 sentiment material the shipped model learnt from, and never seen by it), read as
polarity the way a user might label it: anger and sadness -> negative, joy and optimism -> positive.
The labelled CSVs are written under --work (outside the repository), then the user's command runs:

    tinysent curve --train-data train.csv --val-data val.csv --test-data test.csv --out OUT --sizes ...

from the shipped model (the default base), which keeps its head's negative and positive rows. Size 0
is the shipped model as it is (the likelier of negative and positive); each size is a stratified
sample of the training file, TF-IDF LR beside it, all scored on the 1,421 test tweets (macro-F1).

    python scripts/research/domain_adaptation.py --work runs/adaptation \
        --out results/cpu-2026-11-30/adaptation
"""

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _machine import machine  # noqa: E402

POLARITY = {"anger": "negative", "sadness": "negative", "joy": "positive", "optimism": "positive"}


def write_split(folder: Path, split: str, out: Path) -> int:
    """One split of the TweetEval task folder as the user's CSV, its labels read as polarity."""
    from tinysent.data.labelled import read_labelled

    rows = read_labelled(folder, split)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows((t, POLARITY[rows.names[y]]) for t, y in zip(rows.texts, rows.labels))
    return len(rows)


def paired_gain(curve: Path, test_csv: Path, size: int, resamples: int = 2000) -> dict:
    """The adapted model (``size`` rows) against the shipped model on the same test tweets: the
    macro-F1 difference with a paired bootstrap interval, and McNemar on right/wrong answers."""
    import numpy as np

    from tinysent.core.metrics import mcnemar, paired_bootstrap
    from tinysent.data.labelled import read_labelled
    from tinysent.runtime.predictor import SHIPPED_DIR, load

    test = read_labelled(test_csv, names=("negative", "positive"))
    y = test.labels

    def answers(folder) -> np.ndarray:
        p = load(folder)
        return p.labels.classes_among(p.proba(test.texts)[0], test.names)

    base, adapted = answers(SHIPPED_DIR), answers(curve / f"n-{size}")
    d = paired_bootstrap("macro_f1", y, adapted, base, test.names, n_boot=resamples, seed=0)
    return {
        "n": len(y),
        "shipped": d["b_score"],
        "adapted": d["a_score"],
        "gain": d["difference"],
        "gain_ci95": d["difference_ci95"],
        "accuracy": {"shipped": float(np.mean(base == y)), "adapted": float(np.mean(adapted == y))},
        "mcnemar_adapted_vs_shipped": mcnemar(adapted == y, base == y),
        "bootstrap": f"paired percentile, {resamples} resamples, seed 0",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/tweeteval-tasks/emotion")
    ap.add_argument("--work", default="runs/adaptation")
    ap.add_argument("--sizes", default="100,250,500,1000,all")
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--reuse", action="store_true", help="keep a finished curve under --work (its time is not remeasured)"
    )
    a = ap.parse_args()
    work, out = Path(a.work), Path(a.out)
    work.mkdir(parents=True, exist_ok=True)
    files = {s: work / f"{s}.csv" for s in ("train", "val", "test")}
    rows = {s: write_split(Path(a.data), s, f) for s, f in files.items()}
    args = [
        "curve",
        "--train-data", str(files["train"]),
        "--val-data", str(files["val"]),
        "--test-data", str(files["test"]),
        "--out", str(work / "curve"),
        "--sizes", a.sizes,
        "--overwrite",
        "--quiet",
    ]  # fmt: skip
    print("$ tinysent", " ".join(args), flush=True)
    t = time.time()
    if a.reuse and (work / "curve" / "curve.json").exists() and (out / "adaptation.json").exists():
        seconds = json.loads((out / "adaptation.json").read_text())["seconds"]
    else:
        subprocess.run([sys.executable, "-m", "tinysent.apps.cli", *args], check=True)
        seconds = round(time.time() - t, 1)
    out.mkdir(parents=True, exist_ok=True)
    paired = paired_gain(work / "curve", files["test"], size=1000)
    for name in ("curve.json", "curve.md", "curve.png"):
        shutil.copy(work / "curve" / name, out / name)
    (out / "adaptation.json").write_text(
        json.dumps(
            {
                "command": "python scripts/research/domain_adaptation.py " + " ".join(sys.argv[1:]),
                "curve_command": "tinysent " + " ".join(args),
                "machine": machine(),
                "seconds": seconds,
                "rows": rows,
                "paired_1000_vs_shipped": paired,
                "polarity": POLARITY,
                "curve": json.loads((out / "curve.json").read_text()),
            },
            indent=2,
        )
        + "\n"
    )
    print((out / "curve.md").read_text())
    print(json.dumps(paired, indent=2))


if __name__ == "__main__":
    main()
