"""Abuse on loopback: 2,000 requests mixing good and bad bodies from 32 concurrent clients against a
real `tinysent serve` (the shipped model, default path). Passes when no response is a 5xx, every
good request gets its 200 with the right number of predictions, and the server's RSS stays bounded.

    python benchmarks/serve_abuse.py

writes benchmarks/results/serve_abuse.json (status counts per kind of body, RSS before/after).
"""

import argparse
import asyncio
import collections
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

GOOD = [
    ("good_one", {"texts": ["i love this so much"]}),
    ("good_batch", {"texts": ["great day", "awful day", "it is a day"] * 10}),
    ("good_empty_list", {"texts": []}),
]
BAD = [
    ("lone_surrogate", b'{"texts": ["ok", "\\udcff"]}'),
    ("deep_json", b"[" * 50000 + b"]" * 50000),
    ("not_json", b"{texts: nope"),
    ("not_utf8", b'{"texts": ["\xff\xfe"]}'),
    ("wrong_type", b'{"texts": "not a list"}'),
    ("unknown_field", b'{"texts": ["ok"], "extra": 1}'),
    ("too_many_texts", json.dumps({"texts": ["x"] * 1000}).encode()),
    ("too_long_text", json.dumps({"texts": ["x" * 20000]}).encode()),
    ("too_large_body", b'{"texts": ["' + b"y" * (2 << 20) + b'"]}'),
    ("bad_band", b'{"texts": ["ok"], "neutral_band": [0.9, 0.1]}'),
    ("null_text", b'{"texts": [null]}'),
]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


async def main_async(url: str, n: int, clients: int, seed: int) -> dict:
    rng = random.Random(seed)
    plan = []
    for _ in range(n):
        if rng.random() < 0.5:
            kind, body = rng.choice(GOOD)
            plan.append((kind, json.dumps(body).encode(), len(body["texts"])))
        else:
            kind, body = rng.choice(BAD)
            plan.append((kind, body, None))
    queue = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    statuses = collections.defaultdict(collections.Counter)
    good_failed = []

    async def client():
        async with httpx.AsyncClient(timeout=60) as c:
            while not queue.empty():
                kind, body, expect = queue.get_nowait()
                try:
                    r = await c.post(
                        url + "/v1/predict", content=body, headers={"content-type": "application/json"}
                    )
                    status = r.status_code
                    ok = expect is not None and status == 200 and len(r.json()["predictions"]) == expect
                except httpx.HTTPError as e:
                    status, ok = type(e).__name__, False
                statuses[kind][str(status)] += 1
                if expect is not None and not ok:
                    good_failed.append((kind, status))

    t = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(clients)])
    return {
        "seconds": round(time.perf_counter() - t, 2),
        "statuses": {k: dict(v) for k, v in sorted(statuses.items())},
        "good_failed": len(good_failed),
        "server_errors_5xx": sum(
            c for v in statuses.values() for s, c in v.items() if s.isdigit() and int(s) >= 500
        ),
        "transport_errors": sum(c for v in statuses.values() for s, c in v.items() if not s.isdigit()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "serve_abuse.json"))
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tinysent.apps.cli", "serve", "--port", str(port)]
    cmd += ["--model", args.model] if args.model else []
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        rss0 = rss_kb(proc.pid)
        warm = asyncio.run(main_async(url, 200, args.clients, seed=1))  # allocations settle
        rss1 = rss_kb(proc.pid)
        res = asyncio.run(main_async(url, args.requests, args.clients, seed=0))
        rss2 = rss_kb(proc.pid)
        res2 = asyncio.run(main_async(url, args.requests, args.clients, seed=2))  # again: does it grow?
        rss3 = rss_kb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    doc = write_result(
        args.out,
        "serve_abuse",
        {
            "requests": args.requests,
            "clients": args.clients,
            "model": args.model or "shipped (default path, int8 ONNX)",
            "run": res,
            "second_run": {
                k: res2[k] for k in ("seconds", "good_failed", "server_errors_5xx", "transport_errors")
            },
            "warm_up": {k: warm[k] for k in ("good_failed", "server_errors_5xx")},
            "rss_mb": {
                "ready": round(rss0 / 1024, 1),
                "after_warm_up": round(rss1 / 1024, 1),
                "after_run": round(rss2 / 1024, 1),
                "after_second_run": round(rss3 / 1024, 1),
            },
            "passed": res["server_errors_5xx"] == 0
            and res["good_failed"] == 0
            and res2["server_errors_5xx"] == 0
            and res2["good_failed"] == 0
            and rss3 - rss1 < 100 * 1024,
        },
    )
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
