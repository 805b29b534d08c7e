"""The main job's learning curve: `tinysent run` with every default but the time budget (so the
tweets read grow with it), each point's tweets read, its validation accuracies (the run's own
Sentiment140 split, emoticon labels; TweetEval validation's positive / negative tweets, hand labels)
and its accuracy on Sentiment140's 359 test tweets with the Wilson interval. Run alone on the box:
the budget is wall time, so another program's load takes tweets from every point.

    python scripts/research/main_job_curve.py --budgets 135 270 --work runs/curve \
        --out results/main-job-2026-12-08/curve.json
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def point(run: Path, tweeteval: str) -> dict:
    meta = json.loads((run / "model" / "tinysent.json").read_text())
    test = json.loads((run / "eval" / "metrics.json").read_text())
    val_out = run / "tweeteval-val"
    if not (val_out / "metrics.json").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tinysent",
                "evaluate",
                "--model",
                str(run / "model"),
                "--test-data",
                tweeteval,
                "--split",
                "val",
                "--out",
                str(val_out),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    te = json.loads((val_out / "metrics.json").read_text())["binary_rows"]
    return {
        "run": str(run),
        "time_budget_s": meta["config"]["time_budget"],
        "tweets_seen": meta["training"]["tweets_seen"],
        "train_s": meta["training"]["train_s"],
        "precision": meta["training"]["precision"],
        "s140_val_accuracy": meta["metrics"]["validation"]["val_accuracy"],
        "tweeteval_val_polar_accuracy": te["accuracy"],
        "tweeteval_val_polar_n": te["n"],
        "test_accuracy": test["accuracy"],
        "test_accuracy_ci95": test["accuracy_ci95"],
        "test_n": test["n"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budgets", type=float, nargs="+", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--also", nargs="*", default=[], help="finished `tinysent run` folders to add as points")
    p.add_argument("--train-data", default="../shared/data/sentiment140")
    p.add_argument("--tweeteval", default="../shared/data/tweeteval")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    runs = []
    for b in args.budgets:
        run = Path(args.work) / f"budget-{int(b)}"
        if not (run / "eval" / "metrics.json").exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tinysent",
                    "run",
                    "--train-data",
                    args.train_data,
                    "--time-budget",
                    str(b),
                    "--out",
                    str(run),
                    "--overwrite",
                    "--quiet",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        runs.append(run)
    points = sorted(
        (point(r, args.tweeteval) for r in [*runs, *map(Path, args.also)]), key=lambda x: x["tweets_seen"]
    )
    doc = {"command": "python " + " ".join(sys.argv), "points": points}
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    for x in points:
        print(
            f"{x['tweets_seen']:>7,} tweets  S140 val {x['s140_val_accuracy']:.4f}  TweetEval val polar "
            f"{x['tweeteval_val_polar_accuracy']:.4f}  test {x['test_accuracy']:.2%}"
        )


if __name__ == "__main__":
    main()
