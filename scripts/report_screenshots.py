"""The report page as a reader sees it: `tinysent report` on three tasks with the real data (the
shipped model on TweetEval sentiment test, on Sentiment140's test tweets, and on labelled CSVs made
from TweetEval: validation rows train the baselines, 2,000 test rows are scored), each page opened
in headless Chromium, checked (every figure decoded, no console error, the systems table and the
figures on screen) and photographed for the docs.

    python scripts/report_screenshots.py --data ../shared/data --out docs/images

Writes report-{tweeteval,sentiment140,labelled}.png and report-screenshots.json (what was checked,
the machine and date) to --out. Chromium: Debian's (`apt install chromium`), driven by Playwright
through ``executable_path`` (Playwright's own browser download is not needed).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _machine import machine  # noqa: E402

CHECK = """() => ({
  images: [...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0})),
  tables: document.querySelectorAll('table').length,
  sections: [...document.querySelectorAll('h2[id]')].map(h => h.id),
  width: document.documentElement.scrollWidth,
})"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("no Chromium: apt install chromium (Debian) and run again")


def look(page_file: Path, png: Path, browser) -> dict:
    """Open the page, check it, photograph it (full page)."""
    errors: list[str] = []
    tab = browser.new_page(viewport={"width": 1160, "height": 900})
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(page_file.resolve().as_uri())
    tab.wait_for_load_state("load")
    seen = tab.evaluate(CHECK)
    tab.screenshot(path=str(png), full_page=True)
    tab.close()
    seen.update(
        console_errors=errors,
        ok=bool(seen["images"])
        and all(i["ok"] for i in seen["images"])
        and not errors
        and seen["tables"] >= 2,
        screenshot=png.name,
    )
    return seen


def labelled_csvs(te: Path, work: Path) -> tuple[Path, Path]:
    """TweetEval as the user's kind of file, text,label CSVs: its validation split to train the
    baselines on, the first 2,000 test tweets to score (rows no model here was selected on)."""
    names = ("negative", "neutral", "positive")
    files = []
    for split, source, n in (("train", "val", None), ("test", "test", 2000)):
        texts = (te / f"{source}_text.txt").read_text(encoding="utf-8").splitlines()[:n]
        labels = (te / f"{source}_labels.txt").read_text().split()[:n]
        f = work / f"{split}.csv"
        with open(f, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label"])
            w.writerows([t, names[int(y)]] for t, y in zip(texts, labels))
        files.append(f)
    return files[0], files[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data", help="the shared data folder")
    ap.add_argument("--out", default="docs/images", help="where the screenshots go")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tinysent-pages-"))
    train, test = labelled_csvs(data / "tweeteval", work)
    pages = {
        "tweeteval": ["--test-data", data / "tweeteval", "--train-data", data / "semeval-task4a"],
        "sentiment140": [
            "--test-data",
            data / "sentiment140",
            "--train-data",
            data / "sentiment140",
            "--baseline-max-train",
            "100000",
        ],  # fmt: skip
        "labelled": ["--test-data", test, "--train-data", train],
    }
    doc = {
        "command": "python scripts/report_screenshots.py --data ../shared/data --out docs/images",
        "machine": machine(),  # its date too
        "pages": {},
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        doc["browser"] = browser.version
        for name, args in pages.items():
            folder = work / name
            cmd = [sys.executable, "-m", "tinysent", "report", *map(str, args), "--out", str(folder)]
            subprocess.run(cmd, check=True)
            doc["pages"][name] = look(folder / "report.html", out / f"report-{name}.png", browser)
        browser.close()
    (out / "report-screenshots.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps({k: v["ok"] for k, v in doc["pages"].items()}))
    return 0 if all(v["ok"] for v in doc["pages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
