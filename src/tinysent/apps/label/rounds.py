"""One round of the labelling loop's background fine-tune, in a process of its own (so the page keeps
answering in milliseconds while it trains): ``tinysent train`` on a snapshot of the labels so far
(the labelled-data path: its defaults, step floor and validation split), then the new model scored on
its own validation rows (the task's metric with its bootstrap interval: rows it did not learn from)
and its probabilities for every tweet of the pool, for the next choices and guesses. ``round.json``
is written last: a round folder without it did not finish.

    python -m tinysent.apps.label.rounds ROUND_DIR --tweets FILE --column text --labels a,b --base B \
        -- [more tinysent train options]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

FEW_HELD_OUT = 30  # held-out labels below which a round's score gets no interval (it would mislead)


def load_tweets(path, column: str = "text") -> list[str]:
    """The tweets to label, as ``predict --input`` reads them, each text once (first occurrence kept)
    and blank lines left out: the pool the page and its rounds index alike. A line that holds no text
    (a wrong number of fields, bytes that are not UTF-8, an unpaired surrogate such as a JSON
    ``"\\udcff"``, which no page or file can carry) is refused with its line number."""
    from tinysent.apps.inputs import is_blank, read_records
    from tinysent.core.errors import InputError

    texts = []
    for r in read_records(path, column):
        if is_blank(r) or (r.error is None and not r.text.strip()):
            continue
        problem = r.error
        if problem is None:
            try:
                r.text.encode("utf-8")
            except UnicodeEncodeError as e:
                problem = f"an unpaired surrogate at character {e.start + 1} (a \\udcff escape?), not text"
        if problem:
            raise InputError(f"{path}, line {r.line}: {problem}; fix or remove that line of the tweets")
        texts.append(r.text)
    return list(dict.fromkeys(texts))


def run_round(
    folder: Path, tweets: list[str], names: list[str], base: str, seed: int = 0, options=()
) -> dict:
    from tinysent.apps.cli.train import train_argv
    from tinysent.core.metrics import class_metrics
    from tinysent.data.task import split_task
    from tinysent.runtime.predictor import load
    from tinysent.train.validation import run_config

    t0 = time.time()
    model = folder / "model"
    args = ["--base", base, "--train-data", str(folder / "labels.csv"), "--out", str(model)]
    train_argv([*args, "--seed", str(seed), "--overwrite", "--quiet", *options])
    cfg = run_config(model)
    _, val, _ = split_task(cfg)
    predictor = load(model)
    pred = predictor.labels.classes_among(predictor.proba(val.texts)[0], val.names)
    m = class_metrics(val.labels, pred, val.names, metric=cfg.metric)
    probs, _ = predictor.proba(tweets)
    np.save(folder / "probs.npy", predictor.labels.proba_among(probs, names).astype(np.float32))
    # the guesses by the model's own rule (a two-label model's threshold), as predict would answer
    np.save(folder / "guesses.npy", predictor.labels.classes_among(probs, names))
    from tinysent.data.labelled import read_labelled

    result = {
        "labels_used": len(read_labelled(folder / "labels.csv", "train")),
        "metric": cfg.metric,
        "score": m["score"],
        # a percentile bootstrap over a handful of rows collapses (2 right of 2: "1.000-1.000"): no
        # interval is shown below FEW_HELD_OUT, and the page says the score rests on too few labels
        "score_ci95": m["score_ci95"] if len(val) >= FEW_HELD_OUT else None,
        "val_n": int(len(val)),
        "seconds": round(time.time() - t0, 1),
    }
    (folder / "round.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--tweets", required=True)
    ap.add_argument("--column", default="text")
    ap.add_argument("--labels", required=True)
    ap.add_argument("--base", default="shipped")
    ap.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)  # after --: more `tinysent train` options
    a = ap.parse_args(argv[:cut])
    a.train_options = argv[cut + 1 :]
    from tinysent.core.errors import TinysentError

    try:
        tweets = load_tweets(a.tweets, a.column)
        run_round(Path(a.folder), tweets, a.labels.split(","), a.base, a.seed, a.train_options)
    except (TinysentError, OSError) as e:  # one line the page shows as the round's error
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
