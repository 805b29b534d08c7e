"""int8's fp32 recheck of near-ties: what each margin costs (share of tweets rescored in fp32) and
buys (label agreement with PyTorch fp32), and the margin the export uses.

    python scripts/research/int8_recheck.py --out results/cpu-2026-11-26/int8-recheck/int8_recheck.json

The margin is chosen on a selection set that is neither a validation nor a test set: the last 20,000
tweets of Sentiment140's training file, used without their labels (agreement needs none): the smallest
margin on the grid whose 3-class and binary agreement there are both >= 99.7 %. Labels are the model's
own decision rule (LabelModel: its temperature and class offsets; 3-class, and the binary P(pos) vs
P(neg) answer). It is then measured on the validation sets (TweetEval val, 3-class; the model's
Sentiment140 validation split, P(pos) vs P(neg)) twice: simulated from logits for every margin, and
through `tinysent.load()` itself (export.validation_agreement: the int8 file as the default path runs
it, token cap and recheck included). Int8 logits come from the default path's export of the shipped
model (shipped beside its PyTorch weights), computed as `load()` computes them (the same calls).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="src/tinysent/shipped/tinysent-tinybert-4l")
    ap.add_argument(
        "--selection", default="../shared/data/sentiment140/training.1600000.polarity_text.csv.gz"
    )
    ap.add_argument("--n-selection", type=int, default=20000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from tinysent.core.meta import RECHECK_MARGIN, ModelMeta
    from tinysent.data import sentiment140 as D
    from tinysent.data.semeval import read_tweeteval
    from tinysent.data.tokens import validation_split
    from tinysent.runtime.predictor import Predictor
    from tinysent.train.export import validation_agreement
    from tinysent.train.export.parity import RECHECK_TARGET, choose_recheck_margin, recheck_table
    from tinysent.train.models import load_tokenizer

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from _machine import machine

    onnx_dir = Path(args.model)  # the shipped folder carries the default path's ONNX files (tinysent pack)
    ref = Predictor.from_dir(args.model, backend="torch", device="cpu")
    q = Predictor.from_dir(onnx_dir, recheck_margin=0)  # int8 alone, with the default path's token cap
    meta = ModelMeta.load(args.model)
    sets = {
        "selection (S140 training tail, unlabelled)": ref.token_ids(
            D.read(args.selection).texts[-args.n_selection :]
        )[0],
        "tweeteval_val": ref.token_ids(read_tweeteval(meta.config["tweeteval_data"], "val").texts)[0],
        "s140_val": validation_split(args.model, load_tokenizer(Path(args.model))).val_ids,
    }
    rule = ref.labels  # the model's own decision rule (LabelModel): temperature, class offsets
    decisions = {"3-class argmax": rule.decision(), "binary P(pos) vs P(neg)": rule.decision(binary=True)}

    rows = {}
    for name, ids in sets.items():
        l32, l8 = ref.logits(ids), q.logits(ids)
        err = np.abs((l8 - l8.mean(1, keepdims=True)) - (l32 - l32.mean(1, keepdims=True))).max(1)
        rows[name] = {
            "n": len(ids),
            "int8_logit_error_p50_p99_max": [float(x) for x in np.percentile(err, [50, 99, 100])],
        }
        for dname, decision in decisions.items():
            rows[name][dname] = recheck_table(rule, l32, l8, decision)
        print(name, json.dumps(rows[name]["3-class argmax"][5]), flush=True)
    sel = rows[next(iter(sets))]
    chosen = choose_recheck_margin([sel[k] for k in decisions])
    doc = {
        "script": "python " + " ".join(sys.argv),
        "machine": machine(),
        "model": args.model,
        "onnx": str(onnx_dir.name),
        "max_tokens": q.max_tokens,
        "rule": f"smallest grid margin with selection-set agreement >= {RECHECK_TARGET:.1%}, each decision",
        "chosen_margin": chosen,
        "export_default_margin": RECHECK_MARGIN,
        "simulated": rows,
        "note": "simulated: rechecked rows take PyTorch fp32's label (the fp32 ONNX file agrees with it); "
        "as_loaded: the real default path",
    }
    t = time.perf_counter()
    doc["as_loaded"] = validation_agreement(args.model, onnx_dir)
    doc["as_loaded_seconds"] = round(time.perf_counter() - t, 1)
    print(json.dumps(doc["as_loaded"], indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
