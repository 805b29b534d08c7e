"""Does the labelling page's model in the loop pay? A simulated annotator (the gold labels of TweetEval
emotion's training split) labels tweets two ways, three seeds each:

- **page**: the tweets `tinysent label` itself shows, in its order: the same :class:`Session` (its
  choice of tweets, its background rounds every 50 labels from the shipped model), driven by the
  annotator; the annotator waits for each round to finish (a person labels 50 tweets in minutes; a
  round trains in about one), so every choice after the first 50 labels comes from the latest round;
- **random**: as many tweets drawn at random from the same pool.

At 100, 200 and 400 labels the model trained on those labels (the page's round at that count; for
random, the same round code on the random labels) is scored on emotion's test split: macro-F1 (the
task's official metric) with its bootstrap 95 % interval. The rules were fixed before any result:
selection "pays" at a size when its mean macro-F1 over the seeds is at least random's.

    python benchmarks/active_labelling.py --data ../shared/data/tweeteval-tasks/emotion \\
        --work runs/active-labelling --out results/active-labelling-2026-12-06
Resumable: each trained model and score is kept in --work; a rerun skips what is done.
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

SIZES = (100, 200, 400)
EVERY = 50


def gold_of(data: Path, split: str) -> tuple[list[str], list[str], list[str]]:
    names = [line.split("\t")[1] for line in (data / "mapping.txt").read_text().splitlines() if line.strip()]
    texts = (data / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [names[int(x)] for x in (data / f"{split}_labels.txt").read_text().split()]
    return names, texts, labels


def score(model: Path, test_texts, test_labels, names) -> dict:
    import numpy as np

    from tinysent.core.metrics import class_metrics
    from tinysent.runtime.predictor import load

    p = load(model)
    pred = p.labels.classes_among(p.proba(test_texts)[0], names)
    y = np.array([names.index(x) for x in test_labels])
    m = class_metrics(y, pred, names, metric="macro_f1")
    return {"macro_f1": m["score"], "macro_f1_ci95": m["score_ci95"], "accuracy": m["accuracy"], "n": m["n"]}


def page_run(work: Path, pool: Path, gold: dict, names, seed: int, test) -> dict:
    """The page's own session, labelled by the gold labels; scores of its rounds at SIZES."""
    from tinysent.apps.label.session import Session

    done = work / "scores.json"
    if done.exists():
        return json.loads(done.read_text())
    work.mkdir(parents=True, exist_ok=True)
    s = Session(pool, names, work / "labels.csv", every=EVERY, seed=seed)
    t0 = time.time()
    while len(s.journal.labels) < max(SIZES):
        if s.trainer is not None:  # the annotator is slower than a round: wait for it
            s.trainer.wait()
        tweet = s.state()["tweet"]
        s.label(tweet["id"], gold[tweet["text"]])
    if s.trainer is not None:
        s.trainer.wait()
    s.state()
    out = {"seconds": round(time.time() - t0, 1), "rounds": s.rounds, "sizes": {}}
    for r in s.rounds:
        if r.get("labels_used") in SIZES:
            out["sizes"][str(r["labels_used"])] = score(s.rounds_dir / r["round"] / "model", *test, names)
    s.close()
    done.write_text(json.dumps(out, indent=2) + "\n")
    return out


def random_run(work: Path, pool_texts: list[str], gold: dict, names, seed: int, test) -> dict:
    """The same rounds' code on tweets drawn at random."""
    import csv

    from tinysent.apps.label.rounds import run_round

    done = work / "scores.json"
    if done.exists():
        return json.loads(done.read_text())
    order = random.Random(seed).sample(pool_texts, len(pool_texts))
    out = {"sizes": {}}
    for n in SIZES:
        folder = work / f"n-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["text", "label"])
            w.writerows([t, gold[t]] for t in order[:n])
        if not (folder / "round.json").exists():
            run_round(folder, pool_texts, names, "shipped", seed)
        out["sizes"][str(n)] = score(folder / "model", *test, names)
    done.write_text(json.dumps(out, indent=2) + "\n")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the TweetEval emotion folder")
    p.add_argument("--work", default="runs/active-labelling")
    p.add_argument("--out", default="results/active-labelling")
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args()

    from tinysent.apps.label.rounds import load_tweets

    data, work, out = Path(a.data), Path(a.work), Path(a.out)
    names, texts, labels = gold_of(data, "train")
    gold: dict[str, str] = {}
    for t, y in zip(texts, labels):
        gold.setdefault(t, y)  # a repeated tweet: its first label (the pool keeps its first occurrence)
    work.mkdir(parents=True, exist_ok=True)
    pool = work / "pool.txt"
    pool.write_text("".join(t + "\n" for t in gold), encoding="utf-8")
    pool_texts = load_tweets(pool)
    _, test_texts, test_labels = gold_of(data, "test")
    test = (test_texts, test_labels)
    runs = {"page": {}, "random": {}}
    for seed in range(a.seeds):
        runs["page"][seed] = page_run(work / f"page-{seed}", pool, gold, names, seed, test)
        runs["random"][seed] = random_run(work / f"random-{seed}", pool_texts, gold, names, seed, test)
        print(json.dumps({k: {n: v[seed]["sizes"].get(str(n), {}).get("macro_f1") for n in SIZES}
                          for k, v in runs.items()}), flush=True)  # fmt: skip
    summary = {}
    for n in SIZES:
        row = {}
        for k, v in runs.items():
            f1 = [v[s]["sizes"][str(n)]["macro_f1"] for s in v]
            row[k] = {
                "mean": statistics.fmean(f1),
                "sd": statistics.stdev(f1) if len(f1) > 1 else 0.0,
                "seeds": f1,
            }
        row["selection_pays"] = row["page"]["mean"] >= row["random"]["mean"]
        summary[str(n)] = row
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "command": "python benchmarks/active_labelling.py --data " + a.data,
        "machine": machine(),
        "pool": len(pool_texts),
        "test_n": len(test_texts),
        "every": EVERY,
        "summary": summary,
        "runs": runs,
    }
    (out / "active_labelling.json").write_text(json.dumps(doc, indent=2) + "\n")
    md = [
        "| labels | page's selection: macro-F1 mean ± sd (3 seeds) | random | selection ≥ random |",
        "|---|---|---|---|",
    ]
    for n, row in summary.items():
        pg, rd = row["page"], row["random"]
        cells = [f"{pg['mean']:.3f} ± {pg['sd']:.3f}", f"{rd['mean']:.3f} ± {rd['sd']:.3f}"]
        md.append(f"| {n} | {' | '.join(cells)} | {row['selection_pays']} |")
    (out / "active_labelling.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
