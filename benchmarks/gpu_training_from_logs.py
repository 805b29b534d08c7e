"""GPU training throughput as recorded by the training logs of the H200 runs in results/ (no new run):
examples/s and the time one 1.6M-tweet epoch would take at that rate.

    python benchmarks/gpu_training_from_logs.py
writes benchmarks/results/gpu_training_h200.json.
"""

import json
from pathlib import Path

root = Path(__file__).resolve().parents[1] / "results" / "h200-2026-11-26"
rows = {}
for run in sorted(root.glob("run*")):
    log = run / "train_log.jsonl"
    if not log.exists():
        continue
    recs = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    meta = json.loads((run / "tinysent.json").read_text())
    evals = [r for r in recs if r["type"] == "eval"]
    last = evals[-1]
    rate = last["examples_per_s"]
    rows[run.name] = {
        "base": meta.get("base_model"),
        "method": meta.get("method"),
        "batch_size": meta["config"].get("batch_size"),
        "examples_per_s": round(rate, 1),
        "stage": last.get("stage"),
        "one_1.6M_epoch_s": round(1_600_000 / rate, 1),
    }
doc = {
    "benchmark": "GPU training throughput from the H200 runs' own logs (rate averaged over each run, warm-up "
    "included)",
    "command": "python benchmarks/gpu_training_from_logs.py",
    "machine": {
        "gpu": "NVIDIA H200 (device lease)",
        "torch": "2.11.0+cu130",
        "transformers": "5.17.0",
        "date": "2026-11-26",
        "precision": "bf16 autocast",
    },
    "runs": rows,
    "goal_tinybert_4l_epoch_s": 60,
    "notebook_tpu_v2_epoch_s_for_1.28M": 196,
}
out = Path(__file__).parent / "results" / "gpu_training_h200.json"
out.write_text(json.dumps(doc, indent=2) + "\n")
print(json.dumps(rows, indent=1))
