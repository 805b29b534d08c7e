"""Which `tinysent serve` settings keep single-tweet latency low: the same wrk load (32 connections,
one tweet per request, loopback, on the same cores as the server) against one server per setting.

    python benchmarks/serve_configs.py --model runs/shipped-onnx
writes benchmarks/results/serve_configs.json. Needs `wrk` (apt-get install wrk).
"""

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402
from serve_load import start_server, wrk_single_tweet  # noqa: E402

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
    results = []
    for name, args, env in SETTINGS:
        url, server, _ = start_server([a.model, *args], env)
        try:
            wrk_single_tweet(url, a.clients, 2)  # warm-up
            r = wrk_single_tweet(url, a.clients, a.seconds)
        finally:
            server.terminate()
            server.wait(30)
        r = {"setting": name, "serve_options": args, "env": env, **r}
        print(r, flush=True)
        results.append(r)
    write_result(
        a.out,
        f"tinysent serve settings under wrk, {a.clients} connections, single tweets",
        {
            "seconds": a.seconds,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
