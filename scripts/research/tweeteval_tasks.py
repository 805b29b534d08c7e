"""#24's acceptance on TweetEval emotion, irony and offensive, through the CLI a user runs.

For each task: ``tinysent train`` (from --base, 3 epochs by default, the task's official metric
selecting on its validation split), ``tinysent report`` on the test split (the model beside TF-IDF LR
trained on the same training file, the majority class and the published figures), optionally
``tinysent distill`` into the 4-layer student and its report. Then one table of every task.

    python scripts/research/tweeteval_tasks.py --runs runs/tasks --out results/cpu-2026-11-30/tweeteval-tasks

Each command is printed before it runs and kept in commands.txt; a model already trained is reused.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _machine import machine  # noqa: E402

from tinysent.apps.report.baselines import PUBLISHED_TWEETEVAL_TASKS, TWEETEVAL_TASK_METRICS  # noqa: E402

CLI = [sys.executable, "-m", "tinysent.apps.cli"]


def sh(args: list[str], log: Path) -> float:
    line = " ".join(["tinysent", *args])
    print("$", line, flush=True)
    with open(log, "a") as f:
        f.write(line + "\n")
    t = time.time()
    subprocess.run([*CLI, *args], check=True)
    return round(time.time() - t, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/tweeteval-tasks")
    ap.add_argument("--tasks", nargs="+", default=["emotion", "irony", "offensive"])
    ap.add_argument("--base", default="minilm-l6")
    ap.add_argument("--epochs", default="3")
    ap.add_argument("--eval-every", default="50")
    ap.add_argument("--distill", action="store_true", help="also distil each model into the 4-layer student")
    ap.add_argument("--distill-epochs", default="3")
    ap.add_argument("--runs", default="runs/tasks")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out, runs = Path(a.out), Path(a.runs)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "commands.txt"
    table = out / "tweeteval_tasks.json"
    # a reused model keeps the training time measured when it was made
    old = json.loads(table.read_text())["tasks"] if table.exists() else []
    before = {r["task"]: r["seconds"] for r in old}
    rows = []
    for task in a.tasks:
        data, metric = f"{a.data}/{task}", TWEETEVAL_TASK_METRICS[task]
        model = runs / f"{task}-{a.base}"
        seconds = dict(before.get(task, {}))
        if not (model / "tinysent.json").exists():
            seconds["train"] = sh(
                [
                    "train",
                    "--base",
                    a.base,
                    "--train-data",
                    data,
                    "--out",
                    str(model),
                    "--epochs",
                    a.epochs,
                    "--eval-every",
                    a.eval_every,
                    "--metric",
                    metric,
                    "--max-val",
                    "none",
                    "--overwrite",
                ],
                log,
            )
        models = [str(model)]
        if a.distill:
            student = runs / f"{task}-student"
            if not (student / "tinysent.json").exists():
                seconds["distill"] = sh(
                    [
                        "distill",
                        "--teacher",
                        str(model),
                        "--train-data",
                        data,
                        "--out",
                        str(student),
                        "--stage2-epochs",
                        a.distill_epochs,
                        "--eval-every",
                        a.eval_every,
                        "--metric",
                        metric,
                        "--overwrite",
                        "--quiet",
                    ],
                    log,
                )
            models.append(str(student))
        report = out / task
        sh(
            [
                "report",
                *sum((["--model", m] for m in models), []),
                "--test-data",
                data,
                "--train-data",
                data,
                "--out",
                str(report),
            ],
            log,
        )
        r = json.loads((report / "report.json").read_text())
        meta = json.loads((model / "tinysent.json").read_text())
        rows.append(
            {
                "task": task,
                "metric": metric,
                "n": r["n"],
                "systems": r["systems"],
                "published": PUBLISHED_TWEETEVAL_TASKS[task],
                "seconds": seconds,
                "validation": meta["metrics"]["validation"],
            }
        )
    table.write_text(json.dumps({"machine": machine(), "tasks": rows}, indent=2) + "\n")
    md = ["| task (metric, n test) | system | test score (95 % CI) | accuracy |", "|---|---|---|---|"]
    for r in rows:
        for s in r["systems"]:
            lo, hi = s["score_ci95"]
            md.append(
                f"| {r['task']} ({r['metric']}, {r['n']}) | {s['system']} | **{s['score']:.3f}** "
                f"({lo:.3f}–{hi:.3f}) | {s['accuracy']:.1%} |"
            )
        for name in ("FastText", "RoBERTa trained on tweets from scratch", "RoBERTa-base"):
            md.append(f"| {r['task']} | published: {name} | {r['published'][name] / 100:.3f} | – |")
    (out / "tweeteval_tasks.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
