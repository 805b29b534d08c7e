"""int8 schemes for a model's ONNX export, judged on its validation data (never the test set):
label agreement with PyTorch fp32 on TweetEval val (3-class argmax) and the Sentiment140 validation
split (P(pos) vs P(neg)), and ONNX Runtime throughput (model calls only, batch 256) on the latter.

    python scripts/research/int8_schemes.py --model src/tinysent/shipped/tinysent-tinybert-4l \
        --out results/cpu-2026-11-26/int8-schemes/int8_schemes.json

Schemes: `dynamic` (what `tinysent export --int8` writes: uint8 activations with one scale per model
call, int8 weights per channel); `rows:<groups>` (those MatMuls get one activation scale per token
instead, built from standard ops + MatMulIntegerToFloat; the rest stay dynamic); `fp32:<groups>`
(those MatMuls stay fp32); `nbits8` (every MatMul as MatMulNBits, 8-bit weights in blocks of 64,
int8 activations per block; needs `pip install onnx-ir`). Groups: L<layer>.<qkv|attn_out|inter|ffn_out>.
Why: the shipped 3-class model's dynamic export agrees on 98.75 % of TweetEval-val labels; this
measures what finer activation scales would buy and cost.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCHEMES = [
    "dynamic",
    "rows:L0.ffn_out",
    "rows:L0.ffn_out,L0.inter",
    "rows:L0.ffn_out,L0.inter,L1.ffn_out,L1.inter",
    "rows:all",
    "fp32:L0.qkv,L0.attn_out,L0.inter,L0.ffn_out",
    "nbits8",
]


def groups_of(names: list[str]) -> dict[str, list[str]]:
    """MatMul node names of the exported graph by layer and site (the export names them in order)."""
    sfx = ["", "_1", "_2", "_3", "_4", "_5"]
    out = {}
    for i in range(6):
        site = {
            "qkv": [f"/{k}{sfx[i]}/MatMul" for k in ("query", "key", "value")],
            "attn_out": [f"/dense{'_' + str(2 * i) if i else ''}/MatMul"],
            "inter": [f"/intermediate/dense{sfx[i]}/MatMul"],
            "ffn_out": [f"/dense_{2 * i + 1}/MatMul"],
        }
        for k, v in site.items():
            if all(n in names for n in v):
                out[f"L{i}.{k}"] = v
    return out


def per_row_int8(src: Path, dst: Path) -> None:
    """Every MatMul still fp32 with a constant 2-D weight: int8 weights per output channel and uint8
    activations with one symmetric scale per row (token), zero point 128."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, new_inits, quantized = [], [], {}

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    for node in g.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) > 1 else None
        if w is None or len(w.dims) != 2:
            nodes.append(node)
            continue
        W = numpy_helper.to_array(w).astype(np.float32)
        ws = np.maximum(np.abs(W).max(0), 1e-12) / 127
        x, p = node.input[0], node.name.replace("/", "_")
        if x not in quantized:
            q = x + "_rowq"
            nodes += [
                helper.make_node("Abs", [x], [q + "_abs"]),
                helper.make_node("ReduceMax", [q + "_abs"], [q + "_max"], axes=[-1], keepdims=1),
                helper.make_node("Max", [q + "_max", const(q + "_tiny", np.float32(1e-12))], [q + "_m"]),
                helper.make_node("Div", [q + "_m", const(q + "_127", np.float32(127))], [q + "_s"]),
                helper.make_node("Div", [x, q + "_s"], [q + "_d"]),
                helper.make_node(
                    "QuantizeLinear",
                    [q + "_d", const(q + "_one", np.float32(1)), const(q + "_zp", np.uint8(128))],
                    [q + "_u8"],
                ),
            ]
            quantized[x] = (q + "_u8", q + "_s", q + "_zp")
        xq, xs, xzp = quantized[x]
        wq = np.clip(np.round(W / ws), -127, 127).astype(np.int8)
        nodes += [
            helper.make_node(
                "MatMulIntegerToFloat",
                [xq, const(p + "_wq", wq), const(p + "_one", np.float32(1)), const(p + "_ws", ws), xzp],
                [node.output[0] + "_f"],
                domain="com.microsoft",
            ),
            helper.make_node("Mul", [node.output[0] + "_f", xs], [node.output[0]]),
        ]
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(new_inits)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(dst))


def build(scheme: str, fp32: Path, dst: Path, groups: dict) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tinysent.train.export import fuse_attention_transposes

    kind, _, which = scheme.partition(":")
    chosen = [n for g in (groups if which == "all" else which.split(",") if which else []) for n in groups[g]]
    if kind == "nbits8":
        from onnxruntime.quantization import matmul_nbits_quantizer as mq

        cfg = mq.DefaultWeightOnlyQuantConfig(
            block_size=64, is_symmetric=True, accuracy_level=4, bits=8, op_types_to_quantize=("MatMul",)
        )
        qz = mq.MatMulNBitsQuantizer(onnx.load(str(fp32)), algo_config=cfg)
        qz.process()
        qz.model.save_model_to_file(str(dst), False)
    else:
        quantize_dynamic(
            str(fp32),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=False,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=chosen,
        )
        if kind == "rows":
            per_row_int8(dst, dst)
    fuse_attention_transposes(dst)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--schemes", nargs="*", default=SCHEMES)
    args = ap.parse_args()

    import onnx

    from tinysent.core.meta import ModelMeta
    from tinysent.core.numerics import positive_share, softmax
    from tinysent.data.semeval import read_tweeteval
    from tinysent.data.tokens import validation_split
    from tinysent.runtime.backends import OnnxBackend
    from tinysent.runtime.predictor import Predictor
    from tinysent.train.export import cpu_has_vnni, export

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from _machine import machine

    if not cpu_has_vnni():
        raise SystemExit("this script measures the VNNI kernels (full-range int8); this CPU has none")
    tmp = Path(tempfile.mkdtemp(prefix="int8-schemes-"))
    export(args.model, tmp / "std", int8=False, standard_ops=True)  # the graph `export --int8` quantizes
    fp32 = tmp / "std" / "model.onnx"
    groups = groups_of([n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "MatMul"])

    ref = Predictor.from_dir(args.model, backend="torch", device="cpu")
    meta = ModelMeta.load(args.model)
    pos, neg = meta.labels.index("positive"), meta.labels.index("negative")
    te_ids, _ = ref.token_ids(read_tweeteval(meta.config["tweeteval_data"], "val").texts)
    s_ids = validation_split(args.model, ref.tokenizer).val_ids
    te_ref = ref.logits(te_ids).argmax(-1)
    s_ref = positive_share(softmax(ref.logits(s_ids)), neg, pos) >= 0.5

    rows = []
    for scheme in args.schemes:
        try:
            f = build(scheme, fp32, tmp / "q.onnx", groups)
        except ImportError as e:
            rows.append({"scheme": scheme, "skipped": str(e)})
            continue
        p = Predictor(OnnxBackend(f), ref.tokenizer, meta, None)
        te = float((p.logits(te_ids).argmax(-1) == te_ref).mean())
        s = float(((positive_share(softmax(p.logits(s_ids)), neg, pos) >= 0.5) == s_ref).mean())
        times = []
        for _ in range(3):
            t = time.perf_counter()
            p.logits(s_ids)
            times.append(time.perf_counter() - t)
        rows.append(
            {
                "scheme": scheme,
                "tweeteval_val_agreement": te,
                "s140_val_agreement": s,
                "onnx_tweets_per_s": round(len(s_ids) / min(times)),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    doc = {
        "script": "python " + " ".join(sys.argv),
        "machine": machine(),
        "tweeteval_val_n": len(te_ids),
        "s140_val_n": len(s_ids),
        "speed": "ONNX Runtime model calls only (2 threads, batch 256, best of 3), S140 validation tweets",
        "schemes": rows,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
