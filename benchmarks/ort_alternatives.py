"""ONNX Runtime settings and graphs tried against the default int8 export, paired in one process
(model calls only, the default path's batching and token cap, order rotating; this VM's speed
wanders, paired ratios do not): ONNX Runtime's SkipLayerNormalization fusion turned back on (the
default path turns it off for int8 graphs), ONNX Runtime's own transformer optimizer on the plain
graph (fused Attention / BiasGelu / SkipLayerNormalization, then int8 QAttention) and three session
settings.

    python benchmarks/ort_alternatives.py --data ../shared/data/sentiment140/training.head10000.csv
writes benchmarks/results/ort_alternatives.json.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import write_result  # noqa: E402

SETTINGS = {
    "dynamic_block_base 4": {"session.dynamic_block_base": "4"},
    "dynamic_block_base 2": {"session.dynamic_block_base": "2"},
    "pre-packing off": {"session.disable_prepacking": "1"},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "ort_alternatives.json"))
    a = p.parse_args()

    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    import tinysent
    from tinysent.data import sentiment140 as D
    from tinysent.runtime.backends import OnnxBackend
    from tinysent.runtime.predictor import SHIPPED_DIR
    from tinysent.train.export import export

    pred = tinysent.load(recheck_margin=0)  # the default path's int8 file, batching and token cap
    ids, _ = pred.token_ids(D.read(a.data).texts[: a.n])

    with tempfile.TemporaryDirectory() as tmp:
        export(SHIPPED_DIR, Path(tmp) / "plain", cls_only=False, standard_ops=True)
        opt = optimizer.optimize_model(
            str(Path(tmp) / "plain" / "model.onnx"), model_type="bert", num_heads=12, hidden_size=312
        )
        fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
        opt.save_model_to_file(str(Path(tmp) / "opt.onnx"))
        quantize_dynamic(
            str(Path(tmp) / "opt.onnx"),
            str(Path(tmp) / "opt.int8.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": 1},  # the fused ops defeat shape inference
        )
        kinds = {
            "default export": pred.backend,
            "SkipLayerNorm fusion on (ORT's default)": OnnxBackend(pred.backend.file, disabled_optimizers=()),
            "ORT optimizer + QAttention": OnnxBackend(Path(tmp) / "opt.int8.onnx", disabled_optimizers=()),
        }
        kinds.update({k: OnnxBackend(pred.backend.file, config=v) for k, v in SETTINGS.items()})
        rates = {k: [] for k in kinds}
        names = list(kinds)
        for r in range(a.rounds):
            for k in names[r % len(names) :] + names[: r % len(names)]:
                pred.backend = kinds[k]
                t = time.perf_counter()
                pred.logits(ids)
                rates[k].append(len(ids) / (time.perf_counter() - t))
            print(r, {k: round(v[-1]) for k, v in rates.items()}, flush=True)
    base = np.array(rates["default export"])
    results = {
        k: {
            "tweets_per_s_median": round(float(np.median(v)), 1),
            "vs_default_median_ratio": round(float(np.median(np.array(v) / base)), 3),
        }
        for k, v in rates.items()
    }
    print(results)
    write_result(
        a.out,
        "ONNX Runtime alternatives vs the default int8 export, model calls only, paired",
        {"tweets": len(ids), "rounds": a.rounds, "ort_optimizer_fused": fused, "results": results},
    )


if __name__ == "__main__":
    main()
