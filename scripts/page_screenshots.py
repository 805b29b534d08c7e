"""The labelling page and the service's demo page as a person sees them, photographed in headless
Chromium for the docs: `tinysent label` on 500 TweetEval test tweets (negative / neutral / positive,
the shipped model's guesses), a dozen labelled by keyboard from their gold labels; `tinysent serve`
(the shipped model) with three tweets typed into its page at /.

    python scripts/page_screenshots.py --data ../shared/data --out docs/images

Writes label-page.png, demo-page.png and page-screenshots.json (machine and date) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _machine import machine  # noqa: E402


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(cmd: list[str], probe: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if httpx.get(probe, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"{cmd[3]} did not come up")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="docs/images")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    te, out = Path(a.data) / "tweeteval", Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tinysent-pages-"))
    names = ("negative", "neutral", "positive")
    texts = (te / "test_text.txt").read_text(encoding="utf-8").splitlines()[:500]
    gold = dict(zip(texts, (names[int(x)] for x in (te / "test_labels.txt").read_text().split())))
    tweets = work / "tweets.txt"
    tweets.write_text("\n".join(texts) + "\n", encoding="utf-8")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    py = [sys.executable, "-m", "tinysent"]
    lp, sp = port(), port()
    label = started(
        [*py, "label", str(tweets), "--labels", ",".join(names), "--out", str(work / "labels.csv"),
         "--port", str(lp)],
        f"http://127.0.0.1:{lp}/api/state",
    )  # fmt: skip
    serve = started([*py, "serve", "--port", str(sp)], f"http://127.0.0.1:{sp}/readyz")
    env_errors: list[str] = []
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1000, "height": 760})
            page.on("pageerror", lambda e: env_errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{lp}/")
            page.wait_for_selector("#buttons .btn")
            for i in range(12):
                key = str(names.index(gold[page.evaluate("() => state.tweet.text")]) + 1)
                page.keyboard.press(key)
                page.wait_for_function(f"() => state.labelled === {i + 1}")
            page.wait_for_selector("#tweet span.w")
            page.screenshot(path=str(out / "label-page.png"), full_page=True)
            demo = b.new_page(viewport={"width": 1000, "height": 760})
            demo.on("pageerror", lambda e: env_errors.append(str(e)))
            demo.goto(f"http://127.0.0.1:{sp}/")
            demo.click("#go")
            demo.wait_for_selector(".tweet .w")
            demo.screenshot(path=str(out / "demo-page.png"), full_page=True)
            doc = {"machine": machine(), "browser": b.version, "page_errors": env_errors}
            b.close()
    finally:
        for p in (label, serve):
            p.terminate()
            p.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    doc["command"] = "python scripts/page_screenshots.py --data ../shared/data --out docs/images"
    (out / "page-screenshots.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc))
    return 0 if not env_errors else 1


if __name__ == "__main__":
    os.environ.setdefault("TINYSENT_ORT_SPIN", "0")
    sys.exit(main())
