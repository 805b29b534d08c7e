"""Idle connections against a real `tinysent serve` (the shipped model, default limits: 1,000
connections, probes keep 250 more): 999, 1,100 and 1,300 held-open connections that never send a
request, then /healthz and one /v1/predict from a new connection; then all closed and one more
predict. Passes when every answer is JSON, predict is served under the limit, the probes under the
headroom, and the service recovers.

    python benchmarks/connection_drill.py

writes benchmarks/results/connection_drill.json.
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "tinysent.apps.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.time() < deadline and proc.poll() is None, "server did not start"
        time.sleep(0.1)
    rows = {}
    try:
        for n in (999, 1100, 1300):
            held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
            time.sleep(1.0)  # the server accepts them asynchronously
            h = httpx.get(url + "/healthz", timeout=10)
            p = httpx.post(url + "/v1/predict", json={"texts": ["i love it"]}, timeout=10)
            rows[str(n)] = {
                "healthz": h.status_code,
                "predict": p.status_code,
                "all_json": all(r.headers["content-type"] == "application/json" for r in (h, p)),
                "predict_body": p.json(),
            }
            for s in held:
                s.close()
            time.sleep(1.0)
        rows["after_closing"] = httpx.post(
            url + "/v1/predict", json={"texts": ["ok"]}, timeout=10
        ).status_code
    finally:
        proc.terminate()
        proc.wait(30)
    ok = (
        rows["999"]["healthz"] == rows["999"]["predict"] == 200
        and rows["1100"]["healthz"] == 200
        and rows["1100"]["predict"] == 503
        and rows["1300"]["healthz"] == 503
        and all(r["all_json"] for k, r in rows.items() if k != "after_closing")
        and rows["after_closing"] == 200
    )
    out = Path(__file__).parent / "results" / "connection_drill.json"
    print(json.dumps(write_result(out, "connection_drill", {"rows": rows, "ok": ok}), indent=1))


if __name__ == "__main__":
    main()
