"""What "why this label?" costs on the default path: explaining tweets (each word left out in turn,
runtime/explain.py) against predicting the same tweets, paired: both on the same 1,000 TweetEval
test tweets back to back, order alternating, several rounds; the ratio of medians is the cost.

    python benchmarks/explain_cost.py --data ../shared/data/tweeteval
writes benchmarks/results/explain_cost.json.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a TweetEval folder (its test_text.txt)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "explain_cost.json"))
    a = p.parse_args()

    import tinysent
    from tinysent.runtime.explain import words_of

    texts = (Path(a.data) / "test_text.txt").read_text(encoding="utf-8").splitlines()[: a.n]
    model = tinysent.load()  # the default path
    model.predict(texts[:100])
    model.explain(texts[:20])  # warm-up
    times = {"predict": [], "explain": []}
    for r in range(a.rounds):
        for kind in ("predict", "explain") if r % 2 == 0 else ("explain", "predict"):
            t0 = time.perf_counter()
            getattr(model, kind)(texts)
            times[kind].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    doc = write_result(
        a.out,
        "explain_cost",
        {
            "n_tweets": len(texts),
            "words_per_tweet_mean": statistics.fmean(len(words_of(t)) for t in texts),
            "backend": model.backend.name,
            "seconds": times,
            "median_seconds": med,
            "explain_over_predict": med["explain"] / med["predict"],
            "limit": 20,
        },
    )
    ratio, words = doc["explain_over_predict"], doc["words_per_tweet_mean"]
    print(f"explain / predict = {ratio:.1f} (words per tweet {words:.1f})")


if __name__ == "__main__":
    main()
