"""Read and normalise all 1.6M Sentiment140 training tweets; the goal is <= 60 s on 2 cores.

    python benchmarks/data_read_normalize.py --data ../shared/data/sentiment140
writes benchmarks/results/data_read_normalize.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

from tinysent.core.normalize import Normalizer  # noqa: E402
from tinysent.data import sentiment140 as D  # noqa: E402

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--data", required=True)
p.add_argument("--out", default=str(Path(__file__).parent / "results" / "data_read_normalize.json"))
a = p.parse_args()

t0 = time.perf_counter()
corpus = D.load(a.data, "train")
t1 = time.perf_counter()
texts = Normalizer().many(corpus.texts)
t2 = time.perf_counter()
result = write_result(
    a.out,
    "read + normalise the Sentiment140 training set",
    {
        "file": corpus.source,
        "rows": len(corpus),
        "normalised": len(texts),
        "read_s": round(t1 - t0, 2),
        "normalise_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2),
        "goal_s": 60,
        "tweets_per_s": round(len(corpus) / (t2 - t0)),
    },
    command="python benchmarks/data_read_normalize.py --data ../shared/data/sentiment140",
)
print(json.dumps(result, indent=2))
