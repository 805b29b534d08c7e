"""How close the pruned student starts: prune a fine-tuned teacher to a student shape (as
`tinysent distill --student prune:SHAPE` does) and report, before any training, the KL to the
teacher of every layer subset and the validation accuracy of teacher, pruned and random students.

    python scripts/prune_check.py --teacher runs/gpu2/teacher-fp16 --data .gpu/train600k.csv.xz \
        --out results/cpu-2026-11-26/prune-check/prune_check.json
"""

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tinysent.config import ModelMeta, TrainConfig
from tinysent.distill import _NoAcc, prune_teacher, teacher_logits
from tinysent.models import build_student
from tinysent.normalize import Normalizer
from tinysent.train import prepare_data

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--teacher", required=True)
p.add_argument("--data", required=True)
p.add_argument("--shape", default="tinybert-4l")
p.add_argument("--calibration", type=int, default=2048)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", required=True)
a = p.parse_args()
records: list[str] = []
logging.basicConfig(level=logging.INFO, format="%(message)s")
logging.getLogger("tinysent.distill").addHandler(
    type("H", (logging.Handler,), {"emit": lambda self, r: records.append(r.getMessage())})()
)
teacher = AutoModelForSequenceClassification.from_pretrained(a.teacher, dtype=torch.float32).eval()
tok, meta = AutoTokenizer.from_pretrained(a.teacher), ModelMeta.load(a.teacher)
cfg = TrainConfig(data=a.data, max_train=200000, max_val=4000, seed=a.seed, max_length=meta.max_length)
prep = prepare_data(cfg, tok, Normalizer(meta.normalizer_config))
no_acc = _NoAcc(torch.device("cpu"))


def val_acc(model) -> float:
    logits = teacher_logits(model, prep.val_ids, 64, no_acc, progress=False)
    return float((logits.argmax(1) == np.asarray(prep.val_labels)).mean())


pick = np.random.default_rng(a.seed).permutation(len(prep.train_ids))[: a.calibration]
t0 = time.time()
student, layers = prune_teacher(teacher, a.shape, [prep.train_ids[i] for i in sorted(pick)])
doc = {
    "teacher": a.teacher,
    "shape": a.shape,
    "calibration_tweets": a.calibration,
    "prune_seconds": round(time.time() - t0, 1),
    "kept_teacher_layers": layers,
    "kl_by_layer_subset": records,
    "params": {
        "teacher": sum(x.numel() for x in teacher.parameters()),
        "student": sum(x.numel() for x in student.parameters()),
    },
    "val_n": len(prep.val_ids),
    "val_accuracy": {
        "teacher": val_acc(teacher),
        "pruned_before_training": val_acc(student),
        "random_init": val_acc(build_student(a.shape, teacher.config.vocab_size, seed=a.seed).eval()),
    },
    "machine_date": time.strftime("%Y-%m-%d"),
}
Path(a.out).parent.mkdir(parents=True, exist_ok=True)
Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
print(json.dumps(doc["val_accuracy"]))
