"""The default path now against the default path of an earlier commit (default: 47e974b, before the
layers and the shipped ONNX files), paired: the same tweets through `tinysent.load().predict` in
alternating processes, order rotating, several rounds; each process warms up, then times 3 passes
and reports its median. Before 47e974b's successor the default path ran the int8 export built on
first use into the user cache (inline weights); now it runs the graphs shipped in the package
(weights read from model.safetensors / model.weights). This VM's speed wanders by 10-25 % within
minutes: read the median of the per-round ratios (adjacent processes), not one run. Then, in one
process, this checkout's predictor alternates between the shipped graphs and the previous commit's
export files: what the file format alone changes.

    .venv/bin/python benchmarks/default_path_vs_previous.py \
        --data ../shared/data/sentiment140/training.head10000.csv
writes benchmarks/results/default_path_vs_previous.json (the earlier commit is checked out into a
temporary git worktree and imported from its src/ by PYTHONPATH).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

TIMER = """
import json, statistics, sys, time
import tinysent
texts = json.load(open(sys.argv[1]))
m = tinysent.load()
m.predict(texts[:512])
speeds = []
for _ in range(3):
    t = time.perf_counter()
    labels = [r["label"] for r in m.predict(texts)]
    speeds.append(len(texts) / (time.perf_counter() - t))
print(json.dumps({"tweets_per_s": statistics.median(speeds), "labels": labels, "file": str(m.backend.file)}))
"""


def same_code_other_files(texts_file: Path, previous_folder: Path, rounds: int = 10) -> dict:
    """This checkout's predictor on the shipped graphs and on the previous commit's export (its user-cache
    folder, inline weights), alternating in one process: what the file format alone changes."""
    import tinysent
    from tinysent.runtime.predictor import Predictor

    texts = json.loads(texts_file.read_text())
    kinds = {
        "shipped graphs": tinysent.load().warm(),
        "previous export": Predictor.from_dir(previous_folder).warm(),
    }
    for p in kinds.values():
        p.predict(texts[:1000])
    speeds: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(rounds):
        for name in list(kinds)[i % 2 :] + list(kinds)[: i % 2]:
            t = time.perf_counter()
            kinds[name].predict(texts)
            speeds[name].append(round(len(texts) / (time.perf_counter() - t), 1))
    ratios = [a / b for a, b in zip(*speeds.values())]
    return {"tweets_per_s": speeds, "median_ratio": round(statistics.median(ratios), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--previous", default="47e974b")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "default_path_vs_previous.json"))
    a = p.parse_args()
    from tinysent.data import sentiment140 as D

    tmp = Path(tempfile.mkdtemp(prefix="tinysent-prev-"))
    prev = tmp / "prev"
    texts_file = tmp / "texts.json"
    texts_file.write_text(json.dumps(D.read(a.data).texts[: a.n]))
    subprocess.run(
        ["git", "-C", ROOT, "worktree", "add", "--detach", prev, a.previous], check=True, capture_output=True
    )
    try:
        variants = {"now": ROOT / "src", f"previous ({a.previous})": prev / "src"}
        runs: dict[str, list[float]] = {k: [] for k in variants}
        labels, files = {}, {}
        names = list(variants)
        for r in range(a.rounds):
            for name in names[r % 2 :] + names[: r % 2]:
                env = {**os.environ, "PYTHONPATH": str(variants[name])}
                out = subprocess.run(
                    [sys.executable, "-c", TIMER, str(texts_file)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                doc = json.loads(out.stdout.strip().splitlines()[-1])
                runs[name].append(round(doc["tweets_per_s"], 1))
                labels[name], files[name] = doc["labels"], doc["file"]
        med = {k: statistics.median(v) for k, v in runs.items()}
        now, before = med[names[0]], med[names[1]]
        ratios = [x / y for x, y in zip(runs[names[0]], runs[names[1]])]
        files_alone = same_code_other_files(texts_file, Path(files[names[1]]).parent)
        agree = sum(x == y for x, y in zip(labels[names[0]], labels[names[1]])) / len(labels[names[0]])
        doc = {
            "n": a.n,
            "rounds": a.rounds,
            "tweets_per_s": runs,
            "median_tweets_per_s": med,
            "ratio_of_medians": round(now / before, 3),
            "ratio_per_round": [round(x, 3) for x in ratios],
            "median_ratio_per_round": round(statistics.median(ratios), 3),
            "files_alone_in_one_process": files_alone,
            "label_agreement": agree,
            "files": {
                k: v.replace(str(Path.home()), "~").replace(str(tmp), "<worktree>") for k, v in files.items()
            },
        }
        write_result(a.out, "default_path_vs_previous", doc)
        print(json.dumps(doc, indent=2))
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", prev], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
