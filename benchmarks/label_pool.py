"""A large pool on the labelling page: seconds and peak RSS from `tinysent label` starting to the
page answering with its first tweet, for a pool of --n tweets, with labels the shipped model answers
(its guesses are computed in the background) and with labels of your own (no model). Then how long
the shipped model takes to score the whole pool in the background (--wait-scoring).

    python benchmarks/label_pool.py [--n 200000]

writes benchmarks/results/label_pool.json. The tweets are built here (tests/conftest.py's maker).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _machine import write_result  # noqa: E402
from serve_abuse import rss_kb  # noqa: E402

TOKEN = "benchmark-token-0123456789"


def first_tweet(tweets: Path, labels: str, out: Path, wait_scoring: bool) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinysent", "label", str(tweets), "--labels", labels, "--out", str(out),
         "--port", str(port), "--every", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TINYSENT_TOKEN": TOKEN},
    )  # fmt: skip
    peak, auth = 0, {"authorization": f"Bearer {TOKEN}"}
    try:
        while True:
            peak = max(peak, rss_kb(proc.pid))
            try:
                state = httpx.get(url + "/api/state", headers=auth, timeout=5).json()
                if state.get("tweet"):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        first = time.perf_counter() - t0
        scored = None
        while wait_scoring and state.get("scoring"):
            peak = max(peak, rss_kb(proc.pid))
            time.sleep(1)
            state = httpx.get(url + "/api/state", headers=auth, timeout=30).json()
            scored = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(60)
    return {
        "first_tweet_s": round(first, 2),
        "pool_scored_s": round(scored, 1) if scored else None,
        "peak_rss_mb": round(peak / 1024, 1),
        "guesses_by": state.get("model"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--wait-scoring", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "label_pool.json"))
    a = ap.parse_args()
    from tests.conftest import make_tweets

    work = Path(tempfile.mkdtemp(prefix="tinysent-pool-"))
    tweets = work / "pool.txt"
    tweets.write_text("".join(f"{t} {i}\n" for i, (_, t) in enumerate(make_tweets(a.n, seed=1))))
    fields = {"pool": a.n}
    for name, labels in (("sentiment_labels", "negative,positive"), ("own_labels", "spam,ham")):
        wait = a.wait_scoring and name == "sentiment_labels"
        fields[name] = first_tweet(tweets, labels, work / f"{name}.csv", wait)
        print(name, fields[name], flush=True)
    write_result(a.out, "label_pool", fields)


if __name__ == "__main__":
    main()
