"""Inference throughput and latency, side by side, same model and tweets, one machine:
transformers.pipeline, tinysent PyTorch fp32, ONNX Runtime fp32, int8 alone and int8 as `load()`
runs it (with its fp32 recheck of near-ties); the default path (`tinysent.load()` with no arguments,
which runs the int8 graph shipped with the model; only when --model is the shipped model); VADER as
a reference. Batch size 256: at most 256 tweets per model call, and for int8 the default token cap
(predict.INT8_MAX_TOKENS; see benchmarks/token_cap.py).

    python benchmarks/inference.py --model src/tinysent/shipped/tinysent-tinybert-4l \
        --data ../shared/data/sentiment140/training.head10000.csv
writes benchmarks/results/inference.json. Each backend runs in its own process (peak memory is
that process's max RSS).

The tiers, paired in one run (the accurate tier's acceptance): the default path of the shipped model
(`tinysent.load()`), of the accurate model (`tinysent.load(DIR)`: its int8 graph with the fp32
recheck, as `--model accurate` runs it) and `transformers.pipeline` on the teacher it was distilled
from, each in its own process, three rounds in rotating order (this VM's speed wanders):

    python benchmarks/inference.py --tiers --model runs/accurate/model \
        --teacher runs/accurate/teacher-mpnet --data ../shared/data/sentiment140/training.head10000.csv \
        --out benchmarks/results/tiers.json [--card]

`--card` writes the median ratio to the shipped model on --model's card (`card.speed`), where
`tinysent models` and the package README read it.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


def texts_of(path: str, n: int) -> list[str]:
    from tinysent.data import sentiment140 as D

    return D.read(path).texts[:n]


def run_one(kind: str, model: str, onnx_dir: str, data: str, n: int, n_latency: int) -> dict:
    texts = texts_of(data, n)
    t_ready = time.perf_counter()  # from here: the library's import and the model's load (`ready_s`)
    if kind == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        t = time.perf_counter()
        for x in texts:
            sia.polarity_scores(x)
        return {"batch_256_per_s": n / (time.perf_counter() - t)}
    if kind == "pipeline":
        from transformers import pipeline

        clf = pipeline("text-classification", model=model, device=-1)

        def score(batch, bs):
            return clf(batch, batch_size=bs, truncation=True, max_length=64)
    else:
        import tinysent

        if kind == "default_load":
            pred = tinysent.load()  # what a user gets: the shipped model's int8 graph, shipped in the package
        elif (
            kind == "model_default"
        ):  # --model's own default path, as `--model DIR` / `--model accurate` run it
            pred = tinysent.load(model)
        elif kind == "torch_fp32":
            pred = tinysent.load(model, backend="torch")
        elif kind == "onnx_int8_alone":  # without the fp32 recheck of near-ties
            pred = tinysent.load(onnx_dir, backend="onnx", precision="int8", recheck_margin=0)
        else:
            pred = tinysent.load(onnx_dir, backend="onnx", precision=kind.split("_")[1])

        def score(batch, bs):
            return pred.predict(batch, batch_size=bs)

    ready = time.perf_counter() - t_ready
    score(texts[:256], 256)  # warm-up
    tinysent_kind = kind not in ("pipeline", "vader")
    if tinysent_kind:
        pred.rechecked = 0
    passes = []
    from tinysent.apps.score import CHUNK  # the chunk size `tinysent predict --output` streams with

    for _ in range(1 if kind == "pipeline" else 3):  # this VM's speed wanders: the median of three passes
        t = time.perf_counter()
        for i in range(0, n, CHUNK):
            score(texts[i : i + CHUNK], 256)
        passes.append(n / (time.perf_counter() - t))
    big = float(np.median(passes))
    rechecked = pred.rechecked if tinysent_kind else 0
    lat = []
    for x in texts[:n_latency]:
        t = time.perf_counter()
        score([x], 1)
        lat.append(time.perf_counter() - t)
    lat = np.array(lat) * 1e3
    return {
        "batch_256_per_s": big,
        "batch_256_passes_per_s": [round(x, 1) for x in passes],
        "rechecked_share": round(rechecked / (n * len(passes)), 4),  # of the timed texts, rescored in fp32
        "batch_1_per_s": 1e3 / lat.mean(),
        "batch_1_p50_ms": float(np.median(lat)),
        "batch_1_p99_ms": float(np.percentile(lat, 99)),
        "ready_s": round(ready, 3),
    }


def one_process(kind: str, model: str, a, onnx_dir: str = "") -> dict:
    cmd = [sys.executable, __file__, "--one", kind, "--model", model, "--data", a.data, "--n", str(a.n)]
    cmd += ["--n-latency", str(a.n_latency), "--onnx-dir", onnx_dir]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tiers(a) -> None:
    """The shipped default path, --model's default path and the pipeline on --teacher, paired."""
    if not a.teacher:
        raise SystemExit("--tiers needs --teacher DIR (the model the accurate one was distilled from)")
    runs = {"shipped_default": ("default_load", a.model), "model_default": ("model_default", a.model)}
    runs["teacher_pipeline"] = ("pipeline", a.teacher)
    names = list(runs)
    rounds = []
    for r in range(a.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        row = {}
        for name in order:
            row[name] = one_process(*runs[name], a)
            print(r, name, round(row[name]["batch_256_per_s"], 1), flush=True)
        rounds.append(row)

    def median(name, key="batch_256_per_s"):
        return float(np.median([row[name][key] for row in rounds]))

    per_round = {
        "model_vs_shipped": [
            row["model_default"]["batch_256_per_s"] / row["shipped_default"]["batch_256_per_s"]
            for row in rounds
        ],
        "model_vs_teacher_pipeline": [
            row["model_default"]["batch_256_per_s"] / row["teacher_pipeline"]["batch_256_per_s"]
            for row in rounds
        ],
    }
    write_result(
        a.out,
        "the tiers' default paths paired in one run (tweets/s at batch 256, median of rounds)",
        {
            "model": a.model,
            "teacher": a.teacher,
            "tweets": a.n,
            "rounds": rounds,
            "batch_256_per_s": {n: round(median(n), 1) for n in names},
            "batch_1_p50_ms": {n: round(median(n, "batch_1_p50_ms"), 2) for n in names},
            # in a fresh process: importing what it runs on (tinysent, or transformers and torch) and
            # loading the model, until the first text can be scored
            "ready_s": {n: round(median(n, "ready_s"), 3) for n in names},
            "ratios_per_round": {k: [round(x, 3) for x in v] for k, v in per_round.items()},
            "ratios_median": {k: round(float(np.median(v)), 3) for k, v in per_round.items()},
            "goals": {"model_vs_shipped": 0.3, "model_vs_teacher_pipeline": 5},
        },
    )
    print(json.dumps({k: round(float(np.median(v)), 3) for k, v in per_round.items()}))
    if a.card:
        record_speed(a.model, round(float(np.median(per_round["model_vs_shipped"])), 3), a.rounds)


def record_speed(model: str, relative: float, rounds: int) -> None:
    """The measured speed on the model's card (``card.speed``, what ``tinysent models`` shows): its
    default path's tweets/s relative to the shipped model's, paired in this run."""
    from _machine import machine

    from tinysent.core.meta import ModelMeta

    m = machine()
    meta = ModelMeta.load(model)
    meta.card = {
        **(meta.card or {}),
        "speed": {
            "relative_to_shipped": relative,
            "measured": f"benchmarks/inference.py --tiers, median of {rounds} rounds paired with the shipped "
            f"model's default path ({m['cpu']}, {m['cores']} cores, {m['date'][:10]})",
        },
    }
    meta.save(model)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--n-latency", type=int, default=1000)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "inference.json"))
    p.add_argument(
        "--tiers", action="store_true", help="the shipped and --model default paths and the teacher"
    )
    p.add_argument(
        "--teacher", default=None, help="with --tiers: the teacher model folder (for the pipeline)"
    )
    p.add_argument("--rounds", type=int, default=3, help="with --tiers: rounds, each in rotating order")
    p.add_argument(
        "--card",
        action="store_true",
        help="with --tiers: write the speed relative to the shipped model on --model's card (a copy's, "
        "never a recipe step's output)",
    )
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--onnx-dir", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        r = run_one(a.one, a.model, a.onnx_dir, a.data, a.n, a.n_latency)
        # VmHWM is this process's own peak (ru_maxrss would include the parent's, from before exec).
        hwm = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM"))
        r["peak_rss_mb"] = round(int(hwm.split()[1]) / 1024, 1)
        print(json.dumps(r))
        return
    if a.tiers:
        return tiers(a)
    from tinysent.train.export import export

    with tempfile.TemporaryDirectory() as tmp:
        parity = export(a.model, Path(tmp) / "onnx", int8=True)["parity"]
        results = {}
        from tinysent.runtime.predictor import SHIPPED_DIR

        kinds = ["pipeline", "torch_fp32", "onnx_fp32", "onnx_int8_alone", "onnx_int8", "vader"]
        if Path(a.model).resolve() == SHIPPED_DIR.resolve():
            kinds.insert(5, "default_load")
        for kind in kinds:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    kind,
                    "--model",
                    a.model,
                    "--data",
                    a.data,
                    "--n",
                    str(a.n),
                    "--n-latency",
                    str(a.n_latency),
                    "--onnx-dir",
                    str(Path(tmp) / "onnx"),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            print(kind, results[kind], flush=True)
    base = results["pipeline"]["batch_256_per_s"]
    ratios = {k: round(v["batch_256_per_s"] / base, 2) for k, v in results.items()}
    write_result(
        a.out,
        "inference throughput (tweets/s) and batch-1 latency, same model and tweets",
        {
            "model": a.model,
            "tweets": a.n,
            "latency_tweets": a.n_latency,
            "parity": parity,
            "results": results,
            "speedup_vs_pipeline_at_batch_256": ratios,
            "goals": {
                "onnx_int8_batch_256_per_s": 2000,
                "default_load_batch_256_per_s": 2000,
                "vs_pipeline": 5,
                "batch_1_p50_ms": 3,
            },
        },
    )
    print(json.dumps(ratios))


if __name__ == "__main__":
    main()
