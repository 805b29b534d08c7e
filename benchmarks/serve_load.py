"""Bounded loopback load test of `tinysent serve`: single-tweet requests at 1, 8 and 32 concurrent
clients, then batch requests; throughput, p50/p99 latency and errors. Traffic goes to 127.0.0.1 only
and every phase stops after a fixed number of requests.

    python benchmarks/serve_load.py --model DIR
writes benchmarks/results/serve_load.json.
"""

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

TWEETS = [
    "I love this so much!",
    "worst day ever :(",
    "just landed in Boston",
    "not bad, not great",
    "@user thanks for the follow http://t.co/x",
    "can't wait for the weekend!!!",
    "my phone died again",
    "so tired of this rain",
]


async def phase(url: str, clients: int, requests: int, texts_per_request: int) -> dict:
    lat, errors = [], 0
    body = {"texts": [TWEETS[i % len(TWEETS)] for i in range(texts_per_request)]}
    counter = iter(range(requests))

    async def client(c):
        nonlocal errors
        for _ in counter:
            t = time.perf_counter()
            try:
                r = await c.post(url + "/v1/predict", json=body, timeout=30)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            lat.append(time.perf_counter() - t)
            errors += not ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        wall = time.perf_counter() - t0
    ms = np.array(lat) * 1e3
    return {
        "clients": clients,
        "requests": requests,
        "texts_per_request": texts_per_request,
        "requests_per_s": round(requests / wall, 1),
        "tweets_per_s": round(requests * texts_per_request / wall, 1),
        "p50_ms": round(float(np.median(ms)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "errors": errors,
    }


def _ms(v: str) -> float:
    """wrk's latency text (e.g. 830.00us, 11.30ms, 1.02s) in milliseconds."""
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit):
            return round(float(v[: -len(unit)]) * f, 2)
    return float(v)


def start_server(serve_args: list[str], env: dict | None = None) -> tuple[str, subprocess.Popen, dict]:
    """`tinysent serve SERVE_ARGS` on a free loopback port; (base url, process, /readyz body) once ready."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tinysent.apps.cli", "serve", *serve_args, "--port", str(port)]
    server = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            ready = httpx.get(url + "/readyz", timeout=1)
            if ready.status_code == 200:
                return url, server, ready.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"server did not become ready: {' '.join(cmd)}")


def wrk_single_tweet(url: str, clients: int, seconds: int) -> dict:
    """wrk (a C load generator) POSTing one tweet per request: requests/s, p50/p99 ms, non-2xx count."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = \'{"texts": ["I love this so much!"]}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), url + "/v1/predict"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "clients": clients,
        "seconds": seconds,
        "texts_per_request": 1,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default=None)
    p.add_argument("--backend", default="auto")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "serve_load.json"))
    p.add_argument(
        "--server-args", default="", help="extra `tinysent serve` options, e.g. '--threads 1 --workers 2'"
    )
    p.add_argument("--seconds", type=int, default=8, help="length of each wrk phase")
    a = p.parse_args()
    serve_args = [*([a.model] if a.model else []), "--backend", a.backend, *a.server_args.split()]
    url, server, info = start_server(serve_args)
    try:
        wrk_phases = []
        if shutil.which("wrk"):  # a C load generator: the Python client below saturates first at 32 clients
            for clients in (1, 8, 32):
                r = wrk_single_tweet(url, clients, a.seconds)
                print("wrk", r, flush=True)
                wrk_phases.append(r)
        phases = []
        for clients, requests, per in [(1, 300, 1), (8, 1000, 1), (32, 2000, 1), (8, 200, 64), (8, 100, 256)]:
            r = asyncio.run(phase(url, clients, requests, per))
            print(r, flush=True)
            phases.append(r)
    finally:
        server.terminate()
        server.wait(30)
    write_result(
        a.out,
        "loopback load on tinysent serve",
        {
            "server": info,
            "server_args": a.server_args,
            "client_and_server_share_the_machine": True,
            "cpu_threads_env": os.environ.get("OMP_NUM_THREADS"),
            "wrk_phases": wrk_phases,  # wrk (C) clients: the numbers the goals are judged on when present
            "phases": phases,  # the Python (httpx) client, which saturates first at 32 clients
            "goals": {"single_tweet_p99_ms_at_32_clients": 50, "batch_tweets_per_s": 1500, "errors": 0},
        },
    )


if __name__ == "__main__":
    main()
