"""Evaluation: honest metrics (with intervals), plots a person wants, and a smoke table.

With 359 binary test tweets one tweet is 0.28 points, so every accuracy carries its Wilson 95 %
interval and its n.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import data as D
from .plots import plot_confusion, plot_roc, plot_training

# The original notebook's sentences (the first three as it printed them), plus six of the same kind:
# its collapsed head called every one of them positive.
SMOKE_SENTENCES = [
    "I am doing well",
    "Disaster!",
    "I am not feeling confident",
    "What a wonderful day",
    "This is the worst service ever",
    "I love this phone",
    "I hate Mondays",
    "The movie was okay, nothing special",
    "Can't wait to see you tomorrow!",
]


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95 % interval for k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def binary_metrics(y_true: np.ndarray, p_pos: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy (+ Wilson CI), per-class precision/recall/F1, macro F1, ROC-AUC, confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = (np.asarray(p_pos) >= threshold).astype(int)
    n = len(y_true)
    k = int((y_pred == y_true).sum())
    prec, rec, f1, sup = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1], zero_division=0)
    lo, hi = wilson_interval(k, n)
    per_class = {
        lab: {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(sup[i]),
        }
        for i, lab in enumerate(D.BINARY_LABELS)
    }
    auc = float(roc_auc_score(y_true, p_pos)) if len(set(y_true.tolist())) == 2 else None
    return {
        "n": n,
        "correct": k,
        "accuracy": k / n if n else 0.0,
        "accuracy_ci95": [lo, hi],
        "macro_f1": float(np.mean(f1)),
        "roc_auc": auc,
        "per_class": per_class,
        "confusion_matrix": {
            "labels": list(D.BINARY_LABELS),
            "rows_true_cols_pred": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        },
        "threshold": threshold,
    }


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------


def evaluate(
    model_dir: str | Path, data_path: str | Path | None, out: str | Path, batch_size: int = 128
) -> dict:
    """Score the binary rows of a test file; write metrics.json, plots and the smoke table."""
    from .predict import load

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    file, member = D.resolve(data_path, "test")
    corpus = D.read(file, member=member)
    binary = corpus.binary()
    if len(binary) == 0:
        raise D.DataError(f"{file} has no positive or negative rows to evaluate on")
    predictor = load(model_dir)
    p, truncated = predictor.positive_proba(binary.texts, batch_size)
    y = binary.classes
    metrics = binary_metrics(y, p, predictor.meta.threshold)
    metrics.update(
        model=str(model_dir),
        data=str(file) + (f"::{member}" if member else ""),
        data_sha256=D.file_sha256(file),
        excluded_neutral=corpus.n_neutral,
        malformed_rows=len(corpus.problems),
        truncated=int(truncated.sum()),
    )
    smoke = predictor.predict(SMOKE_SENTENCES)
    metrics["smoke"] = [{"text": t, **r} for t, r in zip(SMOKE_SENTENCES, smoke)]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    # Line numbers, not texts: result folders get committed and shared, the data's text stays in the data.
    with open(out / "predictions.jsonl", "w") as f:
        for line, yy, pp in zip(binary.lines.tolist(), y.tolist(), p.tolist()):
            f.write(json.dumps({"line": line, "true": D.BINARY_LABELS[yy], "positive": pp}) + "\n")
    name = Path(model_dir).name
    plot_confusion(
        metrics["confusion_matrix"]["rows_true_cols_pred"],
        list(D.BINARY_LABELS),
        out / "confusion_matrix.png",
        f"{name}: n={len(y)}, acc {metrics['accuracy']:.1%}",
    )
    plot_roc(y, p, out / "roc.png", f"{name}: ROC on n={len(y)}")
    plot_training(Path(model_dir) / "train_log.jsonl", out / "training_curves.png")
    (out / "smoke.md").write_text(smoke_table(metrics["smoke"]))
    return metrics


def smoke_table(rows: list[dict]) -> str:
    lines = ["| text | label | P(positive) |", "|---|---|---|"]
    lines += [f"| {r['text']} | {r['label']} | {r['positive']:.3f} |" for r in rows]
    return "\n".join(lines) + "\n"
