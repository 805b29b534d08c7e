"""Does a text's answer depend on the texts it shares a model call with? The service batches
concurrent requests into one call, and int8 scales activations per call. Each text is scored alone
and inside shuffled calls of 64 (the service's CALL_BATCH) with other texts, through the default
path (int8 + fp32 recheck of near-ties) and through int8 alone; the labels and probabilities are
compared.

    .venv/bin/python benchmarks/batch_independence.py --data ../shared/data/tweeteval
writes benchmarks/results/batch_independence.json.
"""

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a TweetEval folder (its validation split is used)")
    p.add_argument("--rounds", type=int, default=5, help="shuffles of the calls of 64")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "batch_independence.json"))
    a = p.parse_args()

    import tinysent
    from tinysent.apps.serve.batcher import CALL_BATCH
    from tinysent.data.semeval import read_tweeteval

    texts = read_tweeteval(a.data, "val").texts
    doc = {"n": len(texts), "call_batch": CALL_BATCH, "rounds": a.rounds}
    for name, pred in (("default path", tinysent.load()), ("int8 alone", tinysent.load(recheck_margin=0))):
        alone = [pred.predict(t) for t in texts]
        label_diffs, prob_diffs = [], []
        for r in range(a.rounds):
            order = list(range(len(texts)))
            random.Random(r).shuffle(order)
            shared = [None] * len(texts)
            for s in range(0, len(order), CALL_BATCH):
                idx = order[s : s + CALL_BATCH]
                for i, rec in zip(idx, pred.predict([texts[i] for i in idx], batch_size=CALL_BATCH)):
                    shared[i] = rec
            label_diffs.append(sum(x["label"] != y["label"] for x, y in zip(alone, shared)))
            names = [k for k in alone[0] if k != "label"]
            prob_diffs.append(max(abs(x[k] - y[k]) for x, y in zip(alone, shared) for k in names))
        doc[name] = {
            "labels_differing_per_round": label_diffs,
            "labels_differing_share": float(np.mean(label_diffs) / len(texts)),
            "max_abs_prob_diff": float(max(prob_diffs)),
        }
    write_result(a.out, "batch_independence", doc)
    print(doc)


if __name__ == "__main__":
    main()
