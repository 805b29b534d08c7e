"""The predict-only install, checked: build the wheel, install it with no extras into a fresh venv,
and show that it has no torch and that `tinysent predict` (texts, --input/--output, --explain) and
`tinysent.load().predict` give the labels and probabilities the full install's default path gives
(this interpreter's), on the 498 Sentiment140 test tweets and TweetEval validation; then add the
`serve` extra and check the service answers, still without torch; then the `eval` extra: `data
check`, `evaluate` of the default path on TweetEval test (the same macro recall as the full
install's) and `report` on a labelled file, still without torch; then every model package in
`models/` (`tinysent-6l`): its wheel built, installed into that venv with no dependencies, found by
`tinysent models`, answering `--model NAME` (and `--model accurate` for the accurate tier) with the
labels the full install gives from its folder, and adding its model and nothing else. CI runs it.

    python scripts/check_light_install.py [--venv DIR] [--keep] [--packages DIR ...]
Prints one JSON summary; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def make_venv(dest: Path, extras: str = "") -> Path:
    """A fresh venv with the wheel built from this checkout (plus ``extras``); returns its python."""
    wheels = dest.parent / (dest.name + "-wheel")
    shutil.rmtree(wheels, ignore_errors=True)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, ROOT])
    wheel = next(wheels.glob("tinysent-*.whl"))
    shutil.rmtree(dest, ignore_errors=True)
    run([sys.executable, "-m", "venv", dest])
    py = dest / "bin" / "python"
    run([py, "-m", "pip", "install", "-q", f"{wheel}{extras}"])
    return py


def texts() -> dict[str, list[str]]:
    """The evaluation texts, read with the full install's readers."""
    from tinysent.data import sentiment140 as D
    from tinysent.data.semeval import read_tweeteval

    out = {}
    if (SHARED / "sentiment140").exists():
        out["sentiment140_test_498"] = D.read(
            SHARED / "sentiment140" / "testdata.manual.2009.06.14.csv"
        ).texts
    if (SHARED / "tweeteval").exists():
        out["tweeteval_val"] = read_tweeteval(SHARED / "tweeteval", "val").texts
    if not out:  # no ../shared: the README's examples and varied tweets still compare both installs
        from tinysent.train.export import REFERENCE

        out["reference"] = REFERENCE
    return out


def light_records(py: Path, name: str, items: list[str], work: Path) -> dict[str, list[dict]]:
    """What the light install answers, three ways: the API, --input/--output, and text arguments."""
    src = work / f"{name}.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        w.writerows([t] for t in items)
    code = (
        "import json, sys, tinysent; t = json.load(open(sys.argv[1])); "
        "print(json.dumps(tinysent.load().predict(t)))"
    )
    (work / f"{name}.json").write_text(json.dumps(items))
    api = json.loads(run([py, "-c", code, work / f"{name}.json"], cwd=work).stdout)
    out = work / f"{name}.out.jsonl"
    cli = py.parent / "tinysent"
    run([cli, "predict", "--input", src, "--column", "text", "--output", out, "--quiet"], cwd=work)
    scored = [json.loads(x) for x in out.read_text().splitlines()]
    args = [json.loads(x) for x in run([cli, "predict", *items[:50]], cwd=work).stdout.splitlines()]
    return {"api": api, "output_file": scored, "arguments": args}


def serve_answers(py: Path, work: Path) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [py.parent / "tinysent", "serve", "--port", str(port)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        import urllib.request

        body = json.dumps({"texts": ["so happy today", "worst day ever"]}).encode()
        for _ in range(120):
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/predict", body, {"content-type": "application/json"}
                )
                with urllib.request.urlopen(req, timeout=5) as r:
                    return json.loads(r.read())
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(
            "the service did not answer: " + (proc.stdout.read() if proc.poll() is not None else "")
        )
    finally:
        proc.terminate()
        proc.wait(20)


def eval_extra(py: Path, venv: Path, work: Path) -> dict:
    """The `eval` extra without torch: data check, evaluate (the default path's TweetEval test macro
        recall, compared with this interpreter's full install), report on a labelled CSV and on TweetEval
    (its macro recall the same number)."""
    wheel = next((venv.parent / (venv.name + "-wheel")).glob("*.whl"))
    run([py, "-m", "pip", "install", "-q", f"{wheel}[eval]"])
    light = py.parent / "tinysent"
    te = SHARED / "tweeteval"
    run([light, "data", "check", te, "--compact"])
    out = {}
    for name, exe in (("light", [light]), ("full", [sys.executable, "-m", "tinysent"])):
        run([*exe, "evaluate", "--test-data", te, "--out", work / f"ev-{name}"])
        out[name] = json.loads((work / f"ev-{name}" / "metrics.json").read_text())["macro_recall"]
    # a labelled file of the user's kind: TweetEval validation as text,label CSVs
    names = ("negative", "neutral", "positive")
    texts = (te / "val_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (te / "val_labels.txt").read_text().split()
    for split, rows in (("train", range(0, 1500)), ("test", range(1500, len(texts)))):
        with open(work / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows([texts[i], names[int(labels[i])]] for i in rows)
    rep = work / "report"
    run([light, "report", "--test-data", work / "test.csv", "--train-data", work / "train.csv", "--out", rep])
    run([light, "report", "--test-data", te, "--out", work / "report-tweeteval"])  # the benchmark's page
    page = json.loads((work / "report-tweeteval" / "report.json").read_text())
    no_torch = subprocess.run([py, "-c", "import torch"], capture_output=True).returncode != 0
    doc = {
        "tweeteval_test_macro_recall": out,
        "report_files": sorted(p.name for p in rep.iterdir()),
        "tweeteval_report_macro_recall": page["systems"][0]["score"],
        "import_torch_fails": no_torch,
    }
    doc["ok"] = bool(
        no_torch
        and out["light"] == out["full"] == page["systems"][0]["score"]
        and (rep / "report.html").exists()
    )
    return doc


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install_package(venv: Path, pkg: Path, work: Path) -> dict:
    """Build the model package ``pkg``'s wheel and install it into ``venv`` (no dependencies: tinysent
    is there): its name, wheel, what it added to site-packages (bytes), its ``tinysent models`` row."""
    import tomllib

    name = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]["name"]
    wheels = work / f"wheel-{name}"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, pkg])
    wheel = next(wheels.glob("*.whl"))
    site = next(venv.glob("lib/python3*/site-packages"))
    before = tree_bytes(site)
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", wheel])
    added = tree_bytes(site) - before
    listed = [
        json.loads(x)
        for x in run([venv / "bin" / "tinysent", "models", "--json"], cwd=work).stdout.splitlines()
    ]
    row = next((r for r in listed if r["name"] == name), None)
    return {"name": name, "wheel": wheel, "added_bytes": added, "row": row}


def model_package(py: Path, venv: Path, pkg: Path, work: Path, items: list[str]) -> dict:
    """Install ``pkg`` into the light venv and check what it adds and what it answers."""
    import tinysent

    got = install_package(venv, pkg, work)
    name, wheel, added, row = got["name"], got["wheel"], got["added_bytes"], got["row"]
    model_dir = pkg / "src" / name.replace("-", "_") / "model"
    cli = py.parent / "tinysent"
    names = [name] + (["accurate"] if row and row["tier"] == "accurate" else [])
    ref = tinysent.load(model_dir).predict(items[:50])
    same = {}
    for n in names:
        got = [
            json.loads(x)
            for x in run([cli, "predict", "--model", n, *items[:50]], cwd=work).stdout.splitlines()
        ]
        same[n] = [{k: v for k, v in r.items() if k != "text"} for r in got] == ref
    no_torch = subprocess.run([py, "-c", "import torch"], capture_output=True).returncode != 0
    doc = {
        "wheel": wheel.name,
        "wheel_mib": round(wheel.stat().st_size / 2**20, 1),
        "installed_mib": round(added / 2**20, 1),
        "model_mib": round(tree_bytes(model_dir) / 2**20, 1),
        "listed": row is not None,
        "tier": row and row["tier"],
        "identical": same,
        "import_torch_fails": no_torch,
    }
    # what it adds is its model (and its module, README and dist-info: a few KiB)
    doc["ok"] = bool(row and all(same.values()) and no_torch and added < tree_bytes(model_dir) + 2**20)
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=None, help="where to make the venv (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the venv")
    ap.add_argument(
        "--packages",
        nargs="*",
        default=None,
        help="model package folders (default: models/*/ with a pyproject.toml)",
    )
    a = ap.parse_args()
    import tinysent

    work = Path(tempfile.mkdtemp(prefix="tinysent-light-"))
    venv = Path(a.venv) if a.venv else work / "venv"
    try:
        py = make_venv(venv)
        no_torch = subprocess.run([py, "-c", "import torch"], capture_output=True).returncode != 0
        summary = {"venv": str(venv), "import_torch_fails": no_torch, "sets": {}}
        ok = no_torch
        full = tinysent.load()  # the full install's default path (this interpreter)
        for name, items in texts().items():
            ref = full.predict(items)
            got = light_records(py, name, items, work)
            same = {
                "api": got["api"] == ref,
                "output_file": [
                    {k: v for k, v in r.items() if k not in ("line", "id")} for r in got["output_file"]
                ]
                == ref,
                # the same 50 texts in one call, as the CLI scores them (int8 scales activations per call)
                "arguments": [{k: v for k, v in r.items() if k != "text"} for r in got["arguments"]]
                == full.predict(items[:50]),
            }
            summary["sets"][name] = {"n": len(items), "identical": same}
            ok &= all(same.values())
        # why this label, without torch: the negation carries the answer
        line = run([py.parent / "tinysent", "predict", "--explain", "I do not love this"], cwd=work).stdout
        explained = json.loads(line)
        top = max(explained["explanation"], key=lambda e: e["weight"])["word"]
        summary["explain"] = {"label": explained["label"], "top_word": top}
        ok &= explained["label"] == "negative" and top == "not"
        run(
            [
                py,
                "-m",
                "pip",
                "install",
                "-q",
                f"{next((venv.parent / (venv.name + '-wheel')).glob('*.whl'))}[serve]",
            ]
        )
        answer = serve_answers(py, work)
        no_torch_serve = subprocess.run([py, "-c", "import torch"], capture_output=True).returncode != 0
        summary["serve"] = {
            "labels": [p["label"] for p in answer["predictions"]],
            "import_torch_fails": no_torch_serve,
        }
        ok &= no_torch_serve and summary["serve"]["labels"] == ["positive", "negative"]
        if (SHARED / "tweeteval").exists():
            summary["eval"] = eval_extra(py, venv, work)
            ok &= summary["eval"]["ok"]
        packages = (
            a.packages if a.packages is not None else [p.parent for p in ROOT.glob("models/*/pyproject.toml")]
        )
        items = next(iter(texts().values()))
        summary["model_packages"] = {}
        for pkg in sorted(Path(p) for p in packages):
            summary["model_packages"][pkg.name] = got = model_package(py, venv, pkg, work, items)
            ok &= got["ok"]
        summary["ok"] = bool(ok)
        print(json.dumps(summary, indent=2))
        return 0 if ok else 1
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(venv.parent / (venv.name + "-wheel"), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
