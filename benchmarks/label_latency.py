"""How fast the labelling page answers a label (the journal's fsync, labels.csv rewritten, the next
tweet chosen) while a round fine-tunes in the background on the same 2 cores: `tinysent label` with
every default (rounds every 50 labels from the shipped model) on 3,000 TweetEval test tweets; a
client sends the first 50 labels at once (a round starts), then one label every 0.25 s, a fast
person, until the round is done; each POST /api/label is timed from the client (HTTP round trip).

    python benchmarks/label_latency.py --data ../shared/data/tweeteval
writes benchmarks/results/label_latency.json.
"""

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def percentiles(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {
        "n": len(a),
        "p50_ms": float(np.percentile(a, 50)),
        "p95_ms": float(np.percentile(a, 95)),
        "p99_ms": float(np.percentile(a, 99)),
        "max_ms": float(a.max()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a TweetEval sentiment folder")
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--pause", type=float, default=0.25)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "label_latency.json"))
    a = p.parse_args()
    import httpx

    names = ("negative", "neutral", "positive")
    data = Path(a.data)
    texts = (data / "test_text.txt").read_text(encoding="utf-8").splitlines()[: a.n]
    gold = dict(zip(texts, (names[int(x)] for x in (data / "test_labels.txt").read_text().split())))
    work = Path(tempfile.mkdtemp(prefix="tinysent-label-latency-"))
    (work / "tweets.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tinysent", "label", str(work / "tweets.txt"), "--labels", ",".join(names)]
    proc = subprocess.Popen([*cmd, "--out", str(work / "labels.csv"), "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    before, during = [], []
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            for _ in range(600):
                try:
                    state = c.get("/api/state").json()
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            t_round = None
            while True:
                tweet = state["tweet"]
                t0 = time.perf_counter()
                r = c.post("/api/label", json={"id": tweet["id"], "label": gold[tweet["text"]]})
                took = (time.perf_counter() - t0) * 1e3
                assert r.status_code == 200, r.text
                (during if state["training"] else before).append(took)
                state = r.json()
                if state["training"] and t_round is None:
                    t_round = time.time()
                if t_round is not None:
                    if not state["training"]:
                        break
                    time.sleep(a.pause)
            round_s = time.time() - t_round
            rounds = state["rounds"]
    finally:
        proc.terminate()
        proc.wait(30)
    doc = write_result(
        a.out,
        "label_latency",
        {
            "pool": len(texts),
            "pause_s": a.pause,
            "while_a_round_trains": percentiles(during),
            "before_any_round": percentiles(before),
            "round_seconds_seen": round(round_s, 1),
            "round": rounds[-1] if rounds else None,
            "limit_p95_ms": 100,
        },
    )
    w = doc["while_a_round_trains"]
    print(f"while a round trains: n={w['n']} p50 {w['p50_ms']:.1f} ms, p95 {w['p95_ms']:.1f} ms")


if __name__ == "__main__":
    main()
