"""Which `tinysent serve` settings keep single-tweet latency low: the same wrk load (32 connections,
one tweet per request, loopback, on the same cores as the server) against one server per setting.

    python benchmarks/serve_configs.py --model runs/shipped-onnx
writes benchmarks/results/serve_configs.json. Needs `wrk` (apt-get install wrk).
"""

import argparse
import json
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

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from serve_load import _ms  # noqa: E402

SETTINGS = [  # (name, extra serve options, extra environment)
    ("default", [], {}),
    ("no gc.freeze", [], {"TINYSENT_GC_FREEZE": "0"}),
    ("--threads 1", ["--threads", "1"], {}),
    ("--batch-window-ms 2", ["--batch-window-ms", "2"], {}),
    ("--workers 2 --threads 1", ["--workers", "2", "--threads", "1"], {}),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "serve_configs.json"))
    a = p.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = \'{"texts": ["I love this so much!"]}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    results = []
    for name, args, env in SETTINGS:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "tinysent.cli", "serve", a.model, "--port", str(port), *args]
        server = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}/v1/predict"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url.replace("/v1/predict", "/readyz"), timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            wrk = ["wrk", "-t1", f"-c{a.clients}", "--latency", "-s", str(script), url]
            subprocess.run([*wrk[:3], "-d2s", *wrk[3:]], capture_output=True, timeout=60)  # warm-up
            out = subprocess.run(
                [*wrk[:3], f"-d{a.seconds}s", *wrk[3:]], capture_output=True, text=True
            ).stdout
        finally:
            server.terminate()
            server.wait(30)
        r = {
            "setting": name,
            "serve_options": args,
            "env": env,
            "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
            "errors": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
        }
        print(r, flush=True)
        results.append(r)
    doc = {
        "benchmark": f"tinysent serve settings under wrk, {a.clients} connections, single tweets",
        "command": "python " + " ".join(sys.argv),
        "machine": machine(),
        "seconds": a.seconds,
        "results": results,
    }
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
