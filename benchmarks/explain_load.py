"""Explain under load on loopback: clients sending /v1/explain requests of long texts (the service's
5,000-character limit, several texts a request) at once against a real `tinysent serve` (the shipped
model, default path), while one client keeps sending /v1/predict. Passes when no response is a 5xx,
the server's peak RSS stays under --rss-bound-mb, and /v1/predict's p99 latency stays under 1 s.
The server's RSS is sampled every 50 ms.

    python benchmarks/explain_load.py

writes benchmarks/results/explain_load.json.
"""

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402
from serve_abuse import rss_kb  # noqa: E402


def long_text(i: int, chars: int) -> str:
    words = ["i", "do", "not", "love", "this", "at", "all", "great", "awful", "day", f"w{i}"]
    out, n = [], 0
    while n < chars - 12:
        w = words[(n * 7 + i) % len(words)]
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:chars]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--texts", type=int, default=4, help="texts per explain request")
    ap.add_argument("--chars", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rss-bound-mb", type=float, default=1024.0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "explain_load.json"))
    a = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tinysent.apps.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    statuses = collections.Counter()
    explain_s, predict_s, peak = [], [], [0]
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        ready_mb = rss_kb(proc.pid) / 1024
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kb(proc.pid))
                time.sleep(0.05)

        def explainer(k: int):
            body = {"texts": [long_text(k * 100 + j, a.chars) for j in range(a.texts)]}
            with httpx.Client(timeout=600) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    r = c.post(url + "/v1/explain", json=body)
                    statuses[f"explain {r.status_code}"] += 1
                    explain_s.append(time.perf_counter() - t0)

        def predictor():
            with httpx.Client(timeout=60) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    r = c.post(url + "/v1/predict", json={"texts": ["what a lovely morning"]})
                    statuses[f"predict {r.status_code}"] += 1
                    predict_s.append(time.perf_counter() - t0)
                    time.sleep(0.05)

        threads = [threading.Thread(target=sample), threading.Thread(target=predictor)]
        threads += [threading.Thread(target=explainer, args=(k,)) for k in range(a.clients)]
        for t in threads:
            t.start()
        time.sleep(a.seconds)
        stop.set()
        for t in threads:
            t.join()
    finally:
        proc.terminate()
        proc.wait(30)
    p99 = statistics.quantiles(predict_s, n=100)[98] if len(predict_s) >= 2 else None
    five = sum(v for k, v in statuses.items() if k.split()[1].startswith("5"))
    fields = {
        "clients": a.clients,
        "texts_per_request": a.texts,
        "chars_per_text": a.chars,
        "seconds": a.seconds,
        "statuses": dict(statuses),
        "explain_request_s": {
            "median": round(statistics.median(explain_s), 3) if explain_s else None,
            "max": round(max(explain_s), 3) if explain_s else None,
        },
        "predict_p99_s": round(p99, 4) if p99 is not None else None,
        "predict_median_s": round(statistics.median(predict_s), 4) if predict_s else None,
        "rss_mb": {"ready": round(ready_mb, 1), "peak": round(peak[0] / 1024, 1)},
        "rss_bound_mb": a.rss_bound_mb,
        "passed": five == 0
        and bool(explain_s)
        and peak[0] / 1024 < a.rss_bound_mb
        and p99 is not None
        and p99 < 1.0,
    }
    doc = write_result(a.out, "explain_load", fields)
    print(doc)
    sys.exit(0 if doc["passed"] else 1)


if __name__ == "__main__":
    main()
