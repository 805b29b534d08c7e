"""Where an exported ONNX model spends its time: ONNX Runtime's own profiler over one pass of the
tweets (length-sorted batches of 256, as `tinysent predict` runs them), summed by operator type;
also the int8 GEMMs' multiply-accumulate rate, to compare with the cores' peak. Run it for the
default export and for `--standard-ops` to see what reading Q, K and V in place buys.

    tinysent export src/tinysent/shipped/tinysent-tinybert-4l --out runs/shipped-onnx --int8
    python benchmarks/onnx_profile.py --onnx runs/shipped-onnx \\
        --data ../shared/data/sentiment140/training.head10000.csv
writes benchmarks/results/onnx_profile.json.
"""

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402


class _Session:
    """A profiling ONNX Runtime session behind the predictor's backend interface."""

    name = "onnx"

    def __init__(self, file: Path, threads: int, prefix: str):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.enable_profiling, opts.profile_file_prefix = True, prefix
        self.session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])

    def logits(self, ids, mask):
        return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]


def profile(file: Path, pred, ids, threads: int) -> dict:
    from tinysent.runtime.backends import OnnxBackend

    pred.backend = OnnxBackend(file, threads)  # what `tinysent predict` runs
    pred.logits(ids[:512], 256)  # warm-up
    passes = []
    for _ in range(3):
        t = time.perf_counter()
        pred.logits(ids, 256)
        passes.append(len(ids) / (time.perf_counter() - t))
    with tempfile.TemporaryDirectory() as tmp:
        pred.backend = _Session(file, threads, os.path.join(tmp, "p"))
        pred.logits(ids, 256)
        events = json.loads(Path(pred.backend.session.end_profiling()).read_text())
    by_op, gemm_int8_us = collections.Counter(), 0
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            op = e["args"]["op_name"]
            by_op[op] += e["dur"]
            if op in ("DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulInteger"):
                gemm_int8_us += e["dur"]
    total = sum(by_op.values())
    return {
        "tweets_per_s_model_only_median": float(np.median(passes)),
        "passes_per_s": [round(x, 1) for x in passes],
        "profiled_pass_ms": round(total / 1e3, 1),
        "by_op_ms": {k: round(v / 1e3, 1) for k, v in by_op.most_common()},
        "by_op_share": {k: round(v / total, 4) for k, v in by_op.most_common()},
        "int8_gemm_ms": round(gemm_int8_us / 1e3, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", required=True, help="a folder written by `tinysent export --int8`")
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "onnx_profile.json"))
    a = p.parse_args()

    import tinysent
    from tinysent.data import sentiment140 as D
    from tinysent.train.export import export

    pred = tinysent.load(a.onnx, backend="onnx")
    ids, _ = pred.token_ids(D.read(a.data).texts[: a.n])
    meta = json.loads((Path(a.onnx) / "tinysent.json").read_text())
    cfg = json.loads((Path(a.onnx) / "config.json").read_text())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        std = Path(tmp) / "std"
        export(meta["config"]["onnx"]["source"], std, int8=True, standard_ops=True)
        for name, file in (
            ("default_int8", Path(a.onnx) / "model.int8.onnx"),
            ("standard_ops_int8", std / "model.int8.onnx"),
        ):
            results[name] = profile(file, pred, ids, a.threads)
            print(name, json.dumps({k: v for k, v in results[name].items() if "by_op" not in k}), flush=True)
    # int8 multiply-accumulates of the Linear layers per pass: every layer but the last runs all its
    # tokens; the last runs K and V for all tokens and the rest for [CLS] only (the exported graph).
    d, ffn, n_layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    lengths = np.sort([len(x) for x in ids])  # calls of 256 in length order: each pads to its last
    padded = int(sum(lengths[s : s + 256][-1] * len(lengths[s : s + 256]) for s in range(0, len(ids), 256)))
    per_token = 4 * d * d + 2 * d * ffn
    macs = padded * (per_token * (n_layers - 1) + 2 * d * d) + len(ids) * (2 * d * d + 2 * d * ffn + d * d)
    for r in results.values():
        r["int8_gemm_gmac_per_s_per_core"] = round(macs / (r["int8_gemm_ms"] / 1e3) / 1e9 / a.threads, 1)
    doc = write_result(
        a.out,
        "ONNX Runtime profile of one pass over the tweets, by operator type",
        {
            "onnx": a.onnx,
            "tweets": len(ids),
            "padded_tokens": padded,
            "int8_macs_per_pass": macs,
            "results": results,
            "standard_ops_vs_default_speed": round(
                results["standard_ops_int8"]["tweets_per_s_model_only_median"]
                / results["default_int8"]["tweets_per_s_model_only_median"],
                3,
            ),
        },
    )
    print(json.dumps({k: doc[k] for k in ("standard_ops_vs_default_speed", "padded_tokens")}))


if __name__ == "__main__":
    main()
