"""Fault drill: `kill -9` at random moments during training (with checkpoints) and during batch
scoring, each followed by a rerun with `--resume`; every run must end with the result of an
uninterrupted run and leave no temporary files. Then pairs of scoring runs started together into
one output: a run that exits 0 must own every row of that output. Reports the counts.

The own-data drill (``--own-kills``, default 20): the same on a user's labelled CSV, spread over
`train`, `distill` (a student from the trained teacher) and `curve`, each killed at a random moment
and rerun (`--resume` where the folder exists); the result must have the same model files (sha256 of
weights, config and tokenizer) as an uninterrupted run, and no temporary or lock file may be left.
Then pairs of `train` runs into one `--out`, started together: one is refused, the other's model is
the uninterrupted one.

The replace drill (``--only-replace``, ``--replace-kills``, default 20): SIGTERM or SIGKILL at a
random moment of `train`, `distill`, `calibrate`, `export` with ``--overwrite`` and of `pack`, each
into a folder holding an earlier model; after SIGTERM that model must be back when the process ends,
after SIGKILL once the next command into the folder has run; nothing may be left beside it. Then
SIGTERM to `tinysent label` while a round trains and to `recipe run` during a step: no child may
outlive them, no lock stays, no label is lost. Writes benchmarks/results/fault_drill_replace.json.

    .venv/bin/python benchmarks/fault_drill.py [--kills 10] [--own-kills 20]
writes benchmarks/results/fault_drill.json. Tiny fixtures built here (tests/conftest.py); the scoring
runs use the shipped model (the default path). (The first-use int8 build of earlier versions is
gone: the graphs ship with the model, so there is nothing to interrupt there.)
"""

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _machine import write_result  # noqa: E402

CLI = [sys.executable, "-m", "tinysent.apps.cli"]
LEFTOVERS = (
    "*.partial",
    "*.partial.json",
    "checkpoint.tmp",
    "checkpoint.old",
    ".*replaced-*",
    "*.tmp",
    "*.tmp-*",
    ".*.lock",
    "*.part",
)
MODEL_FILES = ("model.safetensors", "config.json", "tokenizer.json")


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for pat in LEFTOVERS for p in folder.rglob(pat))


def run(args, **kw):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, **kw)


def killed_at(args, seconds: float) -> bool:
    """Start ``tinysent ARGS``, kill -9 it after ``seconds``; True if it was still running."""
    p = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p.wait(seconds)
        return False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        return True


def probs(model: Path, texts: list[str]) -> list:
    code = (
        "import json, sys, tinysent\n"
        "print(json.dumps(tinysent.load(sys.argv[1]).predict(json.load(sys.stdin))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(model)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def model_shas(folder: Path) -> dict:
    """sha256 of a model folder's weights, config and tokenizer (what must match an uninterrupted run)."""
    import hashlib

    return {
        n: hashlib.sha256((folder / n).read_bytes()).hexdigest() if (folder / n).exists() else None
        for n in MODEL_FILES
    }


def own_data_drill(work: Path, kills: int, pairs: int, rng: random.Random) -> dict:
    """Kills across `train`, `distill` and `curve` on a labelled CSV, and concurrent `train` writers."""
    from tests.conftest import make_tiny_base
    from tests.test_labelled import make_rows, write_csv

    base = make_tiny_base(work / "own-base", dropout=0.0)
    data = write_csv(work / "own.csv", make_rows(900, seed=1))
    test = write_csv(work / "own-test.csv", make_rows(90, seed=2))
    loop = ["--batch-size", "16", "--eval-every", "10", "--max-val", "none", "--min-steps", "0", "--quiet"]
    tune = ["--lr", "1e-3", "--patience", "none", *loop]
    commands = {
        "train": lambda out: ["train", "--base", base, "--train-data", data, "--out", out,
                              "--epochs", "2", *tune],
        "distill": lambda out: ["distill", "--teacher", work / "own-ref-train", "--student", base,
                                "--train-data", data, "--out", out, "--stage2-epochs", "2",
                                "--stage2-lr", "1e-3", *loop],
        "curve": lambda out: ["curve", "--base", base, "--train-data", data, "--test-data", test,
                              "--out", out, "--sizes", "200,all", "--epochs", "1", *tune],
    }  # fmt: skip

    def result(kind: str, out: Path):
        if kind != "curve":
            return model_shas(out)
        doc = json.loads((out / "curve.json").read_text()) if (out / "curve.json").exists() else None
        points = [{k: p[k] for k in ("size", "model", "tfidf_lr")} for p in (doc or {}).get("points", [])]
        return {"points": points, **{d.name: model_shas(d) for d in sorted(out.glob("n-*"))}}

    doc = {"reference_s": {}, "runs": [], "concurrent": []}
    refs = {}
    for kind in ("train", "distill", "curve"):  # the teacher (train's reference) first
        out = work / f"own-ref-{kind}"
        t0 = time.time()
        r = run(commands[kind](out))
        assert r.returncode == 0, r.stderr[-2000:]
        doc["reference_s"][kind] = round(time.time() - t0, 1)
        refs[kind] = result(kind, out)
    plan = [("train", "distill", "curve")[k % 3] for k in range(kills)]
    for k, kind in enumerate(plan):
        out = work / f"own-{kind}-{k}"
        when = rng.uniform(0.5, 0.85 * doc["reference_s"][kind])  # inside the run
        was_running = killed_at(commands[kind](out), when)
        again = commands[kind](out)
        if kind != "curve" and out.exists():
            again = [*again, "--resume"]
        r = run(again)
        same = r.returncode == 0 and result(kind, out) == refs[kind]
        doc["runs"].append(
            {
                "command": kind,
                "kill_at_s": round(when, 2),
                "killed": was_running,
                "rc": r.returncode,
                "same_as_uninterrupted": same,
                "leftovers": leftovers(work)
                if not out.exists()
                else leftovers(out) + [p.name for p in work.glob(f".{out.name}.lock")],
                "error": r.stderr.strip().splitlines()[-1:] if r.returncode else [],
            }
        )
        print("own", doc["runs"][-1], flush=True)
    for k in range(pairs):
        out = work / f"own-shared-{k}"
        procs = [
            subprocess.Popen([*CLI, *map(str, commands["train"](out))], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]  # fmt: skip
        rcs = [p.wait() for p in procs]
        errs = [p.stderr.read() for p in procs]
        doc["concurrent"].append(
            {
                "rcs": rcs,
                "refused": sum("another run is writing" in e for e in errs),
                "winner_is_uninterrupted": 0 in rcs and model_shas(out) == refs["train"],
                "leftovers": leftovers(out) + [p.name for p in work.glob(f".{out.name}.lock")],
            }
        )
        print("own pair", doc["concurrent"][-1], flush=True)
    doc["summary"] = {
        "kills": sum(r["killed"] for r in doc["runs"]),
        "runs": len(doc["runs"]),
        "by_command": {c: plan.count(c) for c in ("train", "distill", "curve")},
        "runs_ending_as_uninterrupted": sum(r["same_as_uninterrupted"] for r in doc["runs"]),
        "leftover_files": sum(len(r["leftovers"]) for r in doc["runs"] + doc["concurrent"]),
        "concurrent_pairs": len(doc["concurrent"]),
        "pairs_with_one_refused_and_the_winner_uninterrupted": sum(
            c["refused"] == 1 and c["winner_is_uninterrupted"] for c in doc["concurrent"]
        ),
    }
    return doc


def beside(out: Path) -> list[str]:
    """What a run left beside its folder: an old folder aside, a temporary pack, a lock."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def replace_drill(work: Path, kills: int, rng: random.Random) -> dict:
    """Kills of runs that replace a model folder, then SIGTERM of the labelling page and recipe run."""
    import shutil

    from tests.conftest import make_tiny_base, make_tweets, tiny_train_args, write_six_col
    from tests.test_label import write_tweets

    base = make_tiny_base(work / "r-base")
    data = write_six_col(work / "r-train.csv", make_tweets(1200))
    prev = work / "r-prev"
    assert run(["train", *tiny_train_args(base, data, prev, epochs=1)]).returncode == 0
    old = model_shas(prev)
    commands = {
        "train": lambda out: ["train", *tiny_train_args(base, data, out, epochs=3), "--overwrite"],
        "distill": lambda out: ["distill", "--teacher", prev, "--student", base, "--train-data", data,
                                "--out", out, "--stage1-epochs", "0", "--stage2-epochs", "1",
                                "--max-train", "600", "--overwrite", "--quiet"],
        "calibrate": lambda out: ["calibrate", "--model", prev, "--out", out, "--overwrite"],
        "export": lambda out: ["export", "--model", prev, "--out", out, "--int8", "--overwrite"],
        "pack": lambda out: ["pack", "--model", prev, "--out", out],
    }  # fmt: skip
    doc: dict = {"reference_s": {}, "runs": []}
    new = {}  # each command's finished model (a kill after it is in place leaves it, whole)
    for kind, cmd in commands.items():
        out = work / f"r-ref-{kind}"
        shutil.copytree(prev, out)
        t0 = time.time()
        r = run(cmd(out))
        assert r.returncode == 0, (kind, r.stderr[-2000:])
        doc["reference_s"][kind] = round(time.time() - t0, 1)
        new[kind] = model_shas(out)
    kinds = list(commands)
    for k in range(kills):
        kind, sig = kinds[k % len(kinds)], (signal.SIGTERM, signal.SIGKILL)[(k // len(kinds)) % 2]
        out = work / f"r-{kind}-{k}"
        shutil.copytree(prev, out)
        when = rng.uniform(0.3, 0.95 * doc["reference_s"][kind])
        p = subprocess.Popen([*CLI, *map(str, commands[kind](out))], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(when)
        was_running = p.poll() is None
        if was_running:
            p.send_signal(sig)
        rc = p.wait()
        after_kill = beside(out)
        if sig == signal.SIGKILL:  # the next command into the folder settles it (refused: not empty)
            run(["calibrate", "--model", prev, "--out", out])
        kept = model_shas(out) == old
        finished = rc == 0 or model_shas(out) == new[kind]
        doc["runs"].append(
            {
                "command": kind,
                "signal": signal.Signals(sig).name,
                "at_s": round(when, 2),
                "killed": was_running,
                "rc": rc,
                "left_beside_after_kill": after_kill,
                "old_model_back": kept,
                "new_model_whole_instead": finished,
                "lost": not kept and not finished,
                "leftovers": beside(out),
            }
        )
        print("replace", doc["runs"][-1], flush=True)

    # SIGTERM of the labelling page while a round trains: no trainer outlives it, no label is lost
    tweets, gold = write_tweets(work / "r-tweets.txt", 60, seed=6)
    labels = work / "r-labels.csv"
    import httpx
    from tests.test_label import AUTH, TOKEN, _children, _port

    port = _port()
    url = f"http://127.0.0.1:{port}"
    page = subprocess.Popen(
        [*CLI, "label", str(tweets), "--labels", "negative,positive", "--out", str(labels),
         "--port", str(port), "--every", "6", "--base", str(base),
         "--train-options", "--min-steps 0 --epochs 500 --batch-size 8"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TINYSENT_TOKEN": TOKEN},
    )  # fmt: skip
    for _ in range(600):
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    saved = 0
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as c:
        state = c.get("/api/state").json()
        while not state["training"]:
            t = state["tweet"]
            state = c.post("/api/label", json={"id": t["id"], "label": gold[t["text"]]}).json()
            saved += 1
    time.sleep(rng.uniform(1, 4))
    trainers = _children(page.pid)
    page.send_signal(signal.SIGTERM)
    page_rc = page.wait(120)
    doc["label_page"] = {
        "rc": page_rc,
        "trainers": len(trainers),
        "orphans": sum(alive(t) for t in trainers),
        "labels_saved": saved,
        "labels_in_file": len(labels.read_text().splitlines()) - 1,
        "leftovers": beside(labels),
    }
    print("label page", doc["label_page"], flush=True)

    # SIGTERM of recipe run during a step: the step stops with it, the work folder's lock is released
    recipe = work / "r-slow.yml"
    step = (
        "python -c \"import os,time,pathlib; pathlib.Path('pid.txt').write_text(str(os.getpid())); "
        'time.sleep(600)"'
    )
    recipe.write_text(
        "title: slow\nvars: {}\nworkflows:\n  all: [wait]\ncommands:\n  - name: wait\n    script:\n"
        f"      - >-\n        {step}\n    outputs: [never.txt]\n"
    )
    rwork = work / "r-work"
    rp = subprocess.Popen([*CLI, "recipe", "run", str(recipe), "--work", str(rwork)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    while not (rwork / "pid.txt").exists() and rp.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)
    step_pid = int((rwork / "pid.txt").read_text())
    rp.send_signal(signal.SIGTERM)
    doc["recipe_run"] = {
        "rc": rp.wait(120),
        "step_outlived_it": alive(step_pid),
        "leftovers": beside(rwork),
    }
    print("recipe run", doc["recipe_run"], flush=True)
    runs = doc["runs"]
    doc["summary"] = {
        "runs": len(runs),
        "killed": sum(r["killed"] for r in runs),
        "by_signal": {s: sum(r["signal"] == s for r in runs) for s in ("SIGTERM", "SIGKILL")},
        "old_model_back_after_a_kill": sum(r["old_model_back"] for r in runs if r["killed"]),
        "lost_models": sum(r["lost"] for r in runs),
        "leftover_files": sum(len(r["leftovers"]) for r in runs)
        + len(doc["label_page"]["leftovers"])
        + len(doc["recipe_run"]["leftovers"]),
        "orphans": doc["label_page"]["orphans"] + int(doc["recipe_run"]["step_outlived_it"]),
        "labels_lost": doc["label_page"]["labels_saved"] - doc["label_page"]["labels_in_file"],
    }
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=10, help="kills per drill (training, scoring)")
    ap.add_argument("--pairs", type=int, default=5, help="concurrent writer pairs")
    ap.add_argument("--own-kills", type=int, default=20, help="kills in the own-data drill (0: skip it)")
    ap.add_argument("--only-own", action="store_true", help="run the own-data drill alone")
    ap.add_argument("--replace-kills", type=int, default=20, help="kills in the replace drill")
    ap.add_argument("--only-replace", action="store_true", help="run the replace drill alone")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "fault_drill.json"))
    a = ap.parse_args()
    from tests.conftest import make_tiny_base, make_tweets, tiny_train_args, write_six_col

    work = Path(tempfile.mkdtemp(prefix="tinysent-drill-"))
    rng = random.Random(0)
    base = make_tiny_base(work / "base")
    data = write_six_col(work / "train.csv", make_tweets(1200))
    probe = [t for _, t in make_tweets(50, seed=1)]
    doc = {"training": [], "scoring": [], "concurrent": []}
    if a.only_replace:
        out = Path(a.out).with_name("fault_drill_replace.json") if a.out == ap.get_default("out") else a.out
        doc = replace_drill(work, a.replace_kills, rng)
        write_result(out, "fault_drill_replace", doc)
        print(json.dumps(doc["summary"], indent=2))
        return
    if a.only_own:
        doc = {"own_data": own_data_drill(work, a.own_kills, a.pairs, rng)}
        write_result(a.out, "fault_drill_own_data", doc)
        print(json.dumps(doc["own_data"]["summary"], indent=2))
        return

    # --- training: a reference run, then runs killed at random moments and resumed
    ref_dir = work / "ref"
    t0 = time.time()
    assert run(["train", *tiny_train_args(base, data, ref_dir, eval_every=5)]).returncode == 0
    ref_seconds = time.time() - t0
    ref = probs(ref_dir, probe)
    for k in range(a.kills):
        out = work / f"train-{k}"
        when = rng.uniform(1.0, ref_seconds)
        was_running = killed_at(["train", *tiny_train_args(base, data, out, eval_every=5)], when)
        args = ["train", *tiny_train_args(base, data, out, eval_every=5)]
        r = run([*args, "--resume"] if out.exists() else args)
        same = r.returncode == 0 and probs(out, probe) == ref
        doc["training"].append(
            {
                "kill_at_s": round(when, 2),
                "killed": was_running,
                "rc": r.returncode,
                "same_as_uninterrupted": same,
                "leftovers": leftovers(out),
                "error": r.stderr.strip().splitlines()[-1:] if r.returncode else [],
            }
        )
        print("train", doc["training"][-1], flush=True)

    # --- scoring: the shipped model on 30,000 tweets into .jsonl, killed and resumed
    src = work / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"text": f"tweet {i}: {t}"}) + "\n"
            for i, (_, t) in enumerate(make_tweets(30000, seed=2))
        )
    )
    t0 = time.time()
    assert run(["predict", "--input", src, "--output", work / "ref.jsonl", "--quiet"]).returncode == 0
    score_seconds = time.time() - t0
    want = (work / "ref.jsonl").read_text()
    for k in range(a.kills):
        out = work / f"scores-{k}.jsonl"
        when = rng.uniform(0.5, score_seconds)
        was_running = killed_at(["predict", "--input", src, "--output", out, "--quiet"], when)
        r = run(["predict", "--input", src, "--output", out, "--quiet", "--resume"])
        same = r.returncode == 0 and out.read_text() == want
        doc["scoring"].append(
            {
                "kill_at_s": round(when, 2),
                "killed": was_running,
                "rc": r.returncode,
                "same_as_uninterrupted": same,
                "leftovers": [p.name for p in work.glob(out.name + ".partial*")],
                "error": r.stderr.strip().splitlines()[-1:] if r.returncode else [],
            }
        )
        print("score", doc["scoring"][-1], flush=True)

    # --- two runs into one output, started together
    other = work / "other.jsonl"
    other.write_text(
        "".join(
            json.dumps({"text": f"other {i}: {t}"}) + "\n"
            for i, (_, t) in enumerate(make_tweets(8000, seed=3))
        )
    )
    refs = {}
    for name, inp in (("in", src), ("other", other)):
        run(["predict", "--input", inp, "--output", work / f"ref-{name}.jsonl", "--quiet"], check=True)
        refs[name] = (work / f"ref-{name}.jsonl").read_text()
    for k in range(a.pairs):
        out = work / f"shared-{k}.jsonl"
        procs = {
            name: subprocess.Popen(
                [*CLI, "predict", "--input", str(inp), "--output", str(out), "--quiet"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, inp in (("in", src), ("other", other))
        }
        rcs = {n: p.wait() for n, p in procs.items()}
        text = out.read_text() if out.exists() else ""
        winners = [n for n, rc in rcs.items() if rc == 0]
        # one success: the file is its rows; two (the first had finished before the second started):
        # the file is one run's rows, whole
        owned = text == refs[winners[0]] if len(winners) == 1 else text in [refs[n] for n in winners]
        doc["concurrent"].append(
            {
                "rcs": rcs,
                "success_owns_its_rows": owned or not winners,
                "refused": [n for n, p in procs.items() if "another run" in p.stderr.read()],
            }
        )
        print("pair", doc["concurrent"][-1], flush=True)

    if a.own_kills:
        doc["own_data"] = own_data_drill(work, a.own_kills, a.pairs, rng)
    doc["summary"] = {
        "kills": sum(r["killed"] for r in doc["training"] + doc["scoring"]),
        "runs_ending_as_uninterrupted": sum(
            r["same_as_uninterrupted"] for r in doc["training"] + doc["scoring"]
        ),
        "runs": len(doc["training"]) + len(doc["scoring"]),
        "leftover_files": sum(len(r["leftovers"]) for r in doc["training"] + doc["scoring"]),
        "concurrent_pairs": len(doc["concurrent"]),
        "success_with_another_runs_rows": sum(not c["success_owns_its_rows"] for c in doc["concurrent"]),
    }
    write_result(a.out, "fault_drill", doc)
    print(json.dumps(doc["summary"], indent=2))


if __name__ == "__main__":
    main()
